//! Retention: `[history] keep_runs` / `keep_days`, applied after each recorded run and by
//! `vigil history prune`. A run and its results go in one transaction, with the stored
//! verdicts of fingerprints no remaining result carries.

use rusqlite::{params, Connection, TransactionBehavior};
use serde::Deserialize;

use super::record::now_ms;
use super::store::Store;
use super::HistoryError;

/// How much history to keep; `None` keeps everything on that axis.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct Retention {
    pub keep_runs: Option<u64>,
    pub keep_days: Option<u64>,
}

impl Retention {
    /// Deletes runs beyond the limits; returns how many went.
    pub fn apply(&self, store: &mut Store) -> Result<usize, HistoryError> {
        if self.keep_runs.is_none() && self.keep_days.is_none() {
            return Ok(0);
        }
        let cutoff_ms = self
            .keep_days
            .map_or(i64::MIN, |days| now_ms() - days as i64 * 86_400_000);
        let keep = self
            .keep_runs
            .map_or(i64::MAX, |n| n.min(i64::MAX as u64) as i64);
        delete_beyond(&mut store.conn, cutoff_ms, keep).map_err(|e| store.error(e))
    }
}

/// Deletes runs started before `cutoff_ms` or older than the newest `keep`, with their results.
fn delete_beyond(conn: &mut Connection, cutoff_ms: i64, keep: i64) -> rusqlite::Result<usize> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "CREATE TEMP TABLE IF NOT EXISTS doomed (id INTEGER PRIMARY KEY)",
        [],
    )?;
    tx.execute("DELETE FROM doomed", [])?;
    tx.execute(
        "INSERT INTO doomed SELECT id FROM runs WHERE started_ms < ?1
         OR id NOT IN (SELECT id FROM runs ORDER BY started_ms DESC, id DESC LIMIT ?2)",
        params![cutoff_ms, keep],
    )?;
    for table in ["results", "run_digests"] {
        let delete = format!("DELETE FROM {table} WHERE run_id IN (SELECT id FROM doomed)");
        tx.execute(&delete, [])?;
    }
    let gone = tx.execute("DELETE FROM runs WHERE id IN (SELECT id FROM doomed)", [])?;
    // A verdict no remaining result carries goes too; fix notes stay (the healer's memory
    // outlives the runs that needed the fix).
    if gone > 0 {
        tx.execute(
            "DELETE FROM fingerprints WHERE fingerprint NOT IN
             (SELECT fingerprint FROM results WHERE fingerprint IS NOT NULL)",
            [],
        )?;
    }
    tx.commit()?;
    Ok(gone)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::fingerprints::tests::{failing, run};

    #[test]
    fn pruning_drops_verdicts_no_result_carries_and_keeps_fix_notes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("h.db")).expect("store");
        store
            .record(&run(
                1_000,
                "c1",
                false,
                vec![failing("t::a", "00000000000000aa", 1)],
            ))
            .expect("run 1");
        store
            .record(&run(
                2_000,
                "c2",
                false,
                vec![failing("t::b", "00000000000000bb", 1)],
            ))
            .expect("run 2");
        store
            .record_fix("00000000000000aa", "restart the db", None)
            .expect("fix");
        let retention = Retention {
            keep_runs: Some(1),
            keep_days: None,
        };
        assert_eq!(retention.apply(&mut store).expect("prune"), 1);
        let count =
            |sql: &str| -> i64 { store.conn.query_row(sql, [], |r| r.get(0)).expect("count") };
        assert_eq!(
            count("SELECT COUNT(*) FROM fingerprints WHERE fingerprint = '00000000000000aa'"),
            0
        );
        assert_eq!(
            count("SELECT COUNT(*) FROM fingerprints WHERE fingerprint = '00000000000000bb'"),
            1
        );
        assert_eq!(count("SELECT COUNT(*) FROM fixes"), 1);
    }
}
