//! The run's events as JSON lines (`--message-format json` on stdout, `--json PATH` to a file):
//! a header line naming the format and its version, then one line per event as
//! `events::Event` serializes it. Each line is flushed as it is written, so a killed run
//! leaves every event up to that point, and `vigil merge` can read a shard's log back. The
//! last line, `run_finished`, waits for the end of the reports: a Ctrl-C while they are
//! written still makes the run interrupted, and its exit code must say so.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::events::Event;
use crate::exit::ExitCode;
use crate::interrupt::Latch;

use super::{ReportError, Reporter};

/// The format's name in the header line.
pub const FORMAT_NAME: &str = "vigil-events";
/// Bumped when a field changes meaning or goes away; new fields and events do not bump it
/// (readers ignore what they do not know).
pub const FORMAT_VERSION: u32 = 1;

/// The first line of every event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Always `"format"`, so every line has an `event` field.
    pub event: String,
    pub format: String,
    pub version: u32,
    /// The vigil that wrote it.
    pub vigil: String,
    /// When the log was started (Unix milliseconds): about when the run started.
    #[serde(default)]
    pub started_ms: i64,
}

impl Header {
    pub fn current() -> Header {
        Header {
            event: "format".to_string(),
            format: FORMAT_NAME.to_string(),
            version: FORMAT_VERSION,
            vigil: env!("CARGO_PKG_VERSION").to_string(),
            started_ms: crate::history::now_ms(),
        }
    }
}

pub struct JsonLinesReporter {
    out: Box<dyn Write>,
    /// The file written, for error messages (`None` for stdout).
    path: Option<PathBuf>,
    error: Option<std::io::Error>,
    /// `run_finished`, held until `finish`.
    finished: Option<Event>,
    latch: Option<Arc<Latch>>,
}

impl JsonLinesReporter {
    pub fn stdout() -> JsonLinesReporter {
        JsonLinesReporter::new(Box::new(std::io::stdout()), None)
    }

    /// Creates (or truncates) `path`, making its directory if needed.
    pub fn file(path: &Path) -> Result<JsonLinesReporter, ReportError> {
        let write_error = |error| ReportError::Write {
            path: path.to_path_buf(),
            error,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(write_error)?;
        }
        let file = File::create(path).map_err(write_error)?;
        let out = Box::new(BufWriter::new(file));
        Ok(JsonLinesReporter::new(out, Some(path.to_path_buf())))
    }

    fn new(out: Box<dyn Write>, path: Option<PathBuf>) -> JsonLinesReporter {
        let mut reporter = JsonLinesReporter {
            out,
            path,
            error: None,
            finished: None,
            latch: None,
        };
        reporter.line(&Header::current());
        reporter
    }

    /// Settles `latch` before writing `run_finished` (as history does before committing),
    /// so the log's exit code is the one vigil exits with and history records.
    pub fn settling(mut self, latch: Arc<Latch>) -> JsonLinesReporter {
        self.latch = Some(latch);
        self
    }

    fn line(&mut self, value: &impl Serialize) {
        if self.error.is_some() {
            return;
        }
        let written = serde_json::to_writer(&mut self.out, value)
            .map_err(std::io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"))
            .and_then(|()| self.out.flush());
        self.error = written.err();
    }
}

impl Reporter for JsonLinesReporter {
    fn on_event(&mut self, event: &Event) {
        match event {
            Event::RunFinished { .. } => self.finished = Some(event.clone()),
            _ => self.line(event),
        }
    }

    fn finish(&mut self) -> Result<(), ReportError> {
        if let Some(mut finished) = self.finished.take() {
            if let Event::RunFinished { exit, .. } = &mut finished {
                if self.latch.as_ref().is_some_and(|latch| latch.settle()) {
                    *exit = ExitCode::Interrupted;
                }
            }
            self.line(&finished);
        }
        match (self.error.take(), &self.path) {
            (Some(error), Some(path)) => Err(ReportError::Write {
                path: path.clone(),
                error,
            }),
            (Some(error), None) => Err(ReportError::Write {
                path: PathBuf::from("<stdout>"),
                error,
            }),
            (None, _) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Tally;
    use std::time::Duration;

    fn run_finished(exit: ExitCode) -> Event {
        Event::RunFinished {
            tally: Tally::default(),
            exit,
            duration: Duration::from_millis(5),
        }
    }

    /// The last line of a log written with `latch`, when the signal is requested
    /// after the run finished but before the reports are (or not at all).
    fn last_exit(signal_during_reports: bool) -> i64 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let latch = Arc::new(Latch::new());
        let mut log = JsonLinesReporter::file(&path)
            .unwrap()
            .settling(Arc::clone(&latch));
        log.on_event(&run_finished(ExitCode::Ok));
        if signal_during_reports {
            assert!(latch.request());
        }
        log.finish().unwrap();
        // Writing run_finished settled it: the answer stays, a later signal changes nothing.
        assert_eq!(latch.settle(), signal_during_reports);
        assert_eq!(latch.request(), signal_during_reports);
        let text = std::fs::read_to_string(&path).unwrap();
        let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        assert_eq!(last["event"], "run_finished");
        last["exit"].as_i64().unwrap()
    }

    #[test]
    fn run_finished_says_interrupted_when_the_signal_came_during_the_reports() {
        assert_eq!(last_exit(true), 2);
        assert_eq!(last_exit(false), 0);
    }
}
