//! Reads a JSON event log (`vigil run --json PATH`) back into events: the header line must
//! name the format and a version this vigil reads; a bad line is an error naming `file:line`,
//! except a cut-off last line, which is what a killed run leaves and only makes the log
//! incomplete.

use std::path::{Path, PathBuf};

use crate::events::Event;
use crate::report::json_lines::{Header, FORMAT_NAME, FORMAT_VERSION};

use super::MergeError;

/// A shard's log as read.
#[derive(Debug, Clone)]
pub struct EventLog {
    pub path: PathBuf,
    pub header: Header,
    pub events: Vec<Event>,
    /// The last line was cut off (the run was killed while writing it).
    pub truncated: bool,
}

/// Whether `text` starts like an event log (so a directory's `.jsonl` files can be told
/// from other JSON lines).
pub fn looks_like_event_log(text: &str) -> bool {
    let first = text.lines().next().unwrap_or("");
    serde_json::from_str::<Header>(first).is_ok_and(|h| h.format == FORMAT_NAME)
}

pub fn read(path: &Path) -> Result<EventLog, MergeError> {
    let text = std::fs::read_to_string(path).map_err(|source| MergeError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text)
}

/// The log in `text`, read from `path` (named in errors).
pub fn parse(path: &Path, text: &str) -> Result<EventLog, MergeError> {
    let at = |line: usize, message: String| MergeError::Line {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut lines = text.lines().enumerate();
    let header: Header = match lines.next() {
        Some((_, first)) => serde_json::from_str(first)
            .map_err(|e| at(1, format!("not a vigil event log header: {e}")))?,
        None => return Err(at(1, "empty file: not a vigil event log".to_string())),
    };
    if header.format != FORMAT_NAME || header.version > FORMAT_VERSION {
        return Err(at(
            1,
            format!(
                "format {} version {} (this vigil reads {FORMAT_NAME} up to version {FORMAT_VERSION})",
                header.format, header.version
            ),
        ));
    }
    let complete = text.ends_with('\n');
    let last = text.lines().count();
    let mut events = Vec::new();
    let mut truncated = false;
    for (index, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Event>(line) {
            Ok(event) => events.push(event),
            Err(_) if index + 1 == last && !complete => truncated = true,
            // An event a newer vigil added: skip it, as the format promises.
            Err(e) if e.to_string().starts_with("unknown variant") => {}
            Err(e) => return Err(at(index + 1, e.to_string())),
        }
    }
    Ok(EventLog {
        path: path.to_path_buf(),
        header,
        events,
        truncated,
    })
}

#[cfg(test)]
#[path = "event_log_fuzz_tests.rs"]
mod fuzz_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Outcome, TestResult};
    use crate::report::json_lines::JsonLinesReporter;
    use crate::report::Reporter;

    /// A real log, as `vigil run --json` writes it: header, one result, the run's end.
    fn written(dir: &Path) -> PathBuf {
        let path = dir.join("events.jsonl");
        let mut log = JsonLinesReporter::file(&path).unwrap();
        let mut result = TestResult::bare("t.py::a".into(), Outcome::Failed, vec![], None, 0);
        result.duration = std::time::Duration::from_millis(1500);
        log.on_event(&Event::TestFinished(result));
        log.finish().unwrap();
        path
    }

    #[test]
    fn a_log_reads_back_with_durations_in_seconds() {
        let dir = tempfile::tempdir().unwrap();
        let path = written(dir.path());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"duration\":1.5"), "{text}");
        assert!(looks_like_event_log(&text));
        let log = read(&path).unwrap();
        assert_eq!(log.header.version, FORMAT_VERSION);
        assert!(!log.truncated);
        match &log.events[..] {
            [Event::TestFinished(r)] => {
                assert_eq!((r.id.as_str(), r.outcome), ("t.py::a", Outcome::Failed));
                assert_eq!(r.duration.as_millis(), 1500);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_cut_off_last_line_is_incomplete_a_bad_middle_line_names_its_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = written(dir.path());
        let whole = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("{whole}{{\"event\":\"test_fin")).unwrap();
        let log = read(&path).unwrap();
        assert!(log.truncated);
        assert_eq!(log.events.len(), 1);
        std::fs::write(&path, format!("{whole}not json\n{whole}")).unwrap();
        let error = read(&path).unwrap_err().to_string();
        assert!(error.contains("events.jsonl:3:"), "{error}");
    }

    #[test]
    fn a_newer_format_or_another_file_is_refused_and_new_events_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.jsonl");
        let newer =
            "{\"event\":\"format\",\"format\":\"vigil-events\",\"version\":99,\"vigil\":\"9\"}\n";
        std::fs::write(&path, newer).unwrap();
        assert!(read(&path).unwrap_err().to_string().contains("version 99"));
        std::fs::write(&path, "{\"a\":1}\n").unwrap();
        assert!(read(&path).unwrap_err().to_string().contains("x.jsonl:1:"));
        let future =
            "{\"event\":\"format\",\"format\":\"vigil-events\",\"version\":1,\"vigil\":\"1\"}\n\
                      {\"event\":\"coffee_break\",\"minutes\":5}\n";
        std::fs::write(&path, future).unwrap();
        assert!(read(&path).unwrap().events.is_empty());
    }
}
