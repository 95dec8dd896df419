//! The retry decision for one failed result. Only failures worth another run get one: the
//! diagnosis calls them transient, history saw the same failure pass on a retry, a user
//! pattern (`only_rerun`, as pytest-rerunfailures has) matches, or the test says so with
//! `@pytest.mark.flaky(reruns=N)`. A deterministic failure is never retried: it would fail
//! the same way and only cost time.

use std::path::PathBuf;

use regex::Regex;

use crate::diagnose::Nature;
use crate::events::TestResult;

use super::{Backoff, FlakyResult};

/// The run's retry settings.
#[derive(Debug, Clone, Default)]
pub struct RetryPolicy {
    /// Extra attempts a retryable failure gets (0: no retries, unless a test's marker asks).
    pub retries: u32,
    pub backoff: Backoff,
    /// A failure whose text matches one of these is retried whatever its diagnosis.
    pub only_rerun: Vec<Regex>,
    pub flaky_result: FlakyResult,
    /// What is restored before each retry: the project root, and paths inside it.
    pub state: Option<RetryState>,
}

/// `[retry] state`: files and directories (already resolved from globs) under `root`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RetryState {
    pub root: PathBuf,
    pub paths: Vec<PathBuf>,
}

/// Why a failure runs again.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub reason: String,
}

impl RetryPolicy {
    /// Whether a failed `result` runs again; `flaky_before`: history saw this failure pass on
    /// a retry or a rerun of the same commit.
    pub fn decide(&self, result: &TestResult, flaky_before: bool) -> Option<Decision> {
        if !result.outcome.is_failure() || has_prerequisites(result) {
            return None;
        }
        let marked = marker_reruns(result);
        let budget = marked.unwrap_or(self.retries);
        if result.attempt > budget {
            return None;
        }
        let reason = match marked {
            Some(n) => format!("marked flaky(reruns={n})"),
            None => self.reason(result, flaky_before)?,
        };
        Some(Decision { reason })
    }

    fn reason(&self, result: &TestResult, flaky_before: bool) -> Option<String> {
        let diagnosis = result.diagnosis.as_deref();
        if let Some(d) = diagnosis.filter(|d| d.nature == Nature::Transient) {
            return Some(format!("transient {} failure", d.category.name()));
        }
        if flaky_before {
            return Some("this failure has passed on a retry before".to_string());
        }
        let text: String = result
            .problems
            .iter()
            .map(|p| format!("{}\n{}\n", p.message, p.longrepr))
            .collect();
        self.only_rerun
            .iter()
            .find(|pattern| pattern.is_match(&text))
            .map(|pattern| format!("matches only_rerun `{pattern}`"))
    }
}

/// `@pytest.mark.flaky(reruns=N)` (pytest-rerunfailures) or `max_runs=N` (flaky).
fn marker_reruns(result: &TestResult) -> Option<u32> {
    let marker = result.markers.iter().find(|m| m.name == "flaky")?;
    let int = |key: &str| marker.kwargs.get(key).and_then(|v| v.as_u64());
    int("reruns")
        .or_else(|| int("max_runs").map(|n| n.saturating_sub(1)))
        .or_else(|| marker.args.first().and_then(|v| v.as_u64()))
        .map(|n| n.min(u32::MAX as u64) as u32)
}

/// A test that depends on others would be skipped if it ran again alone.
fn has_prerequisites(result: &TestResult) -> bool {
    result
        .markers
        .iter()
        .any(|m| m.name == "dependency" && m.kwargs.contains_key("depends"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::{Diagnoser, Rules};
    use crate::events::{Marker, Outcome, Phase, Problem};

    fn failed(message: &str, longrepr: &str) -> TestResult {
        let problem = Problem {
            phase: Phase::Call,
            is_error: false,
            message: message.into(),
            location: None,
            longrepr: longrepr.into(),
        };
        let mut result =
            TestResult::bare("t.py::a".into(), Outcome::Failed, vec![problem], None, 0);
        result.diagnosis =
            Diagnoser::new(Rules::builtin(), std::path::Path::new("/r")).diagnose(&result);
        result
    }

    fn policy(retries: u32) -> RetryPolicy {
        RetryPolicy {
            retries,
            ..RetryPolicy::default()
        }
    }

    #[test]
    fn transient_failures_are_retried_and_assertions_are_not() {
        let refused = failed(
            "ConnectionRefusedError: [Errno 111] Connection refused",
            "E   ConnectionRefusedError: [Errno 111] Connection refused",
        );
        let decision = policy(2).decide(&refused, false).expect("retried");
        assert_eq!(decision.reason, "transient network failure");
        let assertion = failed(
            "assert 1 == 2",
            "E   assert 1 == 2\n\nt.py:3: AssertionError",
        );
        assert_eq!(policy(2).decide(&assertion, false), None);
        assert!(
            policy(2).decide(&assertion, true).is_some(),
            "flaky history retries it"
        );
        assert_eq!(
            policy(0).decide(&refused, false),
            None,
            "no retries configured"
        );
    }

    #[test]
    fn the_budget_counts_attempts() {
        let mut refused = failed(
            "ConnectionRefusedError: refused",
            "E   ConnectionRefusedError: refused",
        );
        refused.attempt = 2;
        assert!(policy(2).decide(&refused, false).is_some());
        refused.attempt = 3;
        assert_eq!(policy(2).decide(&refused, false), None);
    }

    #[test]
    fn a_flaky_marker_and_only_rerun_override_the_diagnosis() {
        let mut assertion = failed(
            "assert 1 == 2",
            "E   assert 1 == 2\n\nt.py:3: AssertionError",
        );
        let only = RetryPolicy {
            retries: 1,
            only_rerun: vec![Regex::new("assert 1 ==").expect("regex")],
            ..RetryPolicy::default()
        };
        assert_eq!(
            only.decide(&assertion, false).map(|d| d.reason),
            Some("matches only_rerun `assert 1 ==`".into())
        );
        assertion.markers.push(Marker {
            name: "flaky".into(),
            args: vec![],
            kwargs: serde_json::from_str(r#"{"reruns": 3}"#).expect("kwargs"),
        });
        assertion.attempt = 3;
        assert_eq!(
            policy(0).decide(&assertion, false).map(|d| d.reason),
            Some("marked flaky(reruns=3)".into())
        );
        assertion.attempt = 4;
        assert_eq!(policy(0).decide(&assertion, false), None);
    }
}
