//! `vigil history import` of vigil's own files: an export (`vigil history export`) or another
//! history database, told apart by their content. Each input is one transaction: a bad line
//! names `file:line` and nothing of that file is written. Runs the history already has (by
//! uid) are skipped, so importing one file twice, or two CI copies of one shared history,
//! adds every run once.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::exchange_format::{ExportedRun, Header, FORMAT_VERSION};
use super::exchange_read::{all_fixes, read_exported, run_uids};
use super::import_source::{input, SourceDb};
use super::import_writer::{ImportSummary, RunWriter};
use super::record::RunRecord;
use super::store::Store;
use super::HistoryError;

/// What a file given to `vigil history import` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    /// An SQLite file: another history database.
    Database,
    /// A `vigil history export` file.
    Export,
    /// Anything else (JUnit XML is tried).
    Other,
}

const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";
/// How much of the first line detection reads: a header line is short.
const HEADER_PEEK: u64 = 4096;

/// Tells a history database and an export apart from anything else, by content.
pub fn import_kind(path: &Path) -> std::io::Result<ImportKind> {
    let mut head = Vec::new();
    File::open(path)?.take(HEADER_PEEK).read_to_end(&mut head)?;
    if head.starts_with(SQLITE_MAGIC) {
        return Ok(ImportKind::Database);
    }
    let first = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let header = serde_json::from_slice::<serde_json::Value>(first).ok();
    if header.is_some_and(|h| h.get("vigil_history_export").is_some()) {
        return Ok(ImportKind::Export);
    }
    Ok(ImportKind::Other)
}

/// Imports the runs of an export file the history does not have, and their fix notes.
pub fn import_export(dest: &mut Store, file: &Path) -> Result<ImportSummary, HistoryError> {
    let at = |line: usize, message: String| HistoryError::Input {
        path: file.to_path_buf(),
        line: Some(line),
        message,
    };
    let reader = BufReader::new(File::open(file).map_err(|e| input(file, e))?);
    let mut lines = reader.lines();
    let header = lines.next().transpose().map_err(|e| at(1, e.to_string()))?;
    check_header(header.as_deref().unwrap_or("")).map_err(|m| at(1, m))?;
    let mut writer = RunWriter::begin(dest)?;
    for (index, line) in lines.enumerate() {
        let number = index + 2;
        let line = line.map_err(|e| at(number, e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let run = parse_run(&line).map_err(|m| at(number, m))?;
        if writer.has(&run.uid)? {
            // A note recorded after the run was copied still comes across.
            for fix in &run.fixes {
                writer.merge_fix(fix)?;
            }
            writer.summary.already_present += 1;
        } else {
            writer.write(&run)?;
        }
    }
    writer.commit()
}

/// Imports the runs of another history database that the history does not have and `keep`
/// accepts, and every fix note of it. The source is only read.
pub fn import_database(
    dest: &mut Store,
    source: &Path,
    keep: &dyn Fn(&RunRecord) -> bool,
) -> Result<ImportSummary, HistoryError> {
    let db = SourceDb::open(source)?;
    // One read snapshot of the source, as export takes.
    let snapshot = db
        .conn
        .unchecked_transaction()
        .map_err(|e| input(source, e))?;
    let runs = run_uids(&snapshot).map_err(|e| input(source, e))?;
    let mut writer = RunWriter::begin(dest)?;
    for (id, uid) in runs {
        let uid = uid.ok_or_else(|| input(source, format!("run {id} has no uid")))?;
        if writer.has(&uid)? {
            writer.summary.already_present += 1;
            continue;
        }
        let run = read_exported(&snapshot, id).map_err(|e| input(source, e))?;
        let Some(run) = run else { continue };
        if keep(&run.to_record()) {
            writer.write(&run)?;
        } else {
            writer.summary.left_out += 1;
        }
    }
    for fix in all_fixes(&snapshot).map_err(|e| input(source, e))? {
        writer.merge_fix(&fix)?;
    }
    writer.commit()
}

/// The header must name a format version this vigil reads.
fn check_header(line: &str) -> Result<(), String> {
    let header: Header = serde_json::from_str(line)
        .map_err(|e| format!("not a vigil history export (its first line is no header: {e})"))?;
    if header.vigil_history_export > FORMAT_VERSION {
        return Err(format!(
            "export format {} is newer than this vigil reads ({FORMAT_VERSION}); import it \
             with a newer vigil",
            header.vigil_history_export
        ));
    }
    Ok(())
}

/// One run line; the message says what is wrong and where in the line.
fn parse_run(line: &str) -> Result<ExportedRun, String> {
    let run: ExportedRun = serde_json::from_str(line).map_err(|e| {
        let text = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let reason = text.strip_suffix(&suffix).unwrap_or(&text);
        format!("not a run (column {}): {reason}", e.column())
    })?;
    if run.uid.is_empty() {
        return Err("the run has no uid".to_string());
    }
    Ok(run)
}

#[cfg(test)]
#[path = "exchange_tests.rs"]
mod tests;
