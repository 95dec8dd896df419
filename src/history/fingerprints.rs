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

    /// Records one `vigil verify` attempt at fixing `fingerprint` and how it ended.
    pub fn record_attempt(
        &mut self,
        fingerprint: &str,
        outcome: &str,
        note: &str,
        commit: Option<&str>,
    ) -> Result<(), HistoryError> {
        self.conn
            .execute(
                "INSERT INTO fixes (fingerprint, recorded_ms, commit_sha, note, outcome)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![fingerprint, now_ms(), commit, note, outcome],
            )
            .map_err(|e| self.error(e))?;
        Ok(())
    }

    /// How many `vigil verify` attempts at `fingerprint` were recorded since `since_ms`.
    pub fn attempts_since(&self, fingerprint: &str, since_ms: i64) -> Result<usize, HistoryError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM fixes
                 WHERE fingerprint = ?1 AND recorded_ms >= ?2 AND outcome IS NOT NULL",
                params![fingerprint, since_ms],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as usize)
            .map_err(|e| self.error(e))
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
            "SELECT recorded_ms, commit_sha, note FROM fixes
             WHERE fingerprint = ?1 AND (outcome IS NULL OR outcome = 'kept')
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
#[path = "fingerprints_tests.rs"]
pub(super) mod tests;
