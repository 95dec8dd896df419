//! `vigil history export`: runs written as the export format (exchange_format.rs), oldest
//! first, from one read snapshot of the database; to a file through a temporary file beside it
//! and a rename, so a killed export never leaves half a file.

use std::io::Write;
use std::path::Path;

use super::exchange_format::{Header, FORMAT_VERSION};
use super::exchange_read::{read_exported, run_ids};
use super::schema;
use super::store::Store;
use super::HistoryError;

/// Which runs go out. Empty `runs` and no `last` or `branch`: every run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportFilter {
    /// Only the newest N of the runs the other fields select.
    pub last: Option<usize>,
    /// Only these runs (ids as `vigil history` lists them).
    pub runs: Vec<i64>,
    /// Only runs of this branch.
    pub branch: Option<String>,
}

/// Writes the header and one line per selected run to `out`; returns how many runs.
pub fn export(
    store: &Store,
    filter: &ExportFilter,
    out: &mut dyn Write,
) -> Result<usize, HistoryError> {
    // One read transaction: a run pruned by another vigil meanwhile is either wholly in the
    // export or not in it at all.
    let snapshot = store
        .conn
        .unchecked_transaction()
        .map_err(|e| store.error(e))?;
    let ids = selected(store, filter)?;
    let header = Header {
        vigil_history_export: FORMAT_VERSION,
        schema: schema::VERSION,
    };
    write_line(out, &header)?;
    for &id in &ids {
        let run = read_exported(&snapshot, id).map_err(|e| store.error(e))?;
        let run = run.ok_or_else(|| HistoryError::Query(format!("run {id} vanished")))?;
        write_line(out, &run)?;
    }
    out.flush().map_err(HistoryError::Write)?;
    Ok(ids.len())
}

/// `export` into `path`, replacing it whole: written beside it first, then renamed. Missing
/// directories are made.
pub fn export_to_file(
    store: &Store,
    filter: &ExportFilter,
    path: &Path,
) -> Result<usize, HistoryError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let named = |error| HistoryError::Output {
        path: path.to_path_buf(),
        error,
    };
    std::fs::create_dir_all(dir).map_err(named)?;
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(named)?;
    let mut buffered = std::io::BufWriter::new(file.as_file_mut());
    let runs = export(store, filter, &mut buffered)?;
    drop(buffered);
    file.as_file().sync_all().map_err(named)?;
    file.persist(path).map_err(|e| named(e.error))?;
    Ok(runs)
}

/// The ids the filter selects, oldest first; an id that is not there is an error.
fn selected(store: &Store, filter: &ExportFilter) -> Result<Vec<i64>, HistoryError> {
    let mut ids = run_ids(&store.conn, filter.branch.as_deref()).map_err(|e| store.error(e))?;
    if let Some(missing) = filter.runs.iter().find(|id| !ids.contains(id)) {
        let on_branch = match &filter.branch {
            Some(branch) => format!(" on branch {branch}"),
            None => String::new(),
        };
        return Err(HistoryError::Query(format!(
            "no run {missing}{on_branch} in history at {}",
            store.path.display()
        )));
    }
    if !filter.runs.is_empty() {
        ids.retain(|id| filter.runs.contains(id));
    }
    if let Some(last) = filter.last {
        ids.drain(..ids.len().saturating_sub(last));
    }
    Ok(ids)
}

fn write_line(out: &mut dyn Write, value: &impl serde::Serialize) -> Result<(), HistoryError> {
    let line = serde_json::to_string(value).map_err(|e| HistoryError::Query(e.to_string()))?;
    writeln!(out, "{line}").map_err(HistoryError::Write)
}
