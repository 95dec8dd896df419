//! The look-back window every trend is computed over: the latest N runs of one branch, and
//! each test's results in them, loaded once (a few small integers per result) and analysed in
//! memory.

use std::collections::HashMap;

use rusqlite::OptionalExtension;

use crate::events::Outcome;

use super::digest;
use super::outcome_codes;
use super::store::Store;
use super::timeline::RunSummary;
use super::HistoryError;

/// Which runs a window covers.
#[derive(Debug, Clone, PartialEq)]
pub enum BranchFilter {
    /// The branch of the latest run (runs without a branch when it had none).
    Latest,
    Named(String),
    All,
}

/// One test's final result in one run of the window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Index into [`Window::runs`] (oldest first).
    pub run: usize,
    pub outcome: Outcome,
    pub seconds: f64,
    /// An earlier attempt in the same run failed (a retry made it pass or fail again).
    pub retried_failure: bool,
    pub tier: Option<i64>,
}

impl Point {
    /// Failed (any failure outcome), passed, or neither (skipped, xfail, ...).
    pub fn verdict(&self) -> Option<bool> {
        verdict(self.outcome)
    }
}

/// Whether an outcome says the test passed (true), failed (false), or neither (skipped,
/// xfail, ...): what flakiness counts.
pub fn verdict(outcome: Outcome) -> Option<bool> {
    match outcome {
        o if o.is_failure() => Some(false),
        Outcome::Passed => Some(true),
        _ => None,
    }
}

pub struct Window {
    /// Oldest first.
    pub runs: Vec<RunSummary>,
    pub branch: Option<String>,
    /// test id → its points, oldest first.
    pub series: HashMap<i64, Vec<Point>>,
    /// The failure message of each test that failed in the latest run.
    pub messages: HashMap<i64, String>,
    pub tier_names: HashMap<i64, String>,
}

impl Window {
    pub fn load(store: &Store, branch: &BranchFilter, runs: usize) -> Result<Window, HistoryError> {
        let (branch, mut summaries) = window_runs(store, branch, runs)?;
        summaries.reverse();
        let mut window = Window {
            runs: summaries,
            branch,
            series: HashMap::new(),
            messages: HashMap::new(),
            tier_names: HashMap::new(),
        };
        window.load_results(store).map_err(|e| store.error(e))?;
        window.tier_names = tier_names(store).map_err(|e| store.error(e))?;
        Ok(window)
    }

    /// Reads each run's digest, oldest first, so every series comes out in window order.
    /// Series are gathered in a vector indexed by test id (ids are dense: interned in order),
    /// which spares a hash lookup per result.
    fn load_results(&mut self, store: &Store) -> rusqlite::Result<()> {
        let Some(latest) = self.runs.last().map(|r| r.id) else {
            return Ok(());
        };
        let max_id: i64 =
            store
                .conn
                .query_row("SELECT COALESCE(MAX(id), 0) FROM tests", [], |r| r.get(0))?;
        let mut dense: Vec<Vec<Point>> = vec![Vec::new(); max_id as usize + 1];
        let mut statement = store
            .conn
            .prepare("SELECT tests FROM run_digests WHERE run_id = ?1")?;
        for (run, summary) in self.runs.iter().enumerate() {
            let Some(blob) = statement
                .query_row([summary.id], |r| r.get::<_, Vec<u8>>(0))
                .optional()?
            else {
                continue;
            };
            let decoded = digest::decode(&blob, |entry| {
                if let (Some(points), Some(outcome)) = (
                    dense.get_mut(entry.test_id as usize),
                    outcome_codes::outcome(entry.outcome),
                ) {
                    points.push(Point {
                        run,
                        outcome,
                        seconds: entry.duration_us as f64 / 1e6,
                        retried_failure: entry.retried_failure,
                        tier: entry.tier_id,
                    });
                }
            });
            if decoded.is_none() {
                return Err(rusqlite::Error::InvalidColumnType(
                    0,
                    format!("digest of run {}", summary.id),
                    rusqlite::types::Type::Blob,
                ));
            }
        }
        self.series = dense
            .into_iter()
            .enumerate()
            .filter(|(_, points)| !points.is_empty())
            .map(|(id, points)| (id as i64, points))
            .collect();
        self.messages = latest_messages(store, latest)?;
        Ok(())
    }

    pub fn tier_of(&self, test: i64) -> Option<String> {
        let points = self.series.get(&test)?;
        let id = points.iter().rev().find_map(|p| p.tier)?;
        self.tier_names.get(&id).cloned()
    }

    /// Indices of the `len` runs that end `from_end` runs before the newest (clamped): the
    /// recent window is `span(0, recent)`, the one before it `span(recent, baseline)`.
    pub fn span(&self, from_end: usize, len: usize) -> std::ops::Range<usize> {
        let end = self.runs.len().saturating_sub(from_end);
        end.saturating_sub(len)..end
    }
}

/// The branch the window follows and its runs, newest first.
fn window_runs(
    store: &Store,
    branch: &BranchFilter,
    runs: usize,
) -> Result<(Option<String>, Vec<RunSummary>), HistoryError> {
    let branch = match branch {
        BranchFilter::All => return Ok((None, store.recent_runs(runs)?)),
        BranchFilter::Named(name) => Some(name.clone()),
        BranchFilter::Latest => store.recent_runs(1)?.pop().and_then(|r| r.branch),
    };
    let columns = super::timeline::RUN_COLUMNS;
    let sql = format!(
        "SELECT {columns} FROM runs WHERE branch IS ?1
         ORDER BY started_ms DESC, id DESC LIMIT ?2"
    );
    let summaries = store.query_runs(&sql, rusqlite::params![branch, runs as i64])?;
    Ok((branch, summaries))
}

/// The failure message of each test in the latest run (its last attempt's, if retried): the
/// one the changes and still-failing lists show.
fn latest_messages(store: &Store, run_id: i64) -> rusqlite::Result<HashMap<i64, String>> {
    let mut statement = store.conn.prepare(
        "SELECT test_id, message FROM results WHERE run_id = ?1 AND message IS NOT NULL
         ORDER BY test_id, attempt",
    )?;
    let rows = statement.query_map([run_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

fn tier_names(store: &Store) -> rusqlite::Result<HashMap<i64, String>> {
    let mut statement = store.conn.prepare("SELECT id, name FROM tiers")?;
    let rows = statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

impl Store {
    /// A test's id by name (names are interned).
    pub(super) fn test_name(&self, id: i64) -> Result<String, HistoryError> {
        self.conn
            .prepare_cached("SELECT name FROM tests WHERE id = ?1")
            .and_then(|mut s| s.query_row([id], |r| r.get(0)))
            .map_err(|e| self.error(e))
    }
}
