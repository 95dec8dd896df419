//! Ranked actions for one group of failures, from its rule's advice, its nature, and what
//! history says (flaky before, failing since a commit, a recorded fix).

use serde::Serialize;

use crate::history::FingerprintHistory;

use super::category::Nature;
use super::Diagnosis;

/// One thing to do, with how sure diagnosis is that it helps.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    pub action: String,
    pub confidence: f32,
}

/// The recommendations for a group of `tests` failures, most confident first.
pub fn recommend(
    diagnosis: &Diagnosis,
    history: Option<&FingerprintHistory>,
    tests: usize,
) -> Vec<Recommendation> {
    let mut out = Vec::new();
    let mut add = |action: String, confidence: f32| out.push(Recommendation { action, confidence });
    if let Some(history) = history {
        // A fix recorded for this very fingerprint is the strongest lead there is.
        for fix in history.fixes.iter().take(1) {
            add(format!("apply the fix recorded before: {}", fix.note), 0.95);
        }
        if history.flaky {
            add(
                "retry and mark flaky: it has passed on a retry or rerun of the same commit before"
                    .to_string(),
                0.8,
            );
        }
        if let Some(since) = failing_since(diagnosis, history) {
            add(since, 0.7 * diagnosis.confidence.max(0.5));
        }
    }
    if let Some(advice) = &diagnosis.advice {
        add(advice.clone(), diagnosis.confidence);
    }
    if diagnosis.nature == Nature::Transient && !history.is_some_and(|h| h.flaky) {
        add(
            format!(
                "retry: a transient {} failure may pass unchanged",
                diagnosis.category.name()
            ),
            0.6 * diagnosis.confidence,
        );
    }
    if tests >= 3 {
        let place = diagnosis
            .frames
            .first()
            .map(|f| f.path.clone())
            .or_else(|| diagnosis.location.as_ref().map(|l| l.path.clone()));
        if let Some(place) = place {
            add(
                format!("one cause behind {tests} tests: start with {place}"),
                0.5,
            );
        }
    }
    out.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    out
}

/// "failing since commit abc1234 (run 12), passed at def5678: likely a regression in app/db.py"
/// for a deterministic failure history saw start.
fn failing_since(diagnosis: &Diagnosis, history: &FingerprintHistory) -> Option<String> {
    // One run is this one: nothing to say "since" about yet.
    if diagnosis.nature != Nature::Deterministic || history.runs < 2 {
        return None;
    }
    let commit = short(history.first.commit.as_deref()?);
    let mut text = format!(
        "this failure has been seen since commit {commit} (run {})",
        history.first.run_id
    );
    if let Some(pass) = &history.last_pass_before {
        if let Some(passed_at) = pass.commit.as_deref() {
            text.push_str(&format!(", and passed at {}", short(passed_at)));
        }
        let place = diagnosis
            .frames
            .first()
            .map(|f| f.path.as_str())
            .or_else(|| diagnosis.location.as_ref().map(|l| l.path.as_str()));
        if let Some(place) = place {
            text.push_str(&format!(": likely a regression in {place}"));
        }
    }
    Some(text)
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(8)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::{Category, Source};
    use crate::history::{FixNote, Sighting};

    fn diagnosis(nature: Nature) -> Diagnosis {
        Diagnosis {
            fingerprint: "00000000000000aa".into(),
            source: Source::PytestLongrepr,
            exception: Some("AssertionError".into()),
            message: "assert 1 == 2".into(),
            normalized: "assert <n> == <n>".into(),
            location: Some(crate::events::Location {
                path: "app/calc.py".into(),
                line: Some(3),
            }),
            frames: vec![],
            category: Category::Assertion,
            nature,
            confidence: 0.9,
            rule: "builtin:assertion".into(),
            cause: "an assertion did not hold".into(),
            advice: Some("compare expected and actual".into()),
            logs: vec![],
        }
    }

    fn sighting(run_id: i64, commit: &str) -> Sighting {
        Sighting {
            run_id,
            started_ms: run_id * 1000,
            commit: Some(commit.into()),
            branch: Some("main".into()),
        }
    }

    fn history(flaky: bool, fixes: Vec<FixNote>) -> FingerprintHistory {
        FingerprintHistory {
            first: sighting(4, "abcdef1234567"),
            last: sighting(7, "9999999999"),
            runs: 4,
            tests: 1,
            flaky,
            last_pass_before: Some(sighting(3, "1234567abcdef")),
            fixes,
        }
    }

    #[test]
    fn a_deterministic_failure_names_the_commit_it_started_at() {
        let got = recommend(
            &diagnosis(Nature::Deterministic),
            Some(&history(false, vec![])),
            1,
        );
        let since = got
            .iter()
            .find(|r| r.action.contains("since"))
            .expect("since");
        assert_eq!(
            since.action,
            "this failure has been seen since commit abcdef12 (run 4), and passed at 1234567a: likely a regression in app/calc.py"
        );
        assert!(got.iter().all(|r| !r.action.starts_with("retry")));
    }

    #[test]
    fn a_recorded_fix_leads_and_flaky_history_says_retry() {
        let fix = FixNote {
            recorded_ms: 0,
            commit: None,
            note: "pin the fixture's clock".into(),
        };
        let got = recommend(
            &diagnosis(Nature::Transient),
            Some(&history(true, vec![fix])),
            3,
        );
        assert_eq!(
            got[0].action,
            "apply the fix recorded before: pin the fixture's clock"
        );
        assert!(got
            .iter()
            .any(|r| r.action.starts_with("retry and mark flaky")));
        assert!(got
            .iter()
            .any(|r| r.action == "one cause behind 3 tests: start with app/calc.py"));
        assert!(got.windows(2).all(|w| w[0].confidence >= w[1].confidence));
    }

    #[test]
    fn without_history_a_transient_failure_is_worth_a_retry() {
        let got = recommend(&diagnosis(Nature::Transient), None, 1);
        assert!(got
            .iter()
            .any(|r| r.action.starts_with("retry: a transient assertion")));
    }
}
