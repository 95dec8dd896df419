//! The scheduler's history-based estimate: each file's median duration (the sum of its tests'
//! durations in a run) over its recent runs. Files history has not seen are estimated from
//! their size, scaled by the seconds-per-byte the seen files show, so both are one unit.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::discover::TestFile;
use crate::plan::{Estimate, FileSizeEstimate};

use super::store::Store;
use super::HistoryError;

/// How many of the latest runs a file's median is taken over.
const RUNS: i64 = 10;

pub struct HistoryEstimate {
    /// Absolute file path → median seconds.
    seconds: HashMap<PathBuf, f64>,
    /// Seconds per unit of [`FileSizeEstimate`], for files without history.
    per_size_unit: Option<f64>,
}

impl HistoryEstimate {
    /// Reads the latest runs; node ids are relative to `rootdir`, as pytest reports them.
    pub fn load(store: &Store, rootdir: &Path, files: &[TestFile]) -> Result<Self, HistoryError> {
        let per_run = file_durations(store).map_err(|e| store.error(e))?;
        let seconds: HashMap<PathBuf, f64> = per_run
            .into_iter()
            .map(|(file, mut samples)| (rootdir.join(file), median(&mut samples)))
            .collect();
        let ratios: Vec<f64> = files
            .iter()
            .filter_map(|f| {
                seconds
                    .get(&f.path)
                    .map(|s| s / FileSizeEstimate.estimate(f))
            })
            .collect();
        let per_size_unit = (!ratios.is_empty()).then(|| median(&mut ratios.clone()));
        Ok(HistoryEstimate {
            seconds,
            per_size_unit,
        })
    }

    /// How many of `files` have a history-based estimate.
    pub fn known(&self, files: &[TestFile]) -> usize {
        files
            .iter()
            .filter(|f| self.seconds.contains_key(&f.path))
            .count()
    }
}

impl Estimate for HistoryEstimate {
    fn estimate(&self, file: &TestFile) -> f64 {
        match (self.seconds.get(&file.path), self.per_size_unit) {
            (Some(&seconds), _) => seconds,
            (None, Some(ratio)) => FileSizeEstimate.estimate(file) * ratio,
            (None, None) => FileSizeEstimate.estimate(file),
        }
    }
}

/// file (the node id before `::`) → its total duration in each of the latest runs it ran in.
fn file_durations(store: &Store) -> rusqlite::Result<HashMap<String, Vec<f64>>> {
    let mut statement = store.conn.prepare(
        "SELECT r.run_id, t.name, r.duration_us FROM results r JOIN tests t ON t.id = r.test_id
         WHERE r.run_id IN (SELECT id FROM runs WHERE source = 'vigil'
                            ORDER BY started_ms DESC, id DESC LIMIT ?1)",
    )?;
    let mut totals: HashMap<(i64, String), f64> = HashMap::new();
    let rows = statement.query_map([RUNS], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, i64>(2)?,
        ))
    })?;
    for row in rows {
        let (run, test, micros) = row?;
        let file = test.split("::").next().unwrap_or(&test).to_string();
        *totals.entry((run, file)).or_default() += micros as f64 / 1e6;
    }
    let mut per_file: HashMap<String, Vec<f64>> = HashMap::new();
    for ((_, file), seconds) in totals {
        per_file.entry(file).or_default().push(seconds);
    }
    Ok(per_file)
}

/// How many of the latest runs a test's median is taken over: more than for files, because a
/// shard's run holds only its share of the tests.
const TEST_RUNS: i64 = 20;

/// Each test's median duration in seconds (first attempts) over the latest runs it ran in:
/// what `--partition duration` balances shards with.
pub fn test_medians(store: &Store) -> Result<HashMap<String, f64>, HistoryError> {
    let read = || -> rusqlite::Result<HashMap<String, Vec<f64>>> {
        // A test cannot take longer than its run: a longer duration is a clock a test froze
        // or moved (freezegun patches the timer pytest measures with), not a cost.
        let mut statement = store.conn.prepare(
            "SELECT t.name, r.duration_us FROM results r JOIN tests t ON t.id = r.test_id
             JOIN runs ON runs.id = r.run_id
             WHERE r.attempt = 1 AND r.duration_us <= runs.duration_ms * 1000
               AND r.run_id IN (SELECT id FROM runs WHERE source = 'vigil'
                                ORDER BY started_ms DESC, id DESC LIMIT ?1)",
        )?;
        let mut samples: HashMap<String, Vec<f64>> = HashMap::new();
        let rows = statement.query_map([TEST_RUNS], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })?;
        for row in rows {
            let (test, micros) = row?;
            samples.entry(test).or_default().push(micros as f64 / 1e6);
        }
        Ok(samples)
    };
    let samples = read().map_err(|e| store.error(e))?;
    Ok(samples
        .into_iter()
        .map(|(test, mut values)| (test, median(&mut values)))
        .collect())
}

pub(super) fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}
