//! Where a run's events go: the terminal (or JSON lines on stdout), JUnit, a JSON event log,
//! and history. Shared by `vigil run`, each run of `vigil schedule` and `vigil merge`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;

use vigil::discover;
use vigil::history::HistoryError;
use vigil::interrupt::Latch;
use vigil::report::{
    ci, ci_reporters, ColorChoice, JsonLinesReporter, JunitReporter, ReportError, Reporter,
    TerminalReporter,
};
use vigil::session::{self, request::Resolved};

use super::{usage, Failure};

#[derive(Args, Clone)]
pub struct OutputArgs {
    /// Write a JUnit XML report to PATH.
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Write every event of the run as JSON lines to PATH (what `vigil merge` reads back).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// What stdout shows: human (progress, failures, summary) or json (the JSON event lines,
    /// one per event, the format versioned by its first line).
    #[arg(long, value_name = "FORMAT", default_value = "human",
          value_parser = ["human", "json"])]
    pub message_format: String,
    /// Print a line for every test, not only for failures.
    #[arg(short, long)]
    pub verbose: bool,
    /// Colour: auto (TTY and no NO_COLOR), always, never.
    #[arg(long, value_name = "WHEN", default_value = "auto")]
    pub color: String,
}

/// The output flags, resolved against the invocation directory and the profile.
#[derive(Clone)]
pub struct Outputs {
    pub color: ColorChoice,
    pub verbose: bool,
    pub json_stdout: bool,
    pub junit: Option<PathBuf>,
    pub json: Option<PathBuf>,
}

impl OutputArgs {
    /// `profile_junit` is the profile's `junit` path, used when `--junit` is not given.
    pub fn resolve(
        &self,
        invocation_dir: &Path,
        profile_junit: Option<PathBuf>,
    ) -> Result<Outputs, Failure> {
        let color = match self.color.as_str() {
            "always" => ColorChoice::Always,
            "never" => ColorChoice::Never,
            "auto" => ColorChoice::Auto,
            other => {
                return Err(usage(anyhow::anyhow!(
                    "--color takes auto, always or never, not {other:?}"
                )))
            }
        };
        let absolute = |p: &PathBuf| discover::absolute(invocation_dir, p);
        Ok(Outputs {
            color,
            verbose: self.verbose,
            json_stdout: self.message_format == "json",
            junit: self.junit.clone().or(profile_junit).as_ref().map(absolute),
            json: self.json.as_ref().map(absolute),
        })
    }
}

impl Outputs {
    /// The reports a person reads: the terminal (unless stdout is the JSON stream), JUnit,
    /// and in CI the annotations and step summary. The terminal looks failure groups up in
    /// `history`.
    pub fn reports(&self, history: Option<PathBuf>) -> Vec<Box<dyn Reporter>> {
        let mut reporters: Vec<Box<dyn Reporter>> = Vec::new();
        if !self.json_stdout {
            let terminal = TerminalReporter::stdout(self.color, self.verbose);
            reporters.push(Box::new(terminal.with_history(history)));
        }
        if let Some(path) = &self.junit {
            reporters.push(Box::new(JunitReporter::new(path.clone())));
        }
        // GitHub annotations go to stdout, so not when it is the JSON stream.
        reporters.extend(ci_reporters(&ci::process_env, !self.json_stdout));
        reporters
    }

    /// The event logs (JSON lines on stdout, `--json` file). They come after history: their
    /// last line, `run_finished`, gives the exit code `latch` settled on when history was
    /// committed (or settles it, without history).
    pub fn event_logs(
        &self,
        latch: Option<&Arc<Latch>>,
    ) -> Result<Vec<Box<dyn Reporter>>, ReportError> {
        let settling = |log: JsonLinesReporter| -> Box<dyn Reporter> {
            match latch {
                Some(latch) => Box::new(log.settling(Arc::clone(latch))),
                None => Box::new(log),
            }
        };
        let mut logs = Vec::new();
        if self.json_stdout {
            logs.push(settling(JsonLinesReporter::stdout()));
        }
        if let Some(path) = &self.json {
            logs.push(settling(JsonLinesReporter::file(path)?));
        }
        Ok(logs)
    }
}

/// One run's reporters: the reports a person reads, then history (as one of `series` when the
/// run is a repetition), then the event logs.
pub fn run_reporters(
    outputs: &Outputs,
    resolved: &Resolved,
    series: Option<&str>,
    latch: Option<&Arc<Latch>>,
) -> Result<Vec<Box<dyn Reporter>>, ReportError> {
    let history = resolved.request.history.as_ref().map(|h| h.path.clone());
    let mut reporters = outputs.reports(history);
    if let Some(mut recorder) = recorder(resolved)? {
        if let Some(series) = series {
            recorder = recorder.in_series(series);
        }
        // After the reports, so a signal while they are written still interrupts the run:
        // the latch settles when the run is committed.
        reporters.push(match latch {
            Some(latch) => Box::new(recorder.settling(Arc::clone(latch))),
            None => Box::new(recorder),
        });
    }
    reporters.extend(outputs.event_logs(latch)?);
    Ok(reporters)
}

/// The run's history recorder. A database the user named must open; the default one only
/// costs a warning, so a read-only checkout still runs its tests (as pytest does without its
/// cache).
fn recorder(resolved: &Resolved) -> Result<Option<vigil::history::HistoryRecorder>, HistoryError> {
    let explicit = resolved
        .request
        .history
        .as_ref()
        .is_some_and(|h| h.explicit);
    match session::recorder(&resolved.request) {
        Ok(recorder) => Ok(recorder),
        Err(error) if explicit => Err(error),
        Err(error) => {
            eprintln!("vigil: warning: this run is not recorded in history: {error}");
            Ok(None)
        }
    }
}
