//! Another vigil's history database as an import source: opened read-only and never written.
//! One from an older vigil is read through a migrated copy in a temporary directory; one from
//! a newer vigil is refused.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::schema;
use super::store::Store;
use super::HistoryError;

pub(super) struct SourceDb {
    pub conn: Connection,
    /// Holds the migrated copy of an older database until the import is done.
    _copy: Option<tempfile::TempDir>,
}

impl SourceDb {
    pub fn open(path: &Path) -> Result<SourceDb, HistoryError> {
        let conn = read_only(path)?;
        let version = schema::version(&conn).map_err(|e| input(path, e))?;
        if version > schema::VERSION {
            return Err(input(
                path,
                format!(
                    "schema version {version}, newer than this vigil knows ({}); import it \
                     with a newer vigil",
                    schema::VERSION
                ),
            ));
        }
        if !has_runs(&conn).map_err(|e| input(path, e))? {
            return Err(input(
                path,
                "an SQLite database, but not a vigil history (it has no runs table)",
            ));
        }
        if version == schema::VERSION {
            return Ok(SourceDb { conn, _copy: None });
        }
        let copy = tempfile::tempdir().map_err(|e| input(path, e))?;
        let copied = copy.path().join("history.db");
        // VACUUM INTO reads one consistent snapshot (WAL included) through the read-only
        // connection and writes a fresh file that is then migrated like any old history.
        let target = copied.to_string_lossy().into_owned();
        conn.execute("VACUUM INTO ?1", [&target])
            .map_err(|e| input(path, e))?;
        drop(conn);
        drop(Store::open(&copied)?);
        Ok(SourceDb {
            conn: read_only(&copied)?,
            _copy: Some(copy),
        })
    }
}

fn read_only(path: &Path) -> Result<Connection, HistoryError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| input(path, e))?;
    conn.busy_timeout(Duration::from_secs(60))
        .map_err(|e| input(path, e))?;
    Ok(conn)
}

fn has_runs(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'runs'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

/// An error about the source database (not the destination's).
pub(super) fn input(path: &Path, message: impl ToString) -> HistoryError {
    HistoryError::Input {
        path: path.to_path_buf(),
        line: None,
        message: message.to_string(),
    }
}
