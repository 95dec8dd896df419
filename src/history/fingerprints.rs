//! What history knows about a failure fingerprint (first and last sighting, how many runs and
//! tests, flaky or not, the last pass before it, healers' fix notes) and a run's failures with
//! their stored diagnoses: the facts diagnosis matches a new failure against.

use std::collections::{BTreeSet, HashMap, HashSet};

use rusqlite::{params, Row};
use serde::Serialize;

use crate::diagnose::Diagnosis;
use crate::events::Outcome;

use super::flaky::clean_commit;
use super::outcome_codes::code;
use super::record::now_ms;
use super::store::Store;
use super::timeline::stored_outcome;
use super::HistoryError;

// Work is bounded by what carries the fingerprint, never by the size of `results`: sightings
// come from the partial index `results_by_fingerprint`, and every other read is a primary-key
// or index seek. The caps below bound the seeks for a fingerprint seen in very many results.

/// Flakiness is judged from the newest results carrying the fingerprint, at most this many,
/// and with at most this many pass lookups per kind of evidence: a bug that was flaky long ago
/// and has failed steadily since is not flaky now.
const EVIDENCE_RESULTS: usize = 10_000;
/// Runs before the first sighting searched for the last pass.
const LOOKBACK_RUNS: i64 = 500;
/// Tests of the first sighting whose earlier passes are looked for: when hundreds of tests
/// broke at once, a handful of them tell when it was last green as well as all would.
const LOOKBACK_TESTS: usize = 50;
/// Fix notes returned, newest first.
const MAX_FIXES: i64 = 100;

/// A run a fingerprint was seen in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sighting {
    pub run_id: i64,
    pub started_ms: i64,
    pub commit: Option<String>,
    pub branch: Option<String>,
}

/// A healer's note about a fix for a fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FixNote {
    pub recorded_ms: i64,
    pub commit: Option<String>,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FingerprintHistory {
    pub first: Sighting,
    pub last: Sighting,
    /// Distinct runs with a result carrying it.
    pub runs: usize,
    /// Distinct tests.
    pub tests: usize,
    /// Some result with it was followed by a pass of the same test without a code change:
    /// a later attempt in the same run, or a later run at the same commit with a clean work
    /// tree (both runs clean, same commit_sha), the evidence flaky.rs uses.
    pub flaky: bool,
    /// For the tests failing with it in `first`: the latest earlier run (same branch if known)
    /// where one of them passed: "failing since <first.commit>, passed at <this.commit>".
    pub last_pass_before: Option<Sighting>,
    /// Newest first.
    pub fixes: Vec<FixNote>,
}

/// One failing test of a run (its last attempt).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredFailure {
    pub test: String,
    pub outcome: Outcome,
    pub attempt: u32,
    /// This result's own first-line message.
    pub message: Option<String>,
    /// The verdict stored for the result's fingerprint: the latest one recorded for it, which
    /// may come from another test or a later run (the verdict is kept once per fingerprint).
    pub diagnosis: Option<Diagnosis>,
}

/// A run's place in time, the order every history query uses: (started_ms, id).
type RunKey = (i64, i64);

/// A run the fingerprint was seen in, with what the evidence rules need.
struct SeenRun {
    sighting: Sighting,
    dirty: Option<bool>,
    /// (test id, attempt) of each of its results carrying the fingerprint.
    hits: Vec<(i64, i64)>,
}

impl SeenRun {
    fn key(&self) -> RunKey {
        (self.sighting.started_ms, self.sighting.run_id)
    }

    fn clean_commit(&self) -> Option<&str> {
        clean_commit(self.sighting.commit.as_deref(), self.dirty)
    }
}

/// One result carrying the fingerprint.
#[derive(Clone, Copy)]
struct Hit<'a> {
    run: &'a SeenRun,
    test: i64,
    attempt: i64,
}

/// The runs that have a result with fingerprint ?1, oldest first, up to the run at
/// (?2 started_ms, ?3 id) when those are not NULL. The subquery reads the partial index only.
const SEEN_RUNS: &str = "SELECT id, started_ms, commit_sha, branch, dirty FROM runs
     WHERE id IN (SELECT run_id FROM results WHERE fingerprint = ?1)
       AND (?2 IS NULL OR started_ms < ?2 OR (started_ms = ?2 AND id <= ?3))
     ORDER BY started_ms, id";

