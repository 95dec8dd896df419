//! The database schema as a list of migrations; `PRAGMA user_version` says how many have been
//! applied. A migration is appended, never edited, so every old database can be brought up.

use rusqlite::Connection;

/// Each step moves the schema one version up. Results are a `WITHOUT ROWID` table clustered by
/// run so a run's rows are appended together and a window of runs is one range scan; test
/// names and tiers are interned so a result row stays a few small integers (the bench holds it
/// to ≤ 40 bytes a result).
const MIGRATIONS: &[&str] = &[
    // 1: runs, interned tests and tiers, results.
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
];

/// The schema version this vigil writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// The version a database is at (0 for a new file).
pub fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
}

/// Applies the migrations the database has not seen, each in its own transaction with its
/// version bump, so a crash between two leaves a database at a whole version.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    loop {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Read inside the write lock: another vigil may have migrated meanwhile.
        let current = version(&tx)?;
        let Some(step) = MIGRATIONS.get(current as usize) else {
            return Ok(());
        };
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", current + 1)?;
        tx.commit()?;
    }
}
