//! Tests of the fingerprint queries, on real SQLite files; the helpers that build runs
//! with diagnoses are shared with other history tests.

use std::time::Duration;

use super::*;
use crate::diagnose::{Category, Frame, Nature, Origin, Source};
use crate::events::Location;
use crate::history::{GitInfo, ResultRecord, RunRecord};

/// A verdict with every field filled, distinct per fingerprint and message.
pub(in crate::history) fn diagnosis(fingerprint: &str, message: &str) -> Diagnosis {
    Diagnosis {
        fingerprint: fingerprint.to_string(),
        source: Source::PytestLongrepr,
        exception: Some("ConnectionRefusedError".to_string()),
        message: message.to_string(),
        normalized: "[Errno <n>] Connection refused".to_string(),
        location: Some(Location {
            path: "tests/test_api.py".to_string(),
            line: Some(12),
        }),
        frames: vec![Frame {
            path: "app/client.py".to_string(),
            line: Some(40),
            function: Some("connect".to_string()),
            origin: Origin::Project,
        }],
        category: Category::Network,
        nature: Nature::Transient,
        confidence: 0.75,
        rule: "builtin:connection-refused".to_string(),
        cause: "The service was not listening.".to_string(),
        advice: Some("Start the service before the tests.".to_string()),
        logs: vec![],
    }
}

pub(in crate::history) fn failing(test: &str, fingerprint: &str, attempt: u32) -> ResultRecord {
    let message = format!("{test} refused (attempt {attempt})");
    ResultRecord {
        test: test.to_string(),
        tier: Some("unit".to_string()),
        outcome: Outcome::Failed,
        duration: Duration::from_millis(3),
        attempt,
        diagnosis: Some(Box::new(diagnosis(fingerprint, &message))),
        message: Some(message),
    }
}

pub(in crate::history) fn passing(test: &str, attempt: u32) -> ResultRecord {
    ResultRecord {
        test: test.to_string(),
        tier: Some("unit".to_string()),
        outcome: Outcome::Passed,
        duration: Duration::from_millis(3),
        attempt,
        message: None,
        diagnosis: None,
    }
}

/// A run at `started_ms` of `commit` on main, its tree clean unless `dirty`.
pub(in crate::history) fn run(
    started_ms: i64,
    commit: &str,
    dirty: bool,
    results: Vec<ResultRecord>,
) -> RunRecord {
    RunRecord {
        started_ms,
        ended_ms: started_ms + 100,
        git: GitInfo {
            commit: Some(commit.to_string()),
            branch: Some("main".to_string()),
            dirty: Some(dirty),
        },
        source: "vigil".to_string(),
        results,
        ..RunRecord::default()
    }
}

fn on_branch(mut run: RunRecord, branch: &str) -> RunRecord {
    run.git.branch = Some(branch.to_string());
    run
}

/// A fresh store in its own directory (kept alive by the returned guard).
fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("history.db")).expect("store");
    (dir, store)
}

/// Records `runs` in order; returns their ids.
fn record(store: &mut Store, runs: Vec<RunRecord>) -> Vec<i64> {
    runs.iter()
        .map(|r| store.record(r).expect("recorded"))
        .collect()
}

/// The history of fingerprint `F` after recording `runs`.
fn history_after(runs: Vec<RunRecord>) -> FingerprintHistory {
    let (_dir, mut store) = store();
    record(&mut store, runs);
    store
        .fingerprint_history(F, None)
        .expect("query")
        .expect("seen")
}

const F: &str = "00000000000000f1";
const G: &str = "00000000000000f2";

#[test]
fn runs_tests_and_the_first_and_last_sightings_are_counted() {
    let (_dir, mut store) = store();
    let ids = record(
        &mut store,
        vec![
            run(
                1_000,
                "c1",
                false,
                vec![failing("a", F, 1), passing("b", 1)],
            ),
            run(
                2_000,
                "c2",
                false,
                vec![failing("a", F, 1), failing("b", F, 1)],
            ),
            run(
                3_000,
                "c3",
                false,
                vec![passing("a", 1), failing("b", G, 1)],
            ),
            run(
                4_000,
                "c4",
                false,
                vec![passing("a", 1), failing("c", F, 1)],
            ),
        ],
    );
    let history = store.fingerprint_history(F, None).expect("query");
    let history = history.expect("seen");
    assert_eq!((history.runs, history.tests), (3, 3));
    assert_eq!(
        history.first,
        Sighting {
            run_id: ids[0],
            started_ms: 1_000,
            commit: Some("c1".into()),
            branch: Some("main".into()),
        }
    );
    assert_eq!(
        (history.last.run_id, history.last.commit.as_deref()),
        (ids[3], Some("c4"))
    );
    // `a` passed in run 3, but at another commit: a fix, not flakiness.
    assert!(!history.flaky);
    assert_eq!(
        store.fingerprint_history("0123456789abcdef", None).ok(),
        Some(None)
    );
}

