//! The log files of `[diagnose] logs` around one native test: where each ended when the test
//! started, and the error lines written after that (the pytest plugin's `_LogWatch` does the
//! same inside pytest workers). They become a `vigil log PATH` section of a failing result.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use crate::diagnose::LOG_SECTION;

/// Most bytes read per file per test, and most lines kept.
const MAX_BYTES: u64 = 256 * 1024;
const MAX_LINES: usize = 50;
const MAX_LINE_CHARS: usize = 500;

/// What logging, tracing and panics write on an error line.
static ERROR_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(ERROR|CRITICAL|FATAL|Error|Exception|Traceback|panicked|error|fatal)\b")
        .expect("error line pattern")
});

/// The watched files: absolute glob patterns, and the root their shown paths are relative to.
#[derive(Debug, Clone, Default)]
pub struct LogWatch {
    pub patterns: Vec<String>,
    pub rootdir: PathBuf,
}

impl LogWatch {
    /// Where each watched file ends now (nothing to do without patterns).
    pub fn mark(&self) -> LogMark {
        if self.patterns.is_empty() {
            return LogMark::default();
        }
        mark(&self.patterns)
    }

    /// The error lines written since `mark`, as sections.
    pub fn errors_since(&self, mark: &LogMark) -> Vec<(String, String)> {
        if self.patterns.is_empty() {
            return Vec::new();
        }
        errors_since(&self.patterns, mark, &self.rootdir)
    }
}

/// Sizes of the watched files at one moment.
#[derive(Debug, Clone, Default)]
pub struct LogMark {
    sizes: BTreeMap<PathBuf, u64>,
}

/// The files matching `patterns` (absolute globs), sorted.
fn files(patterns: &[String]) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = patterns
        .iter()
        .filter_map(|p| glob::glob(p).ok())
        .flatten()
        .flatten()
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found.dedup();
    found
}

/// Where each watched file ends now.
fn mark(patterns: &[String]) -> LogMark {
    let sizes = files(patterns)
        .into_iter()
        .map(|p| {
            let size = size(&p);
            (p, size)
        })
        .collect();
    LogMark { sizes }
}

/// `(title, text)` sections of the error lines written since `mark`, one per file;
/// `rootdir` shortens the shown paths.
fn errors_since(patterns: &[String], mark: &LogMark, rootdir: &Path) -> Vec<(String, String)> {
    files(patterns)
        .into_iter()
        .filter_map(|path| {
            let mut start = mark.sizes.get(&path).copied().unwrap_or(0);
            if size(&path) < start {
                start = 0; // rotated or truncated: everything in it is new
            }
            let lines = error_lines(&path, start);
            if lines.is_empty() {
                return None;
            }
            let shown = path.strip_prefix(rootdir).unwrap_or(&path);
            Some((
                format!("{LOG_SECTION}{}", shown.display()),
                lines.join("\n") + "\n",
            ))
        })
        .collect()
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn error_lines(path: &Path, start: u64) -> Vec<String> {
    let mut bytes = Vec::new();
    let read = std::fs::File::open(path).and_then(|mut f| {
        f.seek(SeekFrom::Start(start))?;
        f.take(MAX_BYTES).read_to_end(&mut bytes)
    });
    if read.is_err() {
        return Vec::new();
    }
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter(|l| ERROR_LINE.is_match(l))
        .take(MAX_LINES)
        .map(|l| l.chars().take(MAX_LINE_CHARS).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_error_lines_written_after_the_mark_are_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("app.log");
        std::fs::write(&log, "ERROR before the test\n").expect("write");
        let patterns = vec![dir.path().join("*.log").to_string_lossy().into_owned()];
        let mark = mark(&patterns);
        let more = "INFO starting\nERROR db: connection refused\nDEBUG x\npanicked at src/a.rs:1\n";
        std::fs::write(&log, format!("ERROR before the test\n{more}")).expect("append");
        std::fs::write(dir.path().join("new.log"), "fatal: new file\n").expect("new file");
        let sections = errors_since(&patterns, &mark, dir.path());
        assert_eq!(
            sections,
            vec![
                (
                    "vigil log app.log".to_string(),
                    "ERROR db: connection refused\npanicked at src/a.rs:1\n".to_string()
                ),
                (
                    "vigil log new.log".to_string(),
                    "fatal: new file\n".to_string()
                ),
            ]
        );
    }

    #[test]
    fn a_truncated_file_is_read_from_its_start() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("app.log");
        std::fs::write(&log, "x".repeat(100)).expect("write");
        let patterns = vec![log.to_string_lossy().into_owned()];
        let mark = mark(&patterns);
        std::fs::write(&log, "Error after rotation\n").expect("rotate");
        let sections = errors_since(&patterns, &mark, dir.path());
        assert_eq!(sections[0].1, "Error after rotation\n");
    }
}
