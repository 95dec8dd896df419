//! The look-back window every trend is computed over: the latest N runs of one branch, and
//! each test's results in them, loaded once (a few small integers per result) and analysed in
//! memory.

use std::collections::HashMap;

use rusqlite::params_from_iter;

use crate::events::Outcome;

use super::store::Store;
use super::timeline::{stored_outcome, RunSummary};
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
        match self.outcome {
            o if o.is_failure() => Some(false),
            Outcome::Passed => Some(true),
            _ => None,
        }
    }
}

pub struct Window {
    /// Oldest first.
    pub runs: Vec<RunSummary>,
    pub branch: Option<String>,
    /// test id → its points, oldest first.
    pub series: HashMap<i64, Vec<Point>>,
    /// The last message each test failed with, in the window.
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

    fn load_results(&mut self, store: &Store) -> rusqlite::Result<()> {
        if self.runs.is_empty() {
            return Ok(());
        }
        let index: HashMap<i64, usize> = self
            .runs
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id, i))
            .collect();
        let marks = vec!["?"; self.runs.len()].join(",");
        // Attempts come in order (the primary key's), so the last row of a test wins.
        let sql = format!(
            "SELECT run_id, test_id, tier_id, outcome, duration_us, message
             FROM results WHERE run_id IN ({marks}) ORDER BY run_id, test_id, attempt"
        );
        let mut statement = store.conn.prepare(&sql)?;
        let mut rows = statement.query(params_from_iter(self.runs.iter().map(|r| r.id)))?;
        // Rows come grouped by run: look the run's index up once per run, not per row.
        let mut current: (i64, usize) = (i64::MIN, 0);
        while let Some(row) = rows.next()? {
            let run_id: i64 = row.get(0)?;
            if run_id != current.0 {
                current = (run_id, index[&run_id]);
            }
            let test: i64 = row.get(1)?;
            let point = Point {
                run: current.1,
                outcome: stored_outcome(row, 3)?,
                seconds: row.get::<_, i64>(4)? as f64 / 1e6,
                retried_failure: false,
                tier: row.get(2)?,
            };
            if let Some(message) = row.get::<_, Option<String>>(5)? {
                self.messages.insert(test, message);
            }
            self.push(test, point);
        }
        // Rows came by run id, not start time: put each series in window order.
        for points in self.series.values_mut() {
            points.sort_by_key(|p| p.run);
        }
        Ok(())
    }

    /// Adds a point; a later attempt of the same test in the same run replaces the earlier
    /// one, remembering that the earlier one failed.
    fn push(&mut self, test: i64, mut point: Point) {
        let points = self.series.entry(test).or_default();
        match points.last_mut() {
            Some(last) if last.run == point.run => {
                point.retried_failure = last.retried_failure || last.verdict() == Some(false);
                *last = point;
            }
            _ => points.push(point),
        }
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