/// Whether test ?2 passed in run ?1 at an attempt after ?3 (a primary-key range seek).
const PASSED_AFTER: &str = "SELECT 1 FROM results
     WHERE run_id = ?1 AND test_id = ?2 AND attempt > ?3 AND outcome = ?4";

impl Store {
    /// History of one fingerprint over runs up to and including `upto_run` (all runs when
    /// None). None when never seen.
    pub fn fingerprint_history(
        &self,
        fingerprint: &str,
        upto_run: Option<i64>,
    ) -> Result<Option<FingerprintHistory>, HistoryError> {
        let upto = self.upto_key(upto_run)?;
        let seen = self
            .seen_runs(fingerprint, upto)
            .map_err(|e| self.error(e))?;
        let (Some(first), Some(last)) = (seen.first(), seen.last()) else {
            return Ok(None);
        };
        let tests: HashSet<i64> = seen
            .iter()
            .flat_map(|run| run.hits.iter().map(|&(test, _)| test))
            .collect();
        let history = FingerprintHistory {
            first: first.sighting.clone(),
            last: last.sighting.clone(),
            runs: seen.len(),
            tests: tests.len(),
            flaky: self.flaky(&seen, upto).map_err(|e| self.error(e))?,
            last_pass_before: self.last_pass_before(first).map_err(|e| self.error(e))?,
            fixes: self.fixes(fingerprint).map_err(|e| self.error(e))?,
        };
        Ok(Some(history))
    }

    /// Records a healer's note about a fix for a fingerprint.
    pub fn record_fix(
        &mut self,
        fingerprint: &str,
        note: &str,
        commit: Option<&str>,
    ) -> Result<(), HistoryError> {
        self.conn
            .execute(
                "INSERT INTO fixes (fingerprint, recorded_ms, commit_sha, note)
                 VALUES (?1, ?2, ?3, ?4)",
                params![fingerprint, now_ms(), commit, note],
            )
            .map_err(|e| self.error(e))?;
        Ok(())
    }

