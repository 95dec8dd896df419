//! Opening the history database (WAL, busy timeout, migrations) and writing a run into it in
//! one transaction, so a killed writer leaves the run wholly there or wholly absent.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::diagnose::Diagnosis;
use crate::events::Outcome;

use super::digest;
use super::outcome_codes::code;
use super::record::{ResultRecord, RunRecord};
use super::run_uid;
use super::schema;
use super::HistoryError;

/// How long a writer waits for another vigil's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Store {
    pub(super) conn: Connection,
    pub(super) path: PathBuf,
    /// Interned ids survive across runs written by this process: rows of `tests` and `tiers`
    /// are never deleted, so an id once committed stays valid.
    tests: Interner,
    tiers: Interner,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store, HistoryError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| HistoryError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let mut store = Store::new(
            Connection::open(path).map_err(|e| sql_error(path, e))?,
            path,
        );
        while_busy(|| store.configure()).map_err(|e| store.error(e))?;
        store.check_version()?;
        while_busy(|| schema::migrate(&mut store.conn)).map_err(|e| sql_error(path, e))?;
        Ok(store)
    }

    /// Opens an existing database without creating or migrating it (queries, reports).
    pub fn open_existing(path: &Path) -> Result<Store, HistoryError> {
        if !path.is_file() {
            return Err(HistoryError::Query(format!(
                "no history at {} yet: `vigil run` records one (or pass --history PATH)",
                path.display()
            )));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| sql_error(path, e))?;
        let store = Store::new(conn, path);
        while_busy(|| store.configure()).map_err(|e| store.error(e))?;
        store.check_version()?;
        if schema::version(&store.conn).map_err(|e| store.error(e))? < schema::VERSION {
            // An older vigil wrote it: reopen through the migrating path.
            return Store::open(path);
        }
        Ok(store)
    }

    fn new(conn: Connection, path: &Path) -> Store {
        Store {
            conn,
            path: path.to_path_buf(),
            tests: Interner::new("tests"),
            tiers: Interner::new("tiers"),
        }
    }

    fn configure(&self) -> rusqlite::Result<()> {
        self.conn.busy_timeout(BUSY_TIMEOUT)?;
        // WAL lets readers and one writer work at once; NORMAL sync is durable across a
        // process kill (the case that matters here), only an OS crash may lose the last run.
        // Switching to WAL needs the database to itself, so it is done only when needed.
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            self.conn.pragma_update(None, "journal_mode", "WAL")?;
        }
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        Ok(())
    }

    fn check_version(&self) -> Result<(), HistoryError> {
        let found = schema::version(&self.conn).map_err(|e| self.error(e))?;
        if found > schema::VERSION {
            return Err(HistoryError::TooNew {
                path: self.path.clone(),
                found,
                known: schema::VERSION,
            });
        }
        Ok(())
    }

    pub(super) fn error(&self, source: rusqlite::Error) -> HistoryError {
        sql_error(&self.path, source)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the run and all its results in one transaction; returns the run's id.
    pub fn record(&mut self, run: &RunRecord) -> Result<i64, HistoryError> {
        let written = write_run(&mut self.conn, run, &mut self.tests, &mut self.tiers);
        if written.is_err() {
            // The transaction rolled back: ids it interned are gone.
            self.tests.cache.clear();
            self.tiers.cache.clear();
        }
        written.map_err(|e| sql_error(&self.path, e))
    }

    /// Copies the WAL into the database file and empties it (`wal_checkpoint(TRUNCATE)`).
    pub fn checkpoint(&self) -> Result<(), HistoryError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(|e| self.error(e))
    }

    /// How many runs and results the database holds.
    pub fn counts(&self) -> Result<(i64, i64), HistoryError> {
        let count = |sql: &str| self.conn.query_row(sql, [], |r| r.get::<_, i64>(0));
        let runs = count("SELECT COUNT(*) FROM runs").map_err(|e| self.error(e))?;
        let results = count("SELECT COUNT(*) FROM results").map_err(|e| self.error(e))?;
        Ok((runs, results))
    }
}

/// Retries `step` while another process holds the database in a way SQLite reports as busy
/// without waiting on the busy timeout (switching a new file to WAL, recovering a WAL).
fn while_busy<T>(mut step: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match step() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            result => return result,
        }
    }
}

pub(super) fn sql_error(path: &Path, source: rusqlite::Error) -> HistoryError {
    HistoryError::Sqlite {
        path: path.to_path_buf(),
        source,
    }
}

