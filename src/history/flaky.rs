//! Flaky tests: a pass and a fail on the same commit (across runs, or within one run's
//! retries), with the flip rate — verdict changes ÷ results — over the window. Runs of a dirty
//! work tree are not evidence: the code under test may have changed between them. The runs of
//! one series (`vigil run --repeat`, `--until-fail`) are the exception: nothing is edited
//! between them, so within a series a pass and a fail are evidence, clean tree or not.

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
    /// Series (`vigil run --repeat`) the test both passed and failed in, on a work tree that
    /// was dirty or not in git (a clean tree's series is under its commit).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub series: Vec<String>,
}

pub fn flaky_tests(
    window: &Window,
    name_of: &dyn Fn(i64) -> Result<String, HistoryError>,
) -> Result<Vec<Flaky>, HistoryError> {
    let code = SameCode::of(window);
    let mut found = Vec::new();
    for (&test, points) in &window.series {
        let verdicts: Vec<(usize, bool, bool)> = points
            .iter()
            .filter_map(|p| p.verdict().map(|v| (p.run, v, p.retried_failure)))
            .collect();
        let (commits, series) = code.mixed(&verdicts);
        if commits.is_empty() && series.is_empty() {
            continue;
        }
        let in_order: Vec<(bool, bool)> = verdicts.iter().map(|&(_, v, r)| (v, r)).collect();
        let flips = flips(&in_order);
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
            series: series.into_iter().collect(),
        });
    }
    found.sort_by(|a, b| {
        b.flip_rate
            .total_cmp(&a.flip_rate)
            .then(a.test.cmp(&b.test))
    });
    Ok(found)
}

/// The numerator of the flip rate: verdict changes between consecutive results, plus each
/// result whose run retried a failure (it flipped within the run). `verdicts` are (passed,
/// retried failure), oldest first. `vigil run --repeat`'s summary counts the same way.
pub fn flips(verdicts: &[(bool, bool)]) -> usize {
    verdicts.windows(2).filter(|w| w[0].0 != w[1].0).count()
        + verdicts.iter().filter(|(_, retried)| *retried).count()
}

/// The commit a run tested, when its results are evidence about that commit's code: a work
/// tree known to be clean. Results of a dirty or unknown tree may come from edits that were
/// never committed. Fingerprint history uses the same rule (fingerprints.rs).
pub(super) fn clean_commit(commit: Option<&str>, dirty: Option<bool>) -> Option<&str> {
    commit.filter(|_| dirty == Some(false))
}

/// The code a run's results are evidence about: a clean commit's, or (whatever the state of
/// the tree) the one its series ran.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Code<'a> {
    Commit(&'a str),
    Series(&'a str),
}

impl<'a> Code<'a> {
    fn of_run(
        commit: Option<&'a str>,
        dirty: Option<bool>,
        series: Option<&'a str>,
    ) -> Option<Self> {
        clean_commit(commit, dirty)
            .map(Code::Commit)
            .or(series.map(Code::Series))
    }
}

/// The window's codes (clean commits, series), numbered, and each run's number: a test's
/// pass/fail per code is then a flag array, not a map keyed by 40-character strings.
struct SameCode<'a> {
    names: Vec<Code<'a>>,
    of_run: Vec<Option<usize>>,
}

impl<'a> SameCode<'a> {
    fn of(window: &'a Window) -> Self {
        let mut numbers: HashMap<Code, usize> = HashMap::new();
        let mut names = Vec::new();
        let of_run = window
            .runs
            .iter()
            .map(|run| {
                let code = Code::of_run(run.commit.as_deref(), run.dirty, run.series.as_deref())?;
                Some(*numbers.entry(code).or_insert_with(|| {
                    names.push(code);
                    names.len() - 1
                }))
            })
            .collect();
        SameCode { names, of_run }
    }

    /// Commits and series where the test has both a pass and a failure; a run whose retry
    /// passed after a failure counts as both.
    fn mixed(&self, verdicts: &[(usize, bool, bool)]) -> (BTreeSet<String>, BTreeSet<String>) {
        const PASS: u8 = 1;
        const FAIL: u8 = 2;
        let mut seen = vec![0u8; self.names.len()];
        for &(run, passed, retried) in verdicts {
            if let Some(code) = self.of_run[run] {
                seen[code] |= if passed { PASS } else { FAIL };
                if retried {
                    seen[code] |= FAIL;
                }
            }
        }
        let (mut commits, mut series) = (BTreeSet::new(), BTreeSet::new());
        for (code, _) in seen.iter().enumerate().filter(|(_, &f)| f == PASS | FAIL) {
            match self.names[code] {
                Code::Commit(sha) => commits.insert(sha.to_string()),
                Code::Series(id) => series.insert(id.to_string()),
            };
        }
        (commits, series)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::events::Outcome;
    use crate::history::{BranchFilter, GitInfo, ResultRecord, RunRecord, Store};

    /// A run of one test with this verdict, in a dirty tree at commit `c1`, in `series`.
    fn run(started_ms: i64, passed: bool, series: Option<&str>) -> RunRecord {
        let outcome = if passed {
            Outcome::Passed
        } else {
            Outcome::Failed
        };
        let mut run = RunRecord {
            started_ms,
            git: GitInfo {
                commit: Some("c1".into()),
                branch: Some("main".into()),
                dirty: Some(true),
            },
            series: series.map(String::from),
            results: vec![ResultRecord {
                test: "t.py::a".into(),
                tier: None,
                outcome,
                duration: Duration::from_millis(1),
                attempt: 1,
                message: None,
                diagnosis: None,
            }],
            ..RunRecord::default()
        };
        run.tally_results();
        run
    }

    fn flaky_in(runs: &[RunRecord]) -> Vec<Flaky> {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("h.db")).expect("open");
        for run in runs {
            store.record(run).expect("record");
        }
        let window = Window::load(&store, &BranchFilter::All, 30).expect("window");
        flaky_tests(&window, &|id| store.test_name(id)).expect("flaky")
    }

    #[test]
    fn dirty_runs_are_evidence_only_within_one_series() {
        // Outside a series, a pass and a fail in a dirty tree may be an edit in between.
        assert!(flaky_in(&[run(1, true, None), run(2, false, None)]).is_empty());
        // Across two series neither has both.
        let apart = [run(1, true, Some("s1")), run(2, false, Some("s2"))];
        assert!(flaky_in(&apart).is_empty());
        let within = [
            run(1, true, Some("s1")),
            run(2, false, Some("s1")),
            run(3, true, Some("s1")),
            run(4, false, None),
        ];
        let found = flaky_in(&within);
        assert_eq!(found.len(), 1);
        let a = &found[0];
        assert_eq!(
            (a.test.as_str(), a.series.as_slice()),
            ("t.py::a", &["s1".to_string()][..])
        );
        // The flip rate still reads every result of the window.
        assert_eq!((a.flips, a.results, a.passes, a.failures), (3, 4, 2, 2));
        assert!(a.commits.is_empty());
    }

    #[test]
    fn flips_are_changes_plus_retried_failures() {
        assert_eq!(flips(&[]), 0);
        assert_eq!(flips(&[(true, false), (false, false), (true, false)]), 2);
        assert_eq!(flips(&[(true, true), (true, false)]), 1);
    }
}
