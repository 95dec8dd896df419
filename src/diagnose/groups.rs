//! A run's failures grouped by fingerprint — one group per bug — most tests first, each with
//! what history knows of it and the recommended actions.

use serde::Serialize;

use crate::events::{Outcome, Phase, Problem, TestResult};
use crate::history::{FingerprintHistory, StoredFailure};

use super::recommend::{recommend, Recommendation};
use super::{Diagnoser, Diagnosis};

/// One failing test in a group.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub test: String,
    pub outcome: Outcome,
    pub message: String,
}

/// One bug: the tests it failed and what is known about it.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub fingerprint: String,
    /// The first member's diagnosis (all members share type, frames and normalized message).
    pub diagnosis: Diagnosis,
    pub tests: Vec<Member>,
    /// What earlier runs say about this fingerprint; `None` without history or when new.
    pub history: Option<FingerprintHistory>,
    /// Whether history was consulted at all (so `None` above means "new", not "unknown").
    pub history_checked: bool,
    pub recommendations: Vec<Recommendation>,
}

/// The failing results of a run, grouped (results without a diagnosis are left out).
pub fn from_results(results: &[TestResult]) -> Vec<Group> {
    group(results.iter().filter_map(|r| {
        let diagnosis = Diagnosis::clone(r.diagnosis.as_ref()?);
        let member = Member {
            test: r.id.clone(),
            outcome: r.outcome,
            message: diagnosis.message.clone(),
        };
        Some((member, diagnosis))
    }))
}

/// A recorded run's failures (as `Store::run_failures` reads them), grouped. A failure stored
/// without a diagnosis (an imported run, a run older than diagnosis) is diagnosed now from the
/// message history kept, so it still lands in a group.
pub fn from_stored(failures: &[StoredFailure], diagnoser: &Diagnoser) -> Vec<Group> {
    group(failures.iter().map(|f| stored_member(f, diagnoser)))
}

/// One stored failure as a member with its stored (or fresh) diagnosis.
fn stored_member(failure: &StoredFailure, diagnoser: &Diagnoser) -> (Member, Diagnosis) {
    let message = failure.message.clone().unwrap_or_default();
    let diagnosis = failure.diagnosis.clone().unwrap_or_else(|| {
        // The message is all history kept of the failure: it stands in for the longrepr.
        let problem = Problem {
            phase: Phase::Call,
            is_error: false,
            message: message.clone(),
            location: None,
            longrepr: message.clone(),
        };
        diagnoser.diagnose_text(&failure.test, failure.outcome, &problem)
    });
    let member = Member {
        test: failure.test.clone(),
        outcome: failure.outcome,
        message,
    };
    (member, diagnosis)
}

/// Groups failures by fingerprint, biggest group first (first seen first on ties).
pub fn group(failures: impl IntoIterator<Item = (Member, Diagnosis)>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for (member, diagnosis) in failures {
        match groups
            .iter_mut()
            .find(|g| g.fingerprint == diagnosis.fingerprint)
        {
            Some(group) => group.tests.push(member),
            None => groups.push(Group {
                fingerprint: diagnosis.fingerprint.clone(),
                diagnosis,
                tests: vec![member],
                history: None,
                history_checked: false,
                recommendations: vec![],
            }),
        }
    }
    // A stable sort keeps first-seen order among groups of one size.
    groups.sort_by_key(|g| std::cmp::Reverse(g.tests.len()));
    groups
}

/// Attaches history (looked up by `lookup`, when there is a history to look in) and
/// recommendations to every group.
pub fn annotate<F>(groups: &mut [Group], mut lookup: Option<F>)
where
    F: FnMut(&str) -> Option<FingerprintHistory>,
{
    for group in groups.iter_mut() {
        group.history_checked = lookup.is_some();
        group.history = lookup.as_mut().and_then(|f| f(&group.fingerprint));
        group.recommendations =
            recommend(&group.diagnosis, group.history.as_ref(), group.tests.len());
    }
}
