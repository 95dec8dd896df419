//! Looking into a history database from the outside (rusqlite, as another process would) and
//! making JUnit reports big enough to kill a writer in the middle of them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

/// One run as the database holds it: its recorded total and what its rows add up to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRun {
    pub id: i64,
    pub source: String,
    pub total: i64,
    /// Distinct tests among the run's result rows.
    pub tests: i64,
    /// Rows of first attempts.
    pub first_attempts: i64,
    /// The run has its digest (the blob trends read), written in the same transaction.
    pub digested: bool,
}

impl StoredRun {
    /// The run is whole: its total is what its rows hold.
    pub fn whole(&self) -> bool {
        self.total == self.tests && self.total == self.first_attempts && self.digested
    }
}

/// The database's own verdict (`PRAGMA integrity_check`) and every run with its row counts;
/// an error names anything that is not whole (orphan results, a run whose rows disagree).
pub fn check(db: &Path) -> Result<Vec<StoredRun>, String> {
    let conn = Connection::open(db).map_err(|e| format!("{}: {e}", db.display()))?;
    let sql = |e: rusqlite::Error| format!("{}: {e}", db.display());
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(sql)?;
    if integrity != "ok" {
        return Err(format!("integrity_check: {integrity}"));
    }
    let orphans: i64 = conn
        .query_row(
            "SELECT (SELECT COUNT(*) FROM results WHERE run_id NOT IN (SELECT id FROM runs))
                  + (SELECT COUNT(*) FROM run_digests WHERE run_id NOT IN (SELECT id FROM runs))",
            [],
            |r| r.get(0),
        )
        .map_err(sql)?;
    let runs = stored_runs(&conn).map_err(sql)?;
    let broken: Vec<&StoredRun> = runs.iter().filter(|r| !r.whole()).collect();
    if orphans > 0 || !broken.is_empty() {
        return Err(format!(
            "{orphans} orphan results or digests; runs not whole: {broken:?}"
        ));
    }
    Ok(runs)
}

fn stored_runs(conn: &Connection) -> rusqlite::Result<Vec<StoredRun>> {
    let mut stmt = conn.prepare(
        "SELECT id, source, total,
            (SELECT COUNT(DISTINCT test_id) FROM results WHERE run_id = runs.id),
            (SELECT COUNT(*) FROM results WHERE run_id = runs.id AND attempt = 1),
            EXISTS (SELECT 1 FROM run_digests WHERE run_id = runs.id)
         FROM runs ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(StoredRun {
            id: r.get(0)?,
            source: r.get(1)?,
            total: r.get(2)?,
            tests: r.get(3)?,
            first_attempts: r.get(4)?,
            digested: r.get(5)?,
        })
    })?;
    rows.collect()
}

/// Empties the WAL into the database file, so growth of `-wal` afterwards is a new writer's.
pub fn checkpoint(db: &Path) -> Result<(), String> {
    let conn = Connection::open(db).map_err(|e| format!("{}: {e}", db.display()))?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .map_err(|e| format!("checkpoint {}: {e}", db.display()))
}

pub fn wal(db: &Path) -> PathBuf {
    PathBuf::from(format!("{}-wal", db.display()))
}

/// Size of a file, 0 when it does not exist.
pub fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// A pytest-shaped JUnit report of `tests` cases, 20 per module, ~3% failed; `tag` goes into
/// the test names so reports can share ids (same tag) or not.
pub fn junit(tag: &str, tests: usize) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<testsuites name=\"pytest tests\">\
         <testsuite name=\"pytest\" timestamp=\"2025-03-01T10:00:00+00:00\">\n",
    );
    for t in 0..tests {
        let _ = write!(
            xml,
            "<testcase classname=\"tests.unit.test_mod_{}\" name=\"test_{tag}_{}\" time=\"0.0{:02}\"",
            t / 20,
            t % 20,
            t % 100
        );
        if t % 33 == 0 {
            let _ = writeln!(
                xml,
                "><failure message=\"AssertionError: {t}\">trace</failure></testcase>"
            );
        } else {
            xml.push_str("/>\n");
        }
    }
    xml.push_str("</testsuite></testsuites>\n");
    xml
}
