//! `vigil history`: the recent runs, and one test's timeline across them.

use rusqlite::{params, Row};
use serde::Serialize;

use crate::events::Outcome;

use super::outcome_codes::outcome;
use super::store::Store;
use super::HistoryError;

/// One run as the runs table shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub id: i64,
    pub started_ms: i64,
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub dirty: Option<bool>,
    pub profile: Option<String>,
    pub tiers: Option<String>,
    pub total: i64,
    pub passed: i64,
    pub failed: i64,
    pub errors: i64,
    pub skipped: i64,
    pub duration_ms: i64,
    pub exit_code: i32,
    pub interrupted: bool,
    pub source: String,
    /// The series of repetitions (`vigil run --repeat`) the run belongs to.
    pub series: Option<String>,
    /// The run's name across copies of the database (what `vigil history import` matches).
    pub uid: String,
    /// The shard of a partitioned selection this run was (`duration:2/4`).
    pub partition: Option<String>,
    /// How many shard runs this (merged) run combines.
    pub shards: Option<u32>,
}

/// One result of one test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestPoint {
    pub run_id: i64,
    pub started_ms: i64,
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub outcome: Outcome,
    pub duration_us: i64,
    pub attempt: i64,
    pub message: Option<String>,
    /// The diagnosis fingerprint of a failure (JSON only: the table has no room for it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

pub(super) const RUN_COLUMNS: &str =
    "id, started_ms, commit_sha, branch, dirty, profile, tiers, total, \
     passed, failed, errors + crashed + timed_out, skipped, duration_ms, exit_code, interrupted, \
     source, series, uid, partition, shards";

impl Store {
    /// The latest `limit` runs, newest first.
    pub fn recent_runs(&self, limit: usize) -> Result<Vec<RunSummary>, HistoryError> {
        let sql =
            format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY started_ms DESC, id DESC LIMIT ?1");
        self.query_runs(&sql, params![limit as i64])
    }

    /// One run by id.
    pub fn run(&self, id: i64) -> Result<Option<RunSummary>, HistoryError> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1");
        Ok(self.query_runs(&sql, params![id])?.pop())
    }

    pub(super) fn query_runs(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<RunSummary>, HistoryError> {
        let mut statement = self.conn.prepare(sql).map_err(|e| self.error(e))?;
        let rows = statement
            .query_map(params, run_summary)
            .map_err(|e| self.error(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.error(e))
    }

    /// Every result of the test with this exact id, newest first, at most `limit`.
    pub fn test_timeline(&self, test: &str, limit: usize) -> Result<Vec<TestPoint>, HistoryError> {
        let mut statement = self
            .conn
            .prepare(
                "SELECT r.run_id, u.started_ms, u.commit_sha, u.branch, r.outcome, r.duration_us,
                        r.attempt, r.message, r.fingerprint
                 FROM results r JOIN runs u ON u.id = r.run_id
                 WHERE r.test_id = (SELECT id FROM tests WHERE name = ?1)
                 ORDER BY u.started_ms DESC, u.id DESC, r.attempt DESC LIMIT ?2",
            )
            .map_err(|e| self.error(e))?;
        let rows = statement
            .query_map(params![test, limit as i64], test_point)
            .map_err(|e| self.error(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.error(e))
    }

    /// Test ids containing `fragment`, for a helpful "did you mean" when an id is not found.
    pub fn tests_like(&self, fragment: &str, limit: usize) -> Result<Vec<String>, HistoryError> {
        let mut statement = self
            .conn
            .prepare("SELECT name FROM tests WHERE instr(name, ?1) > 0 ORDER BY name LIMIT ?2")
            .map_err(|e| self.error(e))?;
        let rows = statement
            .query_map(params![fragment, limit as i64], |r| r.get(0))
            .map_err(|e| self.error(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.error(e))
    }
}

fn run_summary(row: &Row) -> rusqlite::Result<RunSummary> {
    Ok(RunSummary {
        id: row.get(0)?,
        started_ms: row.get(1)?,
        commit: row.get(2)?,
        branch: row.get(3)?,
        dirty: row.get(4)?,
        profile: row.get(5)?,
        tiers: row.get(6)?,
        total: row.get(7)?,
        passed: row.get(8)?,
        failed: row.get(9)?,
        errors: row.get(10)?,
        skipped: row.get(11)?,
        duration_ms: row.get(12)?,
        exit_code: row.get(13)?,
        interrupted: row.get(14)?,
        source: row.get(15)?,
        series: row.get(16)?,
        uid: row.get::<_, Option<String>>(17)?.unwrap_or_default(),
        partition: row.get(18)?,
        shards: row.get(19)?,
    })
}

fn test_point(row: &Row) -> rusqlite::Result<TestPoint> {
    Ok(TestPoint {
        run_id: row.get(0)?,
        started_ms: row.get(1)?,
        commit: row.get(2)?,
        branch: row.get(3)?,
        outcome: stored_outcome(row, 4)?,
        duration_us: row.get(5)?,
        attempt: row.get(6)?,
        message: row.get(7)?,
        fingerprint: row.get(8)?,
    })
}

/// An outcome column, with an unknown code reported as a conversion error (a newer vigil's).
pub(super) fn stored_outcome(row: &Row, index: usize) -> rusqlite::Result<Outcome> {
    let raw: i64 = row.get(index)?;
    outcome(raw).ok_or(rusqlite::Error::IntegralValueOutOfRange(index, raw))
}
