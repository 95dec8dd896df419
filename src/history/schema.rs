//! The database schema as a list of migrations; `PRAGMA user_version` says how many have been
//! applied. A migration is appended, never edited, so every old database can be brought up.

use rusqlite::{Connection, Transaction};

use super::digest;
use super::outcome_codes;
use super::run_uid;

/// Each step moves the schema one version up. Results are a `WITHOUT ROWID` table clustered by
/// run so a run's rows are appended together and a window of runs is one range scan; test
/// names and tiers are interned so a result row stays a few small integers (the bench holds it
/// to ≤ 40 bytes a result).
const MIGRATIONS: &[Migration] = &[
    // 1: runs, interned tests and tiers, results.
    Migration::Sql(
        "CREATE TABLE runs (
        id           INTEGER PRIMARY KEY,
        started_ms   INTEGER NOT NULL,
        ended_ms     INTEGER NOT NULL,
        commit_sha   TEXT,
        branch       TEXT,
        dirty        INTEGER,
        profile      TEXT,
        host         TEXT,
        selection    TEXT,
        tiers        TEXT,
        total        INTEGER NOT NULL,
        passed       INTEGER NOT NULL,
        failed       INTEGER NOT NULL,
        errors       INTEGER NOT NULL,
        skipped      INTEGER NOT NULL,
        xfailed      INTEGER NOT NULL,
        xpassed      INTEGER NOT NULL,
        crashed      INTEGER NOT NULL,
        timed_out    INTEGER NOT NULL,
        duration_ms  INTEGER NOT NULL,
        exit_code    INTEGER NOT NULL,
        interrupted  INTEGER NOT NULL,
        source       TEXT NOT NULL
    );
    CREATE INDEX runs_by_time ON runs(started_ms, id);
    CREATE TABLE tests (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
    CREATE TABLE tiers (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
    CREATE TABLE results (
        run_id       INTEGER NOT NULL,
        test_id      INTEGER NOT NULL,
        attempt      INTEGER NOT NULL,
        tier_id      INTEGER,
        outcome      INTEGER NOT NULL,
        duration_us  INTEGER NOT NULL,
        message      TEXT,
        fingerprint  TEXT,
        PRIMARY KEY (run_id, test_id, attempt)
    ) WITHOUT ROWID;",
    ),
    // 2: one digest blob per run (see digest.rs), filled in for the runs already there.
    Migration::Sql("CREATE TABLE run_digests (run_id INTEGER PRIMARY KEY, tests BLOB NOT NULL);"),
    Migration::Rust(backfill_digests),
    // 3 (user_version 4): what diagnosis leaves. A result row keeps only its fingerprint; the
    // verdict lives once per fingerprint (the latest one recorded). The results index is
    // partial because nearly every row is a pass with no fingerprint: indexing only the
    // failures keeps the per-result size where it was. `fixes` holds healers' notes. Runs by
    // commit serve the flakiness evidence "a later clean run at the same commit".
    Migration::Sql(
        "CREATE TABLE fingerprints (
        fingerprint  TEXT PRIMARY KEY,
        category     TEXT NOT NULL,
        nature       TEXT NOT NULL,
        exception    TEXT,
        normalized   TEXT NOT NULL,
        detail       TEXT NOT NULL,
        updated_run  INTEGER
    );
    CREATE INDEX results_by_fingerprint ON results(fingerprint) WHERE fingerprint IS NOT NULL;
    CREATE TABLE fixes (
        id           INTEGER PRIMARY KEY,
        fingerprint  TEXT NOT NULL,
        recorded_ms  INTEGER NOT NULL,
        commit_sha   TEXT,
        note         TEXT NOT NULL
    );
    CREATE INDEX fixes_by_fingerprint ON fixes(fingerprint);
    CREATE INDEX runs_by_commit ON runs(commit_sha) WHERE commit_sha IS NOT NULL;",
    ),
    // 4 (user_version 5): `vigil verify` records every attempt at a fix with its outcome
    // (`kept`, `rolled_back`, `refused`); notes written by hand have none. Only kept fixes
    // and hand-written notes are recommended again.
    Migration::Sql("ALTER TABLE fixes ADD COLUMN outcome TEXT;"),
    // 5 (user_version 6): the runs of one `vigil run --repeat` / `--until-fail` share a series
    // id. They ran the same code, so flakiness counts them as evidence even in a dirty tree.
    // Older runs, and runs outside a series, have none.
    Migration::Sql("ALTER TABLE runs ADD COLUMN series TEXT;"),
    // 6 (user_version 7): what sharded CI runs and history exchange need. `uid` names a run
    // across copies of the database (an import skips the runs it already has); runs from
    // before get one derived from their row, so two copies of one database agree on it.
    // `partition` is a shard's own run ("duration:2/4"); `shards` how many shard runs a
    // merged run combines.
    Migration::Rust(add_run_identity),
];