    /// A run's failing results (last attempt of each test, in test-name order) with their
    /// stored diagnosis when there is one.
    pub fn run_failures(&self, run_id: i64) -> Result<Vec<StoredFailure>, HistoryError> {
        // The run's rows are one primary-key range; an earlier attempt was retried away.
        let sql = format!(
            "SELECT t.name, r.outcome, r.attempt, r.message, f.detail
             FROM results r
             JOIN tests t ON t.id = r.test_id
             LEFT JOIN fingerprints f ON f.fingerprint = r.fingerprint
             WHERE r.run_id = ?1 AND r.outcome IN ({}) AND r.attempt =
                 (SELECT MAX(attempt) FROM results
                  WHERE run_id = r.run_id AND test_id = r.test_id)
             ORDER BY t.name",
            failure_codes()
        );
        let mut statement = self.conn.prepare(&sql).map_err(|e| self.error(e))?;
        let rows = statement
            .query_map(params![run_id], stored_failure)
            .map_err(|e| self.error(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.error(e))
    }

    /// The (started_ms, id) of run `id`; an unknown run is an error rather than an empty
    /// history, which would read as "never seen".
    fn upto_key(&self, id: Option<i64>) -> Result<Option<RunKey>, HistoryError> {
        let Some(id) = id else {
            return Ok(None);
        };
        let started = self
            .conn
            .query_row("SELECT started_ms FROM runs WHERE id = ?1", [id], |r| {
                r.get::<_, i64>(0)
            });
        match started {
            Ok(started_ms) => Ok(Some((started_ms, id))),
            Err(rusqlite::Error::QueryReturnedNoRows) => Err(HistoryError::Query(format!(
                "no run {id} in history at {}",
                self.path.display()
            ))),
            Err(e) => Err(self.error(e)),
        }
    }

    /// The runs with the fingerprint, oldest first, each with its results carrying it.
    fn seen_runs(&self, fingerprint: &str, upto: Option<RunKey>) -> rusqlite::Result<Vec<SeenRun>> {
        let (upto_ms, upto_id) = upto.unzip();
        let mut runs = self.conn.prepare_cached(SEEN_RUNS)?;
        let mut seen = runs
            .query_map(params![fingerprint, upto_ms, upto_id], seen_run)?
            .collect::<rusqlite::Result<Vec<SeenRun>>>()?;
        // One seek into the partial index per run: (fingerprint, run_id) leads it.
        let mut hits = self.conn.prepare_cached(
            "SELECT test_id, attempt FROM results WHERE fingerprint = ?1 AND run_id = ?2",
        )?;
        for run in &mut seen {
            run.hits = hits
                .query_map(params![fingerprint, run.sighting.run_id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
        }
        Ok(seen)
    }

    /// Whether the newest sightings show a failing test passing without a code change.
    fn flaky(&self, seen: &[SeenRun], upto: Option<RunKey>) -> rusqlite::Result<bool> {
        let evidence: Vec<Hit> = seen
            .iter()
            .rev()
            .flat_map(|run| {
                run.hits
                    .iter()
                    .map(move |&(test, attempt)| Hit { run, test, attempt })
            })
            .take(EVIDENCE_RESULTS)
            .collect();
        Ok(self.passed_on_retry(&evidence)? || self.passed_later_at_commit(&evidence, upto)?)
    }

    /// A later attempt in the same run passed. This counts in any run, clean tree or not:
    /// nothing is edited between the attempts of one run (vigil restores the state a retry
    /// starts from). flaky.rs, which buckets by clean commit, leaves dirty runs out entirely.
    fn passed_on_retry(&self, evidence: &[Hit]) -> rusqlite::Result<bool> {
        let mut passed = self.conn.prepare_cached(PASSED_AFTER)?;
        for hit in evidence {
            let id = hit.run.sighting.run_id;
            if passed.exists(params![id, hit.test, hit.attempt, passed_code()])? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// A test that failed with it in a clean run passed in a later clean run of the same
    /// commit (up to `upto`).
    fn passed_later_at_commit(
        &self,
        evidence: &[Hit],
        upto: Option<RunKey>,
    ) -> rusqlite::Result<bool> {
        let mut passed = self.conn.prepare_cached(PASSED_AFTER)?;
        for (run_id, test) in self.later_clean_pairs(evidence, upto)? {
            // Attempt 0 is before any attempt: a pass at any attempt of that run counts.
            if passed.exists(params![run_id, test, 0, passed_code()])? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The (run, test) pairs whose pass would show flakiness: a later clean run of a commit
    /// some clean sighting failed at, with each test that failed there earlier. A test that
    /// carries the fingerprint in that run too is left out (its retries are the other
    /// evidence), which keeps a steadily failing bug from costing a lookup per run and test.
    fn later_clean_pairs(
        &self,
        evidence: &[Hit],
        upto: Option<RunKey>,
    ) -> rusqlite::Result<Vec<(i64, i64)>> {
        let hits: HashSet<(i64, i64)> = evidence
            .iter()
            .map(|h| (h.run.sighting.run_id, h.test))
            .collect();
        let mut pairs = Vec::new();
        for (commit, first_failures) in first_failures_by_clean_commit(evidence) {
            for later in self.clean_runs_at(commit, upto)? {
                let tests = first_failures
                    .iter()
                    .filter(|&(test, failed)| *failed < later && !hits.contains(&(later.1, *test)));
                pairs.extend(tests.map(|(&test, _)| (later.1, test)));
                if pairs.len() >= EVIDENCE_RESULTS {
                    pairs.truncate(EVIDENCE_RESULTS);
                    return Ok(pairs);
                }
            }
        }
        Ok(pairs)
    }

    /// The clean runs of `commit` up to `upto`, oldest first (through `runs_by_commit`).
    fn clean_runs_at(&self, commit: &str, upto: Option<RunKey>) -> rusqlite::Result<Vec<RunKey>> {
        let mut runs = self
            .conn
            .prepare_cached("SELECT started_ms, id, dirty FROM runs WHERE commit_sha = ?1")?;
        let rows = runs.query_map([commit], |r| {
            Ok(((r.get(0)?, r.get(1)?), r.get::<_, Option<bool>>(2)?))
        })?;
        let mut keys = Vec::new();
        for row in rows {
            let (key, dirty) = row?;
            let within = upto.is_none_or(|upto| key <= upto);
            if within && clean_commit(Some(commit), dirty).is_some() {
                keys.push(key);
            }
        }
        keys.sort_unstable();
        Ok(keys)
    }

    /// The latest run before `first` (on its branch, when it has one) where one of the tests
    /// that failed with the fingerprint in `first` passed.
    fn last_pass_before(&self, first: &SeenRun) -> rusqlite::Result<Option<Sighting>> {
        let tests: Vec<i64> = first
            .hits
            .iter()
            .map(|&(test, _)| test)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .take(LOOKBACK_TESTS)
            .collect();
        let mut earlier = self.conn.prepare_cached(
            "SELECT id, started_ms, commit_sha, branch FROM runs
             WHERE (started_ms < ?1 OR (started_ms = ?1 AND id < ?2))
               AND (?3 IS NULL OR branch = ?3)
             ORDER BY started_ms DESC, id DESC LIMIT ?4",
        )?;
        let (started_ms, id) = first.key();
        let branch = &first.sighting.branch;
        let runs = earlier.query_map(params![started_ms, id, branch, LOOKBACK_RUNS], sighting)?;
        let mut passed = self.conn.prepare_cached(PASSED_AFTER)?;
        for run in runs {
            let run = run?;
            for &test in &tests {
                if passed.exists(params![run.run_id, test, 0, passed_code()])? {
                    return Ok(Some(run));
                }
            }
        }
        Ok(None)
    }

    /// The fingerprint's fix notes, newest first.
    fn fixes(&self, fingerprint: &str) -> rusqlite::Result<Vec<FixNote>> {
        let mut fixes = self.conn.prepare_cached(
            "SELECT recorded_ms, commit_sha, note FROM fixes WHERE fingerprint = ?1
             ORDER BY recorded_ms DESC, id DESC LIMIT ?2",
        )?;
        let rows = fixes.query_map(params![fingerprint, MAX_FIXES], |r| {
            Ok(FixNote {
                recorded_ms: r.get(0)?,
                commit: r.get(1)?,
                note: r.get(2)?,
            })
        })?;
        rows.collect()
    }
}

/// Per clean commit, each test that failed with the fingerprint in a clean run of it, with
/// the earliest such run.
fn first_failures_by_clean_commit<'a>(
    evidence: &[Hit<'a>],
) -> HashMap<&'a str, HashMap<i64, RunKey>> {
    let mut failures: HashMap<&str, HashMap<i64, RunKey>> = HashMap::new();
    for hit in evidence {
        let Some(commit) = hit.run.clean_commit() else {
            continue;
        };
        let first = failures
            .entry(commit)
            .or_default()
            .entry(hit.test)
            .or_insert(hit.run.key());
        *first = (*first).min(hit.run.key());
    }
    failures
}

fn passed_code() -> i64 {
    code(Outcome::Passed)
}

/// The stored codes of failing outcomes, for an SQL `IN (...)`.
fn failure_codes() -> String {
    let codes: Vec<String> = Outcome::ALL
        .into_iter()
        .filter(|o| o.is_failure())
        .map(|o| code(o).to_string())
        .collect();
    codes.join(", ")
}

fn sighting(row: &Row) -> rusqlite::Result<Sighting> {
    Ok(Sighting {
        run_id: row.get(0)?,
        started_ms: row.get(1)?,
        commit: row.get(2)?,
        branch: row.get(3)?,
    })
}

fn seen_run(row: &Row) -> rusqlite::Result<SeenRun> {
    Ok(SeenRun {
        sighting: sighting(row)?,
        dirty: row.get(4)?,
        hits: Vec::new(),
    })
}

fn stored_failure(row: &Row) -> rusqlite::Result<StoredFailure> {
    let detail: Option<String> = row.get(4)?;
    Ok(StoredFailure {
        test: row.get(0)?,
        outcome: stored_outcome(row, 1)?,
        attempt: row.get(2)?,
        message: row.get(3)?,
        // A verdict this vigil cannot read (a newer vigil's shape) is left out rather than
        // failing the whole run's list: the result and its message are still there.
        diagnosis: detail.and_then(|json| serde_json::from_str(&json).ok()),
    })
}

#[cfg(test)]
pub(super) mod tests {
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
}