fn write_run(
    conn: &mut Connection,
    run: &RunRecord,
    tests: &mut Interner,
    tiers: &mut Interner,
) -> rusqlite::Result<i64> {
    // IMMEDIATE takes the write lock up front, so a concurrent writer waits (busy timeout)
    // instead of failing halfway with SQLITE_BUSY on lock upgrade.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let run_id = insert_run(&tx, run)?;
    let rows = run.results.iter().map(ResultRow::from);
    insert_results(&tx, run_id, rows, tests, tiers)?;
    upsert_fingerprints(&tx, run_id, &run.results)?;
    tx.commit()?;
    Ok(run_id)
}

/// One result as it is written: a recorded result, or an imported one, whose fingerprint is
/// kept as it came whether or not its verdict could be read.
pub(super) struct ResultRow<'a> {
    pub test: &'a str,
    pub tier: Option<&'a str>,
    pub outcome: Outcome,
    pub duration_us: i64,
    pub attempt: u32,
    pub message: Option<&'a str>,
    pub fingerprint: Option<&'a str>,
}

impl<'a> From<&'a ResultRecord> for ResultRow<'a> {
    fn from(result: &'a ResultRecord) -> ResultRow<'a> {
        ResultRow {
            test: &result.test,
            tier: result.tier.as_deref(),
            outcome: result.outcome,
            duration_us: result.duration.as_micros() as i64,
            attempt: result.attempt,
            message: result.message.as_deref(),
            fingerprint: result.fingerprint(),
        }
    }
}