/// A step: plain SQL, or Rust for what SQL cannot say (encoding blobs from existing rows).
enum Migration {
    Sql(&'static str),
    Rust(fn(&Transaction) -> rusqlite::Result<()>),
}

/// The schema version this vigil writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// The version a database is at (0 for a new file).
pub fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
}

/// Applies the migrations the database has not seen, each in its own transaction with its
/// version bump, so a crash between two leaves a database at a whole version.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    // The usual case, an up-to-date database, takes no write lock: every `vigil run` opens
    // the database, and several may do so at once.
    if version(conn)? >= VERSION {
        return Ok(());
    }
    loop {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Read inside the write lock: another vigil may have migrated meanwhile.
        let current = version(&tx)?;
        let Some(step) = MIGRATIONS.get(current as usize) else {
            return Ok(());
        };
        match step {
            Migration::Sql(sql) => tx.execute_batch(sql)?,
            Migration::Rust(apply) => apply(&tx)?,
        }
        tx.pragma_update(None, "user_version", current + 1)?;
        tx.commit()?;
    }
}

/// Writes the digest of every run that has none, from its result rows.
fn backfill_digests(tx: &Transaction) -> rusqlite::Result<()> {
    let mut rows = tx.prepare(
        "SELECT run_id, test_id, attempt, tier_id, outcome, duration_us FROM results
         WHERE run_id NOT IN (SELECT run_id FROM run_digests) ORDER BY run_id",
    )?;
    let mut insert = tx.prepare("INSERT INTO run_digests (run_id, tests) VALUES (?1, ?2)")?;
    let mut current: Option<(i64, Vec<digest::Row>)> = None;
    let mut flush = |run: Option<(i64, Vec<digest::Row>)>| -> rusqlite::Result<()> {
        if let Some((run_id, mut results)) = run {
            insert.execute(rusqlite::params![
                run_id,
                digest::of_rows(&mut results, failed)
            ])?;
        }
        Ok(())
    };
    let mut query = rows.query([])?;
    while let Some(row) = query.next()? {
        let run_id: i64 = row.get(0)?;
        if current.as_ref().map(|(id, _)| *id) != Some(run_id) {
            flush(current.take())?;
            current = Some((run_id, Vec::new()));
        }
        if let Some((_, results)) = current.as_mut() {
            results.push((
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
            ));
        }
    }
    flush(current)
}

