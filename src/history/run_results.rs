//! Per-result queries the HTML report needs beyond the trends: one run's final results with
//! names, tiers and messages, and chosen tests' durations across a window of runs.

use std::collections::BTreeMap;

use rusqlite::{params, params_from_iter, Row};
use serde::Serialize;

use crate::events::Outcome;

use super::store::Store;
use super::timeline::stored_outcome;
use super::HistoryError;

/// One test's final result (its last attempt) in one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunResult {
    pub test: String,
    pub tier: Option<String>,
    pub outcome: Outcome,
    pub duration_us: i64,
    /// How many attempts the test took (1 when it was not retried).
    pub attempts: i64,
    pub message: Option<String>,
    pub fingerprint: Option<String>,
}

impl Store {
    /// Every test's final result in run `run_id`, sorted by test id.
    pub fn run_results(&self, run_id: i64) -> Result<Vec<RunResult>, HistoryError> {
        // The last attempt is the verdict; earlier attempts were retried away.
        let sql = "SELECT t.name, i.name, r.outcome, r.duration_us, r.attempt, r.message,
                          r.fingerprint
                   FROM results r
                   JOIN tests t ON t.id = r.test_id
                   LEFT JOIN tiers i ON i.id = r.tier_id
                   WHERE r.run_id = ?1 AND r.attempt =
                       (SELECT MAX(attempt) FROM results
                        WHERE run_id = r.run_id AND test_id = r.test_id)
                   ORDER BY t.name";
        let mut statement = self.conn.prepare(sql).map_err(|e| self.error(e))?;
        let rows = statement
            .query_map(params![run_id], run_result)
            .map_err(|e| self.error(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.error(e))
    }

    /// For each named test, its final-attempt duration in seconds in each of `runs` it ran in,
    /// as (run id, seconds) in the order of `runs`. Tests without results are left out.
    pub fn duration_series(
        &self,
        tests: &[String],
        runs: &[i64],
    ) -> Result<BTreeMap<String, Vec<(i64, f64)>>, HistoryError> {
        let mut found: BTreeMap<String, BTreeMap<i64, (i64, f64)>> = BTreeMap::new();
        if tests.is_empty() || runs.is_empty() {
            return Ok(BTreeMap::new());
        }
        let sql = format!(
            "SELECT t.name, r.run_id, r.attempt, r.duration_us
             FROM results r JOIN tests t ON t.id = r.test_id
             WHERE r.run_id IN ({}) AND t.name IN ({})",
            marks(runs.len()),
            marks(tests.len())
        );
        let values: Vec<rusqlite::types::Value> = runs
            .iter()
            .map(|&r| r.into())
            .chain(tests.iter().map(|t| t.clone().into()))
            .collect();
        let mut statement = self.conn.prepare(&sql).map_err(|e| self.error(e))?;
        let mut rows = statement
            .query(params_from_iter(values))
            .map_err(|e| self.error(e))?;
        while let Some(row) = rows.next().map_err(|e| self.error(e))? {
            let read = |i: usize| row.get::<_, i64>(i).map_err(|e| self.error(e));
            let name: String = row.get(0).map_err(|e| self.error(e))?;
            let (run, attempt, micros) = (read(1)?, read(2)?, read(3)?);
            let slot = found
                .entry(name)
                .or_default()
                .entry(run)
                .or_insert((0, 0.0));
            if attempt >= slot.0 {
                *slot = (attempt, micros as f64 / 1e6);
            }
        }
        Ok(found
            .into_iter()
            .map(|(name, per_run)| {
                let ordered = runs
                    .iter()
                    .filter_map(|r| per_run.get(r).map(|&(_, s)| (*r, s)))
                    .collect();
                (name, ordered)
            })
            .collect())
    }
}

fn marks(n: usize) -> String {
    vec!["?"; n].join(",")
}

fn run_result(row: &Row) -> rusqlite::Result<RunResult> {
    Ok(RunResult {
        test: row.get(0)?,
        tier: row.get(1)?,
        outcome: stored_outcome(row, 2)?,
        duration_us: row.get(3)?,
        attempts: row.get(4)?,
        message: row.get(5)?,
        fingerprint: row.get(6)?,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::history::{ResultRecord, RunRecord};

    fn result(test: &str, outcome: Outcome, ms: u64, attempt: u32) -> ResultRecord {
        ResultRecord {
            test: test.into(),
            tier: Some("unit".into()),
            outcome,
            duration: Duration::from_millis(ms),
            attempt,
            message: outcome.is_failure().then(|| format!("{test} broke")),
            fingerprint: None,
        }
    }

    #[test]
    fn final_attempts_and_duration_series() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("h.db")).unwrap();
        let mut ids = vec![];
        for (i, ms) in [100, 200].into_iter().enumerate() {
            let run = RunRecord {
                started_ms: i as i64,
                results: vec![
                    result("a", Outcome::Failed, ms, 1),
                    result("a", Outcome::Passed, ms + 1, 2),
                    result("b", Outcome::Failed, 5, 1),
                ],
                ..RunRecord::default()
            };
            ids.push(store.record(&run).unwrap());
        }
        let results = store.run_results(ids[1]).unwrap();
        let summary: Vec<_> = results
            .iter()
            .map(|r| (r.test.as_str(), r.outcome, r.attempts, r.tier.as_deref()))
            .collect();
        assert_eq!(
            summary,
            [
                ("a", Outcome::Passed, 2, Some("unit")),
                ("b", Outcome::Failed, 1, Some("unit"))
            ]
        );
        assert_eq!(results[1].message.as_deref(), Some("b broke"));
        let series = store.duration_series(&["a".into()], &ids).unwrap();
        assert_eq!(series["a"], [(ids[0], 0.101), (ids[1], 0.201)]);
    }
}