/// Writes a run's result rows and its digest.
pub(super) fn insert_results<'a>(
    tx: &rusqlite::Transaction,
    run_id: i64,
    results: impl Iterator<Item = ResultRow<'a>>,
    tests: &mut Interner,
    tiers: &mut Interner,
) -> rusqlite::Result<()> {
    let mut rows: Vec<digest::Row> = Vec::with_capacity(results.size_hint().0);
    let mut insert = tx.prepare_cached(
        "INSERT OR REPLACE INTO results
         (run_id, test_id, attempt, tier_id, outcome, duration_us, message, fingerprint)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for result in results {
        let test_id = tests.id(tx, result.test)?;
        let tier_id = match result.tier {
            Some(tier) => Some(tiers.id(tx, tier)?),
            None => None,
        };
        let row = (
            test_id,
            i64::from(result.attempt),
            tier_id,
            code(result.outcome),
            result.duration_us,
        );
        insert.execute(params![
            run_id,
            row.0,
            row.1,
            row.2,
            row.3,
            row.4,
            result.message,
            result.fingerprint,
        ])?;
        rows.push(row);
    }
    tx.prepare_cached("INSERT INTO run_digests (run_id, tests) VALUES (?1, ?2)")?
        .execute(params![run_id, digest::of_rows(&mut rows, schema::failed)])?;
    Ok(())
}

/// One `fingerprints` row per fingerprint the run saw, holding the run's last verdict with it:
/// the latest run's detail replaces older ones, and a fingerprint that many tests share is
/// serialized and written once.
fn upsert_fingerprints(
    tx: &rusqlite::Transaction,
    run_id: i64,
    results: &[ResultRecord],
) -> rusqlite::Result<()> {
    let mut latest: HashMap<&str, &Diagnosis> = HashMap::new();
    for diagnosis in results.iter().filter_map(|r| r.diagnosis.as_deref()) {
        latest.insert(&diagnosis.fingerprint, diagnosis);
    }
    let mut upsert = tx.prepare_cached(
        "INSERT INTO fingerprints
            (fingerprint, category, nature, exception, normalized, detail, updated_run)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (fingerprint) DO UPDATE SET
            category = excluded.category, nature = excluded.nature,
            exception = excluded.exception, normalized = excluded.normalized,
            detail = excluded.detail, updated_run = excluded.updated_run",
    )?;
    for (fingerprint, diagnosis) in latest {
        let detail = serde_json::to_string(diagnosis)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        upsert.execute(params![
            fingerprint,
            diagnosis.category.name(),
            diagnosis.nature.name(),
            diagnosis.exception,
            diagnosis.normalized,
            detail,
            run_id,
        ])?;
    }
    Ok(())
}

/// Writes the run's row (a new uid when it has none); returns its id.
pub(super) fn insert_run(tx: &rusqlite::Transaction, run: &RunRecord) -> rusqlite::Result<i64> {
    let n = |o: Outcome| run.tally.get(o) as i64;
    let uid = match run.uid.as_str() {
        "" => run_uid::new_uid(),
        uid => uid.to_string(),
    };
    tx.execute(
        "INSERT INTO runs (started_ms, ended_ms, commit_sha, branch, dirty, profile, host,
            selection, tiers, total, passed, failed, errors, skipped, xfailed, xpassed, crashed,
            timed_out, duration_ms, exit_code, interrupted, source, series, uid, partition,
            shards)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
            ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)",
        params![
            run.started_ms,
            run.ended_ms,
            run.git.commit,
            run.git.branch,
            run.git.dirty,
            run.profile,
            run.host,
            run.selection,
            run.tiers,
            run.tally.total() as i64,
            n(Outcome::Passed),
            n(Outcome::Failed),
            n(Outcome::Error),
            n(Outcome::Skipped),
            n(Outcome::XFailed),
            n(Outcome::XPassed),
            n(Outcome::Crashed),
            n(Outcome::TimedOut),
            run.duration.as_millis() as i64,
            run.exit_code,
            run.interrupted,
            run.source,
            run.series,
            uid,
            run.partition,
            run.shards,
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

/// Name → id for an interned table (`tests`, `tiers`), cached for one transaction.
pub(super) struct Interner {
    table: &'static str,
    cache: HashMap<String, i64>,
}

impl Interner {
    pub(super) fn new(table: &'static str) -> Interner {
        Interner {
            table,
            cache: HashMap::new(),
        }
    }

    pub(super) fn id(&mut self, tx: &rusqlite::Transaction, name: &str) -> rusqlite::Result<i64> {
        if let Some(&id) = self.cache.get(name) {
            return Ok(id);
        }
        let select = format!("SELECT id FROM {} WHERE name = ?1", self.table);
        let found = tx
            .prepare_cached(&select)?
            .query_row([name], |r| r.get(0))
            .optional()?;
        let id = match found {
            Some(id) => id,
            None => {
                let insert = format!("INSERT INTO {} (name) VALUES (?1)", self.table);
                tx.prepare_cached(&insert)?.execute([name])?;
                tx.last_insert_rowid()
            }
        };
        self.cache.insert(name.to_string(), id);
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{ResultRecord, Retention};

    fn result(test: &str, outcome: Outcome) -> ResultRecord {
        ResultRecord {
            test: test.to_string(),
            tier: Some("unit".to_string()),
            outcome,
            duration: Duration::from_millis(5),
            attempt: 1,
            message: outcome.is_failure().then(|| "boom".to_string()),
            diagnosis: None,
        }
    }

    fn run(started_ms: i64, results: Vec<ResultRecord>) -> RunRecord {
        let mut run = RunRecord {
            started_ms,
            ended_ms: started_ms + 1000,
            source: "vigil".into(),
            results,
            ..RunRecord::default()
        };
        run.tally_results();
        run
    }

    #[test]
    fn a_new_database_is_migrated_and_runs_round_trip() -> Result<(), HistoryError> {
        let dir = tempfile::tempdir().map_err(|e| HistoryError::Query(e.to_string()))?;
        let path = dir.path().join("nested/dir/history.db");
        let mut store = Store::open(&path)?;
        assert_eq!(schema::version(&store.conn).ok(), Some(schema::VERSION));
        let results = vec![
            result("t.py::a", Outcome::Passed),
            result("t.py::b", Outcome::Failed),
            // A repeated id replaces the earlier row instead of failing the whole run.
            result("t.py::b", Outcome::Failed),
        ];
        let id = store.record(&run(1_000, results))?;
        drop(store);
        let store = Store::open_existing(&path)?;
        assert_eq!(store.counts()?, (1, 2));
        let summary = store.run(id)?.expect("the run is there");
        // The tally counts each test once, by its last attempt.
        assert_eq!((summary.total, summary.passed, summary.failed), (2, 1, 1));
        let timeline = store.test_timeline("t.py::b", 10)?;
        assert_eq!(timeline[0].message.as_deref(), Some("boom"));
        Ok(())
    }

    #[test]
    fn diagnoses_fill_result_fingerprints_and_one_verdict_row_each() -> Result<(), HistoryError> {
        use crate::history::fingerprints::tests::{diagnosis, failing};
        let dir = tempfile::tempdir().map_err(|e| HistoryError::Query(e.to_string()))?;
        let mut store = Store::open(&dir.path().join("h.db"))?;
        let (f, g) = ("00000000000000f1", "00000000000000f2");
        let first = store.record(&run(
            1_000,
            vec![
                failing("t.py::a", f, 1),
                failing("t.py::b", f, 1),
                failing("t.py::c", g, 1),
                result("t.py::d", Outcome::Passed),
            ],
        ))?;
        let fingerprints: Vec<(String, Option<String>)> = store
            .conn
            .prepare("SELECT t.name, r.fingerprint FROM results r JOIN tests t ON t.id = r.test_id ORDER BY t.name")
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .map_err(|e| store.error(e))?;
        let expected = [
            ("t.py::a", Some(f)),
            ("t.py::b", Some(f)),
            ("t.py::c", Some(g)),
            ("t.py::d", None),
        ];
        let expected: Vec<(String, Option<String>)> = expected
            .iter()
            .map(|(t, f)| (t.to_string(), f.map(String::from)))
            .collect();
        assert_eq!(fingerprints, expected);
        // One row per fingerprint; the run's last result with it gives the verdict.
        assert_eq!(
            verdict_row(&store, f)?,
            (
                "network".to_string(),
                "transient".to_string(),
                Some("ConnectionRefusedError".to_string()),
                "[Errno <n>] Connection refused".to_string(),
                diagnosis(f, "t.py::b refused (attempt 1)"),
                first,
            )
        );
        let rows: i64 = store
            .conn
            .query_row("SELECT COUNT(*) FROM fingerprints", [], |r| r.get(0))
            .map_err(|e| store.error(e))?;
        assert_eq!(rows, 2);
        // A later run's verdict replaces the stored one.
        let second = store.record(&run(2_000, vec![failing("t.py::c", f, 2)]))?;
        let (.., detail, updated) = verdict_row(&store, f)?;
        assert_eq!(
            (detail.message.as_str(), updated),
            ("t.py::c refused (attempt 2)", second)
        );
        let timeline = store.test_timeline("t.py::c", 10)?;
        assert_eq!(timeline[0].fingerprint.as_deref(), Some(f));
        assert_eq!(timeline[1].fingerprint.as_deref(), Some(g));
        Ok(())
    }

    type VerdictRow = (String, String, Option<String>, String, Diagnosis, i64);

    /// The `fingerprints` row of `fingerprint`, its detail parsed.
    fn verdict_row(store: &Store, fingerprint: &str) -> Result<VerdictRow, HistoryError> {
        let (category, nature, exception, normalized, detail, updated): (
            String,
            String,
            Option<String>,
            String,
            String,
            i64,
        ) = store
            .conn
            .query_row(
                "SELECT category, nature, exception, normalized, detail, updated_run
                 FROM fingerprints WHERE fingerprint = ?1",
                [fingerprint],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
            .map_err(|e| store.error(e))?;
        let detail =
            serde_json::from_str(&detail).map_err(|e| HistoryError::Query(e.to_string()))?;
        Ok((category, nature, exception, normalized, detail, updated))
    }

    #[test]
    fn a_database_from_a_newer_vigil_is_refused_untouched() -> Result<(), HistoryError> {
        let dir = tempfile::tempdir().map_err(|e| HistoryError::Query(e.to_string()))?;
        let path = dir.path().join("history.db");
        let conn = Connection::open(&path).map_err(|e| sql_error(&path, e))?;
        conn.pragma_update(None, "user_version", 99)
            .map_err(|e| sql_error(&path, e))?;
        drop(conn);
        let error = Store::open(&path).err().expect("refused");
        assert!(
            error.to_string().contains("schema version 99, newer"),
            "{error}"
        );
        Ok(())
    }

    #[test]
    fn retention_drops_old_and_surplus_runs_with_their_results() -> Result<(), HistoryError> {
        let dir = tempfile::tempdir().map_err(|e| HistoryError::Query(e.to_string()))?;
        let mut store = Store::open(&dir.path().join("h.db"))?;
        let now = super::super::record::now_ms();
        let day = 86_400_000;
        for started in [now - 10 * day, now - 3 * day, now - 2 * day, now - day] {
            store.record(&run(started, vec![result("t.py::a", Outcome::Passed)]))?;
        }
        let by_age = Retention {
            keep_runs: None,
            keep_days: Some(5),
        };
        assert_eq!(by_age.apply(&mut store)?, 1);
        let by_count = Retention {
            keep_runs: Some(2),
            keep_days: None,
        };
        assert_eq!(by_count.apply(&mut store)?, 1);
        assert_eq!(store.counts()?, (2, 2));
        let kept: Vec<i64> = store
            .recent_runs(10)?
            .iter()
            .map(|r| r.started_ms)
            .collect();
        assert_eq!(kept, [now - day, now - 2 * day]);
        Ok(())
    }
}
