//! Flaky tests: a pass and a fail on the same commit (across runs, or within one run's
//! retries), with the flip rate — verdict changes ÷ results — over the window. Runs of a dirty
//! work tree are not evidence: the code under test may have changed between them.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use super::window::Window;
use super::HistoryError;

#[derive(Debug, Clone, Serialize)]
pub struct Flaky {
    pub test: String,
    pub tier: Option<String>,
    /// Verdict changes ÷ results with a verdict, over the window.
    pub flip_rate: f64,
    pub flips: usize,
    pub results: usize,
    pub passes: usize,
    pub failures: usize,
    /// Commits the test both passed and failed on.
    pub commits: Vec<String>,
}

pub fn flaky_tests(
    window: &Window,
    name_of: &dyn Fn(i64) -> Result<String, HistoryError>,
) -> Result<Vec<Flaky>, HistoryError> {
    let mut found = Vec::new();
    for (&test, points) in &window.series {
        let verdicts: Vec<(usize, bool, bool)> = points
            .iter()
            .filter_map(|p| p.verdict().map(|v| (p.run, v, p.retried_failure)))
            .collect();
        let commits = mixed_commits(window, &verdicts);
        if commits.is_empty() {
            continue;
        }
        let flips = verdicts.windows(2).filter(|w| w[0].1 != w[1].1).count()
            + verdicts.iter().filter(|(_, _, retried)| *retried).count();
        let passes = verdicts.iter().filter(|(_, v, _)| *v).count();
        found.push(Flaky {
            test: name_of(test)?,
            tier: window.tier_of(test),
            flip_rate: flips as f64 / verdicts.len() as f64,
            flips,
            results: verdicts.len(),
            passes,
            failures: verdicts.len() - passes,
            commits: commits.into_iter().collect(),
        });
    }
    found.sort_by(|a, b| {
        b.flip_rate
            .total_cmp(&a.flip_rate)
            .then(a.test.cmp(&b.test))
    });
    Ok(found)
}

/// Commits (of clean work trees) where the test has both a pass and a failure; a run whose
/// retry passed after a failure counts as both.
fn mixed_commits(window: &Window, verdicts: &[(usize, bool, bool)]) -> BTreeSet<String> {
    let mut seen: HashMap<&str, (bool, bool)> = HashMap::new();
    for &(run, passed, retried) in verdicts {
        let run = &window.runs[run];
        let (Some(commit), Some(false)) = (run.commit.as_deref(), run.dirty) else {
            continue;
        };
        let entry = seen.entry(commit).or_default();
        entry.0 |= passed;
        entry.1 |= !passed || retried;
    }
    seen.into_iter()
        .filter(|(_, (pass, fail))| *pass && *fail)
        .map(|(commit, _)| commit.to_string())
        .collect()
}