/// Adds `uid`, `partition` and `shards` to runs and gives every existing run its uid.
fn add_run_identity(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        "ALTER TABLE runs ADD COLUMN uid TEXT;
         ALTER TABLE runs ADD COLUMN partition TEXT;
         ALTER TABLE runs ADD COLUMN shards INTEGER;",
    )?;
    let mut rows =
        tx.prepare("SELECT id, started_ms, ended_ms, host, commit_sha, source, total FROM runs")?;
    let mut update = tx.prepare("UPDATE runs SET uid = ?2 WHERE id = ?1")?;
    let mut query = rows.query([])?;
    while let Some(row) = query.next()? {
        let id: i64 = row.get(0)?;
        let host: Option<String> = row.get(3)?;
        let commit: Option<String> = row.get(4)?;
        let source: String = row.get(5)?;
        let uid = run_uid::content_uid(
            id,
            row.get(1)?,
            row.get(2)?,
            host.as_deref(),
            commit.as_deref(),
            &source,
            row.get(6)?,
        );
        update.execute(rusqlite::params![id, uid])?;
    }
    tx.execute_batch("CREATE UNIQUE INDEX runs_by_uid ON runs(uid);")
}

/// Whether a stored outcome code is a failure.
pub fn failed(code: i64) -> bool {
    outcome_codes::outcome(code).is_some_and(|o| o.is_failure())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::history::{Store, TrendOptions, Trends};

    /// A database as the first `version` migrations left it, with two runs of two tests in it
    /// (written after the first, as the vigil of that time would have).
    pub(in crate::history) fn old_database(
        path: &std::path::Path,
        version: usize,
    ) -> rusqlite::Result<()> {
        let mut conn = Connection::open(path)?;
        for (step, migration) in MIGRATIONS[..version].iter().enumerate() {
            let tx = conn.transaction()?;
            match migration {
                Migration::Sql(sql) => tx.execute_batch(sql)?,
                Migration::Rust(apply) => apply(&tx)?,
            }
            if step == 0 {
                tx.execute_batch(OLD_RUNS)?;
            }
            tx.pragma_update(None, "user_version", step + 1)?;
            tx.commit()?;
        }
        Ok(())
    }

    const OLD_RUNS: &str = "INSERT INTO tests (id, name) VALUES (1, 't.py::a'), (2, 't.py::b');
         INSERT INTO tiers (id, name) VALUES (1, 'unit');
         INSERT INTO runs VALUES
           (1, 1000, 2000, 'c1', 'main', 0, NULL, NULL, NULL, NULL, 2, 2, 0, 0, 0, 0, 0, 0,
            0, 1000, 0, 0, 'vigil'),
           (2, 3000, 4000, 'c2', 'main', 0, NULL, NULL, NULL, NULL, 2, 1, 1, 0, 0, 0, 0, 0,
            0, 1000, 1, 0, 'vigil');
         INSERT INTO results VALUES
           (1, 1, 1, 1, 0, 500, NULL, NULL), (1, 2, 1, 1, 0, 700, NULL, NULL),
           (2, 1, 1, 1, 1, 600, 'boom', NULL), (2, 2, 1, 1, 0, 800, NULL, NULL);";

    #[test]
    fn every_older_database_is_migrated_with_its_runs_digested() {
        for old in 1..MIGRATIONS.len() {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("old.db");
            old_database(&path, old).expect("old database");
            let store = Store::open(&path).expect("migrated");
            assert_eq!(version(&store.conn).ok(), Some(VERSION), "from {old}");
            let digests: i64 = store
                .conn
                .query_row("SELECT COUNT(*) FROM run_digests", [], |r| r.get(0))
                .expect("count");
            assert_eq!(digests, 2, "from {old}");
            // The trends read the digests: t.py::a passed in run 1 and failed in run 2.
            let trends = Trends::compute(&store, &TrendOptions::default()).expect("trends");
            let new: Vec<&str> = trends
                .new_failures
                .iter()
                .map(|c| c.test.as_str())
                .collect();
            assert_eq!(new, ["t.py::a"], "from {old}");
            assert_eq!(trends.new_failures[0].message.as_deref(), Some("boom"));
            assert_eq!(diagnosis_schema(&store), DIAGNOSIS_SCHEMA, "from {old}");
        }
    }

    /// What migration 3 adds.
    const DIAGNOSIS_SCHEMA: [&str; 5] = [
        "fingerprints",
        "fixes",
        "fixes_by_fingerprint",
        "results_by_fingerprint",
        "runs_by_commit",
    ];

    fn diagnosis_schema(store: &Store) -> Vec<String> {
        let names = DIAGNOSIS_SCHEMA.map(|n| format!("'{n}'")).join(", ");
        let sql = format!("SELECT name FROM sqlite_master WHERE name IN ({names}) ORDER BY name");
        store
            .conn
            .prepare(&sql)
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("schema")
    }

    #[test]
    fn a_migrated_database_keeps_old_runs_out_of_any_series() {
        use crate::history::RunRecord;
        for old in 1..MIGRATIONS.len() {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("old.db");
            old_database(&path, old).expect("old database");
            let mut store = Store::open(&path).expect("migrated");
            let run = RunRecord {
                started_ms: 5000,
                series: Some("repeat-5000-1".into()),
                ..RunRecord::default()
            };
            let id = store.record(&run).expect("recorded");
            let series: Vec<(i64, Option<String>)> = store
                .conn
                .prepare("SELECT id, series FROM runs ORDER BY id")
                .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
                .expect("series");
            let want = [
                (1, None),
                (2, None),
                (id, Some("repeat-5000-1".to_string())),
            ];
            assert_eq!(series, want, "from {old}");
            let latest = store.run(id).expect("query").expect("there");
            assert_eq!(
                latest.series.as_deref(),
                Some("repeat-5000-1"),
                "from {old}"
            );
        }
    }

    #[test]
    fn every_older_database_gives_its_runs_uids_that_agree_across_copies() {
        use crate::history::RunRecord;
        type Identity = (i64, String, Option<String>, Option<u32>);
        let identities = |store: &Store| -> Vec<Identity> {
            store
                .conn
                .prepare("SELECT id, uid, partition, shards FROM runs ORDER BY id")
                .and_then(|mut s| {
                    s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                        .collect()
                })
                .expect("identities")
        };
        for old in 1..MIGRATIONS.len() {
            let dir = tempfile::tempdir().expect("tempdir");
            let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
            old_database(&a, old).expect("old database a");
            old_database(&b, old).expect("old database b");
            let mut store = Store::open(&a).expect("migrated a");
            let copy = Store::open(&b).expect("migrated b");
            let runs = identities(&store);
            // Two copies of one database name their old runs alike; the runs differ.
            assert_eq!(runs, identities(&copy), "from {old}");
            assert_eq!(runs.len(), 2, "from {old}");
            assert_ne!(runs[0].1, runs[1].1, "from {old}");
            assert!(runs
                .iter()
                .all(|r| r.1.len() == 32 && r.2.is_none() && r.3.is_none()));
            // A new run gets a uid of its own; a uid is never stored twice.
            let id = store.record(&RunRecord::default()).expect("recorded");
            let new = identities(&store).pop().expect("new run");
            assert_eq!(new.0, id);
            assert!(!runs.iter().any(|r| r.1 == new.1), "from {old}");
            let twice = RunRecord {
                uid: new.1.clone(),
                ..RunRecord::default()
            };
            assert!(store.record(&twice).is_err(), "from {old}");
        }
    }

    #[test]
    fn a_migrated_database_records_and_finds_fingerprints() {
        use crate::history::fingerprints::tests::failing;
        use crate::history::RunRecord;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("old.db");
        old_database(&path, 1).expect("old database");
        let mut store = Store::open(&path).expect("migrated");
        let run = RunRecord {
            started_ms: 5000,
            results: vec![failing("t.py::b", "00000000000000f1", 1)],
            ..RunRecord::default()
        };
        let id = store.record(&run).expect("recorded");
        let history = store.fingerprint_history("00000000000000f1", None);
        let history = history.expect("query").expect("seen");
        assert_eq!(
            (history.first.run_id, history.runs, history.tests),
            (id, 1, 1)
        );
        // t.py::b passed in the runs from before the migration.
        assert_eq!(history.last_pass_before.map(|s| s.run_id), Some(2));
    }
}
