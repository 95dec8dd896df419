//! The per-result query the HTML report needs beyond the trends: one run's final results with
//! names, tiers and messages.

use rusqlite::{params, Row};
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
            diagnosis: None,
        }
    }

    #[test]
    fn final_attempts_and_duration_series() {
        use crate::history::{TrendOptions, Trends};
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
        let trends = Trends::compute(&store, &TrendOptions::default()).unwrap();
        let a = trends.slowest_tests.iter().find(|s| s.name == "a").unwrap();
        assert_eq!(a.series, [(ids[0], 0.101), (ids[1], 0.201)]);
    }
}
