//! Each test's final result over a run's attempts, and the failed attempt a flaky test got
//! past: what the CI reporters (annotations, step summary) show once a run is over.

use std::collections::HashMap;

use crate::events::TestResult;

/// The latest attempt of every test, in the order tests first finished.
#[derive(Debug, Default)]
pub(crate) struct FinalResults {
    results: Vec<TestResult>,
    index: HashMap<String, usize>,
    /// The first failed attempt of each test that ran again.
    first_failures: HashMap<String, TestResult>,
}

impl FinalResults {
    /// A retry's result takes its test's place; the attempt it replaces is kept when it was
    /// the test's first failure.
    pub fn record(&mut self, result: &TestResult) {
        match self.index.get(&result.id) {
            Some(&i) => {
                let before = std::mem::replace(&mut self.results[i], result.clone());
                if before.outcome.is_failure() {
                    self.first_failures
                        .entry(result.id.clone())
                        .or_insert(before);
                }
            }
            None => {
                self.index.insert(result.id.clone(), self.results.len());
                self.results.push(result.clone());
            }
        }
    }

    pub fn all(&self) -> &[TestResult] {
        &self.results
    }

    /// Tests whose final attempt failed, in finishing order.
    pub fn failures(&self) -> impl Iterator<Item = &TestResult> {
        self.results.iter().filter(|r| r.outcome.is_failure())
    }

    /// Tests that passed in the end after a failed attempt: (final result, first failure).
    pub fn flaky(&self) -> Vec<(&TestResult, &TestResult)> {
        self.results
            .iter()
            .filter(|r| !r.outcome.is_failure())
            .filter_map(|r| Some((r, self.first_failures.get(&r.id)?)))
            .collect()
    }
}

/// `text` cut to at most `max_chars` characters, an ellipsis marking the cut: both CI
/// reporters write where space is limited (an annotation, a table cell).
pub(crate) fn clip(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_string(),
        Some(_) => {
            let kept: String = text.chars().take(max_chars.saturating_sub(1)).collect();
            format!("{kept}…")
        }
    }
}

/// The first line of a failure message (pytest's crash message of an assertion carries the
/// whole diff after it).
pub(crate) fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or("").trim_end()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Outcome;

    fn attempt(id: &str, outcome: Outcome, attempt: u32) -> TestResult {
        let mut result = TestResult::bare(id.into(), outcome, vec![], None, 0);
        result.attempt = attempt;
        result
    }

    #[test]
    fn a_retry_replaces_its_test_and_a_late_pass_is_flaky() {
        let mut results = FinalResults::default();
        results.record(&attempt("t.py::a", Outcome::Failed, 1));
        results.record(&attempt("t.py::b", Outcome::Failed, 1));
        results.record(&attempt("t.py::c", Outcome::Passed, 1));
        results.record(&attempt("t.py::a", Outcome::Failed, 2));
        results.record(&attempt("t.py::a", Outcome::Passed, 3));
        results.record(&attempt("t.py::b", Outcome::Failed, 2));
        let ids: Vec<&str> = results.all().iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["t.py::a", "t.py::b", "t.py::c"]);
        let failing: Vec<&str> = results.failures().map(|r| r.id.as_str()).collect();
        assert_eq!(failing, ["t.py::b"]);
        let flaky = results.flaky();
        assert_eq!(flaky.len(), 1);
        assert_eq!((flaky[0].0.attempt, flaky[0].1.attempt), (3, 1));
    }

    #[test]
    fn clipping_counts_characters_not_bytes() {
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("abcd", 3), "ab…");
        assert_eq!(clip("ééééé", 4), "ééé…");
    }
}
