//! Writing runs read from elsewhere (an export file, another database) into the history, all
//! of one input in one transaction: runs whose uid is already there are skipped, a
//! fingerprint's verdict is the one from the most recent run, fix notes are not duplicated.

use std::path::PathBuf;

use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};
use serde::Serialize;

use super::exchange_format::{ExportedFix, ExportedRun, Verdict};
use super::store::{insert_results, insert_run, sql_error, Interner, ResultRow, Store};
use super::HistoryError;

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Runs written.
    pub imported: usize,
    /// Runs skipped because the history already has them (same uid).
    pub already_present: usize,
    /// Runs the caller's filter left out (`import_database`'s `keep`).
    pub left_out: usize,
}

/// One input's transaction on the destination history.
pub(super) struct RunWriter<'s> {
    tx: Transaction<'s>,
    path: PathBuf,
    // Fresh interners: ids this transaction interns vanish with it if it rolls back, and the
    // store's own caches hold only committed ids.
    tests: Interner,
    tiers: Interner,
    pub summary: ImportSummary,
}

impl RunWriter<'_> {
    /// Takes the write lock up front (a concurrent `vigil run` waits, as for a recorded run).
    pub fn begin(store: &mut Store) -> Result<RunWriter<'_>, HistoryError> {
        let path = store.path.clone();
        let tx = store
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sql_error(&path, e))?;
        Ok(RunWriter {
            tx,
            path,
            tests: Interner::new("tests"),
            tiers: Interner::new("tiers"),
            summary: ImportSummary::default(),
        })
    }

    /// Whether the history has a run with this uid.
    pub fn has(&self, uid: &str) -> Result<bool, HistoryError> {
        self.local_id(uid)
            .map(|id| id.is_some())
            .map_err(|e| self.error(e))
    }

    /// Writes a run the history does not have yet, with its results, verdicts and fix notes.
    pub fn write(&mut self, run: &ExportedRun) -> Result<(), HistoryError> {
        self.write_sql(run).map_err(|e| sql_error(&self.path, e))?;
        self.summary.imported += 1;
        Ok(())
    }

    /// Adds a fix note unless the very same note is there.
    pub fn merge_fix(&self, fix: &ExportedFix) -> Result<(), HistoryError> {
        self.insert_fix(fix).map_err(|e| self.error(e))
    }

    /// Commits everything written; dropping the writer instead writes nothing.
    pub fn commit(self) -> Result<ImportSummary, HistoryError> {
        let summary = self.summary;
        let path = self.path;
        self.tx.commit().map_err(|e| sql_error(&path, e))?;
        Ok(summary)
    }

    fn write_sql(&mut self, run: &ExportedRun) -> rusqlite::Result<()> {
        let run_id = insert_run(&self.tx, &run.row_record())?;
        let rows = run.results.iter().map(|r| ResultRow {
            test: &r.test,
            tier: r.tier.as_deref(),
            outcome: r.outcome,
            duration_us: r.duration_us,
            attempt: r.attempt,
            message: r.message.as_deref(),
            fingerprint: r.fingerprint.as_deref(),
        });
        insert_results(&self.tx, run_id, rows, &mut self.tests, &mut self.tiers)?;
        for verdict in &run.fingerprints {
            self.merge_verdict(verdict, run_id, run.started_ms)?;
        }
        for fix in &run.fixes {
            self.insert_fix(fix)?;
        }
        Ok(())
    }

    /// Keeps the verdict of the most recent run: the incoming one replaces the stored one
    /// when the run it came from started later than the stored one's run.
    fn merge_verdict(
        &self,
        verdict: &Verdict,
        run_id: i64,
        started_ms: i64,
    ) -> rusqlite::Result<()> {
        let incoming_ms = verdict.from_started_ms.unwrap_or(started_ms);
        let stored: Option<Option<i64>> = self
            .tx
            .prepare_cached(
                "SELECT u.started_ms FROM fingerprints f LEFT JOIN runs u ON u.id = f.updated_run
                 WHERE f.fingerprint = ?1",
            )?
            .query_row([&verdict.fingerprint], |r| r.get(0))
            .optional()?;
        if matches!(stored, Some(Some(stored_ms)) if stored_ms >= incoming_ms) {
            return Ok(());
        }
        // The verdict's own run when the history has it; else the run that brought it (whose
        // time is earlier or equal, so a later import errs towards replacing it).
        let from = match &verdict.from_uid {
            Some(uid) => self.local_id(uid)?,
            None => None,
        };
        self.tx
            .prepare_cached(
                "INSERT INTO fingerprints
                    (fingerprint, category, nature, exception, normalized, detail, updated_run)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (fingerprint) DO UPDATE SET
                    category = excluded.category, nature = excluded.nature,
                    exception = excluded.exception, normalized = excluded.normalized,
                    detail = excluded.detail, updated_run = excluded.updated_run",
            )?
            .execute(params![
                verdict.fingerprint,
                verdict.category,
                verdict.nature,
                verdict.exception,
                verdict.normalized,
                verdict.detail.to_string(),
                from.unwrap_or(run_id),
            ])?;
        Ok(())
    }

    fn insert_fix(&self, fix: &ExportedFix) -> rusqlite::Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO fixes (fingerprint, recorded_ms, commit_sha, note, outcome)
                 SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT EXISTS (SELECT 1 FROM fixes
                     WHERE fingerprint = ?1 AND recorded_ms = ?2 AND commit_sha IS ?3
                       AND note = ?4 AND outcome IS ?5)",
            )?
            .execute(params![
                fix.fingerprint,
                fix.recorded_ms,
                fix.commit,
                fix.note,
                fix.outcome
            ])?;
        Ok(())
    }

    fn local_id(&self, uid: &str) -> rusqlite::Result<Option<i64>> {
        self.tx
            .prepare_cached("SELECT id FROM runs WHERE uid = ?1")?
            .query_row([uid], |r| r.get(0))
            .optional()
    }

    fn error(&self, source: rusqlite::Error) -> HistoryError {
        sql_error(&self.path, source)
    }
}
