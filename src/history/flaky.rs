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
    let commits = CleanCommits::of(window);
    let mut found = Vec::new();
    for (&test, points) in &window.series {
        let verdicts: Vec<(usize, bool, bool)> = points
            .iter()
            .filter_map(|p| p.verdict().map(|v| (p.run, v, p.retried_failure)))
            .collect();
        let mixed = commits.mixed(&verdicts);
        if mixed.is_empty() {
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
            commits: mixed.into_iter().collect(),
        });
    }
    found.sort_by(|a, b| {
        b.flip_rate
            .total_cmp(&a.flip_rate)
            .then(a.test.cmp(&b.test))
    });
    Ok(found)
}

/// The commit a run tested, when its results are evidence about that commit's code: a work
/// tree known to be clean. Results of a dirty or unknown tree may come from edits that were
/// never committed. Fingerprint history uses the same rule (fingerprints.rs).
pub(super) fn clean_commit(commit: Option<&str>, dirty: Option<bool>) -> Option<&str> {
    commit.filter(|_| dirty == Some(false))
}

/// The window's commits of clean work trees, numbered, and each run's number: a test's
/// pass/fail per commit is then a flag array, not a map keyed by 40-character strings.
struct CleanCommits<'a> {
    names: Vec<&'a str>,
    of_run: Vec<Option<usize>>,
}

impl<'a> CleanCommits<'a> {
    fn of(window: &'a Window) -> Self {
        let mut numbers: HashMap<&str, usize> = HashMap::new();
        let mut names = Vec::new();
        let of_run = window
            .runs
            .iter()
            .map(|run| {
                let commit = clean_commit(run.commit.as_deref(), run.dirty)?;
                Some(*numbers.entry(commit).or_insert_with(|| {
                    names.push(commit);
                    names.len() - 1
                }))
            })
            .collect();
        CleanCommits { names, of_run }
    }

    /// Commits where the test has both a pass and a failure; a run whose retry passed after
    /// a failure counts as both.
    fn mixed(&self, verdicts: &[(usize, bool, bool)]) -> BTreeSet<String> {
        const PASS: u8 = 1;
        const FAIL: u8 = 2;
        let mut seen = vec![0u8; self.names.len()];
        for &(run, passed, retried) in verdicts {
            if let Some(commit) = self.of_run[run] {
                seen[commit] |= if passed { PASS } else { FAIL };
                if retried {
                    seen[commit] |= FAIL;
                }
            }
        }
        seen.iter()
            .enumerate()
            .filter(|(_, &flags)| flags == PASS | FAIL)
            .map(|(commit, _)| self.names[commit].to_string())
            .collect()
    }
}
