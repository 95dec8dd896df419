//! What `vigil merge` is given: shard directories (as CI artifacts download them) or files,
//! sorted into event logs, JUnit reports and history databases by their content.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::event_log::looks_like_event_log;
use super::MergeError;

/// How deep below a given directory files are looked for (artifact downloads nest a little).
const DEPTH: usize = 3;

/// The shards' files, each kind in the order given.
#[derive(Debug, Default, PartialEq)]
pub struct Inputs {
    pub logs: Vec<PathBuf>,
    /// JUnit reports of directories that have no event log (an event log has the same
    /// results, and more).
    pub junit: Vec<PathBuf>,
    pub databases: Vec<PathBuf>,
}

pub fn find_inputs(paths: &[PathBuf]) -> Result<Inputs, MergeError> {
    let mut inputs = Inputs::default();
    for path in paths {
        let mut found = Inputs::default();
        if path.is_dir() {
            let mut files = Vec::new();
            walk(path, DEPTH, &mut files).map_err(|source| read_error(path, source))?;
            files.sort();
            for file in files {
                classify(&file, &mut found)?;
            }
            if !found.logs.is_empty() {
                found.junit.clear();
            }
            if found == Inputs::default() {
                return Err(MergeError::Empty { path: path.clone() });
            }
        } else {
            classify(path, &mut found)?;
            if found == Inputs::default() {
                return Err(MergeError::Empty { path: path.clone() });
            }
        }
        inputs.logs.extend(found.logs);
        inputs.junit.extend(found.junit);
        inputs.databases.extend(found.databases);
    }
    Ok(inputs)
}

fn read_error(path: &Path, source: std::io::Error) -> MergeError {
    MergeError::Read {
        path: path.to_path_buf(),
        source,
    }
}

fn walk(dir: &Path, depth: usize, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() && depth > 1 {
            walk(&path, depth - 1, files)?;
        } else if path.is_file() {
            files.push(path);
        }
    }
    Ok(())
}

/// By content: SQLite's magic, the event log's header line, an XML root; other files (a
/// WAL, a log) are not inputs.
fn classify(path: &Path, found: &mut Inputs) -> Result<(), MergeError> {
    let mut head = Vec::with_capacity(512);
    std::fs::File::open(path)
        .and_then(|f| f.take(4096).read_to_end(&mut head))
        .map_err(|source| read_error(path, source))?;
    let text = String::from_utf8_lossy(&head);
    if head.starts_with(b"SQLite format 3\0") {
        found.databases.push(path.to_path_buf());
    } else if looks_like_event_log(&text) {
        found.logs.push(path.to_path_buf());
    } else if path.extension().is_some_and(|e| e == "xml") && text.contains("<testsuite") {
        found.junit.push(path.to_path_buf());
    }
    Ok(())
}