#[test]
fn a_retry_that_passes_in_the_same_run_is_flaky_even_in_a_dirty_tree() {
    let retried = |second: ResultRecord| {
        history_after(vec![run(
            1_000,
            "c1",
            true,
            vec![failing("a", F, 1), second],
        )])
    };
    assert!(retried(passing("a", 2)).flaky);
    assert!(!retried(failing("a", F, 2)).flaky);
    // A pass of another test proves nothing about this one.
    assert!(!retried(passing("b", 2)).flaky);
}

#[test]
fn a_later_clean_pass_at_the_same_commit_is_flaky() {
    let two_runs = |first: (&str, bool), later: (&str, bool)| {
        history_after(vec![
            run(1_000, first.0, first.1, vec![failing("a", F, 1)]),
            run(2_000, later.0, later.1, vec![passing("a", 1)]),
        ])
        .flaky
    };
    assert!(two_runs(("c1", false), ("c1", false)));
    assert!(
        !two_runs(("c1", false), ("c2", false)),
        "the commit changed"
    );
    assert!(
        !two_runs(("c1", true), ("c1", false)),
        "the failing tree was dirty"
    );
    assert!(
        !two_runs(("c1", false), ("c1", true)),
        "the passing tree was dirty"
    );
}

#[test]
fn a_pass_before_the_failure_or_of_another_test_is_not_flakiness() {
    let earlier_pass = history_after(vec![
        run(1_000, "c1", false, vec![passing("a", 1)]),
        run(2_000, "c1", false, vec![failing("a", F, 1)]),
    ]);
    assert!(!earlier_pass.flaky);
    let other_test = history_after(vec![
        run(1_000, "c1", false, vec![failing("a", F, 1)]),
        run(2_000, "c1", false, vec![passing("b", 1)]),
    ]);
    assert!(!other_test.flaky);
}

#[test]
fn an_unknown_tree_state_is_not_clean() {
    let mut later = run(2_000, "c1", false, vec![passing("a", 1)]);
    later.git.dirty = None;
    let history = history_after(vec![
        run(1_000, "c1", false, vec![failing("a", F, 1)]),
        later,
    ]);
    assert!(!history.flaky);
}

#[test]
fn the_last_pass_before_is_the_latest_earlier_pass_on_the_same_branch() {
    let history = history_after(vec![
        run(1_000, "c1", false, vec![passing("a", 1)]),
        run(2_000, "c2", false, vec![passing("b", 1)]),
        on_branch(run(3_000, "c3", false, vec![passing("a", 1)]), "feature"),
        run(
            4_000,
            "c4",
            false,
            vec![failing("b", "ffff000000000000", 1)],
        ),
        run(
            5_000,
            "c5",
            false,
            vec![failing("a", F, 1), failing("b", F, 1)],
        ),
        run(6_000, "c6", false, vec![failing("a", F, 1)]),
    ]);
    let pass = history.last_pass_before.expect("a pass before");
    // b passed at c2 (a at c1 is older, the feature branch's c3 is elsewhere, and b's
    // failure at c4 was another bug).
    assert_eq!(
        (pass.started_ms, pass.commit.as_deref()),
        (2_000, Some("c2"))
    );
    assert_eq!(history.first.commit.as_deref(), Some("c5"));
}

#[test]
fn a_run_without_a_branch_looks_back_on_every_branch() {
    let mut first = run(2_000, "c2", false, vec![failing("a", F, 1)]);
    first.git.branch = None;
    let history = history_after(vec![
        on_branch(run(1_000, "c1", false, vec![passing("a", 1)]), "feature"),
        first,
    ]);
    let pass = history.last_pass_before.expect("a pass before");
    assert_eq!(pass.branch.as_deref(), Some("feature"));
    let never_passed = history_after(vec![run(1_000, "c1", false, vec![failing("a", F, 1)])]);
    assert_eq!(never_passed.last_pass_before, None);
}

