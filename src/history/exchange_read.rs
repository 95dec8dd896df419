//! Reading whole runs back out of a history database: a run's row, results, the verdicts of
//! its fingerprints and their fix notes, as an export line holds them. Export writes these,
//! import reads them from another database, and `read_run` gives them as a `RunRecord`.

use std::collections::BTreeSet;

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::exchange_format::{ExportedFix, ExportedResult, ExportedRun, Verdict};
use super::record::RunRecord;
use super::store::Store;
use super::timeline::stored_outcome;
use super::HistoryError;

const RUN_ROW: &str = "SELECT uid, started_ms, ended_ms, commit_sha, branch, dirty, profile,
        host, selection, tiers, total, passed, failed, errors, skipped, xfailed, xpassed,
        crashed, timed_out, duration_ms, exit_code, interrupted, source, series, partition,
        shards
     FROM runs WHERE id = ?1";

/// A run's results in the order of the primary key (test, attempt).
const RESULTS: &str = "SELECT t.name, i.name, r.outcome, r.duration_us, r.attempt, r.message,
        r.fingerprint
     FROM results r JOIN tests t ON t.id = r.test_id LEFT JOIN tiers i ON i.id = r.tier_id
     WHERE r.run_id = ?1";

const VERDICT: &str = "SELECT f.fingerprint, f.category, f.nature, f.exception, f.normalized,
        f.detail, u.uid, u.started_ms
     FROM fingerprints f LEFT JOIN runs u ON u.id = f.updated_run
     WHERE f.fingerprint = ?1";

const FIXES: &str = "SELECT fingerprint, recorded_ms, commit_sha, note, outcome FROM fixes
     WHERE fingerprint = ?1 ORDER BY recorded_ms, id";

/// Run `id` in full, as a record with its results and their diagnoses.
pub fn read_run(store: &Store, id: i64) -> Result<RunRecord, HistoryError> {
    match read_exported(&store.conn, id) {
        Ok(Some(run)) => Ok(run.to_record()),
        Ok(None) => Err(HistoryError::Query(format!(
            "no run {id} in history at {}",
            store.path.display()
        ))),
        Err(e) => Err(store.error(e)),
    }
}

/// Run `id` in full, as an export line holds it; None when there is no such run.
pub(super) fn read_exported(conn: &Connection, id: i64) -> rusqlite::Result<Option<ExportedRun>> {
    let run = conn
        .prepare_cached(RUN_ROW)?
        .query_row([id], run_row)
        .optional()?;
    let Some(mut run) = run else {
        return Ok(None);
    };
    run.results = conn
        .prepare_cached(RESULTS)?
        .query_map([id], result_row)?
        .collect::<rusqlite::Result<_>>()?;
    let fingerprints: BTreeSet<&str> = run
        .results
        .iter()
        .filter_map(|r| r.fingerprint.as_deref())
        .collect();
    let mut verdicts = Vec::new();
    let mut fixes = Vec::new();
    for fingerprint in fingerprints {
        let verdict = conn
            .prepare_cached(VERDICT)?
            .query_row([fingerprint], verdict_row)
            .optional()?;
        // A verdict whose detail is not JSON is left out (as `run_failures` does); the
        // results keep their fingerprint.
        verdicts.extend(verdict.flatten());
        fixes.extend(fixes_of(conn, fingerprint)?);
    }
    run.fingerprints = verdicts;
    run.fixes = fixes;
    Ok(Some(run))
}

/// Every fix note of a fingerprint, oldest first.
fn fixes_of(conn: &Connection, fingerprint: &str) -> rusqlite::Result<Vec<ExportedFix>> {
    conn.prepare_cached(FIXES)?
        .query_map([fingerprint], fix_row)?
        .collect()
}

/// Every fix note in the database, oldest first.
pub(super) fn all_fixes(conn: &Connection) -> rusqlite::Result<Vec<ExportedFix>> {
    conn.prepare(
        "SELECT fingerprint, recorded_ms, commit_sha, note, outcome FROM fixes
         ORDER BY recorded_ms, id",
    )?
    .query_map([], fix_row)?
    .collect()
}

/// Every run's id and uid, oldest first.
pub(super) fn run_uids(conn: &Connection) -> rusqlite::Result<Vec<(i64, Option<String>)>> {
    conn.prepare("SELECT id, uid FROM runs ORDER BY started_ms, id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

/// The ids of the runs of `branch` (all when None), oldest first.
pub(super) fn run_ids(conn: &Connection, branch: Option<&str>) -> rusqlite::Result<Vec<i64>> {
    conn.prepare("SELECT id FROM runs WHERE ?1 IS NULL OR branch = ?1 ORDER BY started_ms, id")?
        .query_map(params![branch], |r| r.get(0))?
        .collect()
}

fn run_row(row: &Row) -> rusqlite::Result<ExportedRun> {
    Ok(ExportedRun {
        uid: row.get::<_, Option<String>>(0)?.unwrap_or_default(),
        started_ms: row.get(1)?,
        ended_ms: row.get(2)?,
        commit: row.get(3)?,
        branch: row.get(4)?,
        dirty: row.get(5)?,
        profile: row.get(6)?,
        host: row.get(7)?,
        selection: row.get(8)?,
        tiers: row.get(9)?,
        total: row.get(10)?,
        passed: row.get(11)?,
        failed: row.get(12)?,
        errors: row.get(13)?,
        skipped: row.get(14)?,
        xfailed: row.get(15)?,
        xpassed: row.get(16)?,
        crashed: row.get(17)?,
        timed_out: row.get(18)?,
        duration_ms: row.get(19)?,
        exit_code: row.get(20)?,
        interrupted: row.get(21)?,
        source: row.get(22)?,
        series: row.get(23)?,
        partition: row.get(24)?,
        shards: row.get(25)?,
        results: Vec::new(),
        fingerprints: Vec::new(),
        fixes: Vec::new(),
    })
}

fn result_row(row: &Row) -> rusqlite::Result<ExportedResult> {
    Ok(ExportedResult {
        test: row.get(0)?,
        tier: row.get(1)?,
        outcome: stored_outcome(row, 2)?,
        duration_us: row.get(3)?,
        attempt: row.get(4)?,
        message: row.get(5)?,
        fingerprint: row.get(6)?,
    })
}

/// The verdict, or None when its detail is not JSON.
fn verdict_row(row: &Row) -> rusqlite::Result<Option<Verdict>> {
    let detail: String = row.get(5)?;
    let Ok(detail) = serde_json::from_str(&detail) else {
        return Ok(None);
    };
    Ok(Some(Verdict {
        fingerprint: row.get(0)?,
        category: row.get(1)?,
        nature: row.get(2)?,
        exception: row.get(3)?,
        normalized: row.get(4)?,
        detail,
        from_uid: row.get(6)?,
        from_started_ms: row.get(7)?,
    }))
}

fn fix_row(row: &Row) -> rusqlite::Result<ExportedFix> {
    Ok(ExportedFix {
        fingerprint: row.get(0)?,
        recorded_ms: row.get(1)?,
        commit: row.get(2)?,
        note: row.get(3)?,
        outcome: row.get(4)?,
    })
}
