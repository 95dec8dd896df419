//! What a series of repetitions found, per test: in how many repetitions it failed, its flip
//! rate and its flakiness score. A reporter added to each repetition collects the verdicts.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use serde::Serialize;

use crate::events::{Event, Outcome};
use crate::history::{flips, verdict};
use crate::report::Reporter;

/// One test over a series: only tests that failed at least once are reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestStress {
    pub test: String,
    /// Repetitions in which the test passed or failed (skips and xfails are neither).
    pub runs: usize,
    /// Repetitions in which it failed, on any attempt.
    pub failures: usize,
    /// Repetitions whose last attempt passed.
    pub passes: usize,
    /// Verdict changes ÷ results, as `vigil trends` counts them (history's `flips`).
    pub flip_rate: f64,
    /// See [`flakiness_score`].
    pub score: f64,
}

impl TestStress {
    /// Failed in every repetition: a deterministic failure, not a flaky test.
    pub fn failed_every_time(&self) -> bool {
        self.passes == 0
    }
}

/// The flakiness score of a test over a series, in [0, 1]: the share of its repetitions it
/// failed in (`failures / runs`), when it also passed at least once. A test that never failed
/// scores 0, and so does one that never passed: it fails deterministically, which is not
/// flakiness. 0.5 is a coin toss; 0.01 fails one run in a hundred.
pub fn flakiness_score(failures: usize, passes: usize, runs: usize) -> f64 {
    if failures == 0 || passes == 0 || runs == 0 {
        return 0.0;
    }
    (failures as f64 / runs as f64).min(1.0)
}

/// A test's last attempt in one repetition, and whether an earlier attempt failed.
#[derive(Debug, Clone, Copy)]
struct Last {
    attempt: u32,
    outcome: Outcome,
    earlier_failure: bool,
}

/// Every test's verdicts over the series so far, oldest repetition first: (passed, an earlier
/// attempt failed), as history's flip rate reads them.
#[derive(Debug, Default)]
pub struct SeriesTally {
    tests: BTreeMap<String, Vec<(bool, bool)>>,
    /// The verdicts of the repetition running now, shared with its [`Collector`].
    current: Rc<RefCell<HashMap<String, Last>>>,
}

impl SeriesTally {
    /// The reporter that collects the next repetition's verdicts into this tally.
    pub fn collector(&self) -> Collector {
        Collector {
            finals: Rc::clone(&self.current),
        }
    }

    /// Folds the repetition the collector saw into the series.
    pub fn end_repetition(&mut self) {
        let finals = std::mem::take(&mut *self.current.borrow_mut());
        for (test, last) in finals {
            if let Some(passed) = verdict(last.outcome) {
                let points = self.tests.entry(test).or_default();
                points.push((passed, last.earlier_failure));
            }
        }
    }

    /// The tests that failed at least once: flaky ones by score (highest first), then those
    /// that failed every time, each group by name.
    pub fn failed_tests(&self) -> Vec<TestStress> {
        let mut found: Vec<TestStress> = self
            .tests
            .iter()
            .map(|(test, points)| stress(test, points))
            .filter(|t| t.failures > 0)
            .collect();
        found.sort_by(|a, b| {
            a.failed_every_time()
                .cmp(&b.failed_every_time())
                .then(b.score.total_cmp(&a.score))
                .then(a.test.cmp(&b.test))
        });
        found
    }
}

fn stress(test: &str, points: &[(bool, bool)]) -> TestStress {
    let runs = points.len();
    let passes = points.iter().filter(|(passed, _)| *passed).count();
    let failures = points.iter().filter(|(p, retried)| !p || *retried).count();
    TestStress {
        test: test.to_string(),
        runs,
        failures,
        passes,
        flip_rate: flips(points) as f64 / runs.max(1) as f64,
        score: flakiness_score(failures, passes, runs),
    }
}

/// The reporter one repetition carries: each test's last attempt, and whether an earlier one
/// failed (retries run only after a failure).
pub struct Collector {
    finals: Rc<RefCell<HashMap<String, Last>>>,
}

impl Reporter for Collector {
    fn on_event(&mut self, event: &Event) {
        let Event::TestFinished(result) = event else {
            return;
        };
        let mut finals = self.finals.borrow_mut();
        let last = finals.entry(result.id.clone()).or_insert(Last {
            attempt: result.attempt,
            outcome: result.outcome,
            earlier_failure: false,
        });
        if result.attempt > last.attempt {
            last.earlier_failure |= last.outcome.is_failure();
            last.attempt = result.attempt;
            last.outcome = result.outcome;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::TestResult;

    fn finished(id: &str, outcome: Outcome, attempt: u32) -> Event {
        let mut result = TestResult::bare(id.into(), outcome, vec![], None, 0);
        result.attempt = attempt;
        Event::TestFinished(result)
    }

    #[test]
    fn the_score_is_the_fail_rate_of_tests_that_also_passed() {
        assert_eq!(flakiness_score(0, 10, 10), 0.0);
        assert_eq!(flakiness_score(10, 0, 10), 0.0);
        assert_eq!(flakiness_score(2, 2, 4), 0.5);
        assert_eq!(flakiness_score(1, 99, 100), 0.01);
        // Failed then passed on a retry in every repetition: as flaky as it gets.
        assert_eq!(flakiness_score(4, 4, 4), 1.0);
        assert_eq!(flakiness_score(0, 0, 0), 0.0);
    }

    #[test]
    fn repetitions_sum_up_to_flaky_then_deterministic_failures() {
        let mut tally = SeriesTally::default();
        for n in 0..4 {
            let mut collector = tally.collector();
            let alternate = if n % 2 == 1 {
                Outcome::Failed
            } else {
                Outcome::Passed
            };
            for event in [
                finished("t.py::passes", Outcome::Passed, 1),
                finished("t.py::fails", Outcome::Failed, 1),
                finished("t.py::alternates", alternate, 1),
                finished("t.py::skips", Outcome::Skipped, 1),
            ] {
                collector.on_event(&event);
            }
            tally.end_repetition();
        }
        let found = tally.failed_tests();
        let summary: Vec<(&str, usize, usize, f64, f64)> = found
            .iter()
            .map(|t| (t.test.as_str(), t.failures, t.runs, t.flip_rate, t.score))
            .collect();
        assert_eq!(
            summary,
            [
                ("t.py::alternates", 2, 4, 0.75, 0.5),
                ("t.py::fails", 4, 4, 0.0, 0.0)
            ]
        );
        assert!(!found[0].failed_every_time() && found[1].failed_every_time());
    }

    #[test]
    fn a_retry_that_passes_counts_as_a_failure_and_a_pass() {
        let mut tally = SeriesTally::default();
        let mut collector = tally.collector();
        collector.on_event(&finished("t.py::a", Outcome::Failed, 1));
        collector.on_event(&finished("t.py::a", Outcome::Passed, 2));
        tally.end_repetition();
        let mut collector = tally.collector();
        collector.on_event(&finished("t.py::a", Outcome::Passed, 1));
        tally.end_repetition();
        let a = &tally.failed_tests()[0];
        assert_eq!((a.runs, a.failures, a.passes), (2, 1, 2));
        assert_eq!((a.flip_rate, a.score), (0.5, 0.5));
    }
}