#[test]
fn fixes_come_newest_first_and_only_for_their_fingerprint() {
    let (_dir, mut store) = store();
    record(
        &mut store,
        vec![run(1_000, "c1", false, vec![failing("a", F, 1)])],
    );
    store
        .record_fix(F, "raised the pool size", Some("abc123"))
        .expect("fix");
    store.record_fix(G, "unrelated", None).expect("fix");
    store
        .record_fix(F, "waited for the port", None)
        .expect("fix");
    let history = store.fingerprint_history(F, None).expect("query");
    let fixes = history.expect("seen").fixes;
    let notes: Vec<(&str, Option<&str>)> = fixes
        .iter()
        .map(|f| (f.note.as_str(), f.commit.as_deref()))
        .collect();
    assert_eq!(
        notes,
        [
            ("waited for the port", None),
            ("raised the pool size", Some("abc123"))
        ]
    );
    assert!(fixes[0].recorded_ms >= fixes[1].recorded_ms && fixes[1].recorded_ms > 0);
}

#[test]
fn upto_run_leaves_later_runs_out() {
    let (_dir, mut store) = store();
    let ids = record(
        &mut store,
        vec![
            run(1_000, "c1", false, vec![failing("a", F, 1)]),
            run(
                2_000,
                "c1",
                false,
                vec![passing("a", 1), failing("b", F, 1)],
            ),
            run(3_000, "c2", false, vec![failing("c", F, 1)]),
        ],
    );
    let upto = |run: Option<i64>| {
        store
            .fingerprint_history(F, run)
            .expect("query")
            .expect("seen")
    };
    let (first_only, two, all) = (upto(Some(ids[0])), upto(Some(ids[1])), upto(None));
    assert_eq!((first_only.runs, first_only.tests), (1, 1));
    assert_eq!(first_only.last.run_id, ids[0]);
    // a's pass at the same commit comes in run 2: not yet flaky as of run 1.
    assert!(!first_only.flaky);
    assert!(two.flaky);
    assert_eq!((two.runs, two.tests, two.last.run_id), (2, 2, ids[1]));
    assert_eq!((all.runs, all.tests, all.last.run_id), (3, 3, ids[2]));
    let missing = store.fingerprint_history(F, Some(999)).err();
    assert!(missing.is_some_and(|e| e.to_string().contains("no run 999")));
}

#[test]
fn run_failures_are_last_attempts_with_their_diagnosis() {
    let (_dir, mut store) = store();
    let mut unparsed = passing("c", 1);
    unparsed.outcome = Outcome::Crashed;
    unparsed.message = Some("worker died".to_string());
    let ids = record(
        &mut store,
        vec![run(
            1_000,
            "c1",
            false,
            vec![
                failing("b", F, 1),
                failing("b", G, 2),
                passing("a", 1),
                unparsed,
                failing("d", F, 1),
                passing("d", 2),
            ],
        )],
    );
    let failures = store.run_failures(ids[0]).expect("query");
    let summary: Vec<(&str, Outcome, u32)> = failures
        .iter()
        .map(|f| (f.test.as_str(), f.outcome, f.attempt))
        .collect();
    assert_eq!(
        summary,
        [("b", Outcome::Failed, 2), ("c", Outcome::Crashed, 1)]
    );
    assert_eq!(
        failures[0].diagnosis,
        Some(diagnosis(G, "b refused (attempt 2)"))
    );
    assert_eq!(
        failures[0].message.as_deref(),
        Some("b refused (attempt 2)")
    );
    assert_eq!(failures[1].diagnosis, None);
    assert_eq!(failures[1].message.as_deref(), Some("worker died"));
}

#[test]
fn a_stored_verdict_this_vigil_cannot_read_is_left_out() {
    let (_dir, mut store) = store();
    let ids = record(
        &mut store,
        vec![run(1_000, "c1", false, vec![failing("a", F, 1)])],
    );
    store
        .conn
        .execute("UPDATE fingerprints SET detail = '{\"v\": 9}'", [])
        .expect("update");
    let failures = store.run_failures(ids[0]).expect("query");
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].diagnosis, None);
    assert_eq!(
        failures[0].message.as_deref(),
        Some("a refused (attempt 1)")
    );
}

#[test]
fn sightings_are_read_through_the_partial_index() {
    let (_dir, store) = store();
    let plan: Vec<String> = store
        .conn
        .prepare(&format!("EXPLAIN QUERY PLAN {SEEN_RUNS}"))
        .and_then(|mut s| {
            s.query_map(params![F, None::<i64>, None::<i64>], |r| r.get(3))?
                .collect()
        })
        .expect("plan");
    let plan = plan.join("\n");
    assert!(plan.contains("results_by_fingerprint"), "{plan}");
    assert!(!plan.contains("SCAN results"), "{plan}");
}
