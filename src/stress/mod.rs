//! Hunting flaky tests: `vigil run --repeat N` and `--until-fail [--max N]` run the selection
//! again and again. Each repetition is a whole `session::run` with fresh worker processes
//! (nothing carries over from one to the next, as with nextest's stress runs), recorded in
//! history as its own run of one series; the series ends with how often each test failed.

mod tally;

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::exit::ExitCode;
use crate::history::now_ms;
use crate::report::{render_repeat_header, render_stress_summary, ReportError, Reporter};
use crate::session::{self, RunOutcome, RunRequest, SessionError};

pub use tally::{flakiness_score, Collector, SeriesTally, TestStress};

/// `--until-fail` without `--max`: enough to catch a one-in-twenty flake almost surely.
pub const DEFAULT_MAX: u32 = 100;

/// How many times the selection runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// `--repeat N`: N repetitions, fewer only when one cannot go on (interrupted, an error).
    Times(u32),
    /// `--until-fail --max N`: until a repetition has a failure, at most N.
    UntilFail { max: u32 },
}

impl Repeat {
    /// The mode the `run` flags ask for; `None` for a single run.
    pub fn from_flags(repeat: Option<u32>, until_fail: bool, max: Option<u32>) -> Option<Repeat> {
        match (repeat, until_fail) {
            (Some(times), _) => Some(Repeat::Times(times)),
            (None, true) => Some(Repeat::UntilFail {
                max: max.unwrap_or(DEFAULT_MAX),
            }),
            (None, false) => None,
        }
    }

    /// The most repetitions the series runs.
    pub fn limit(self) -> u32 {
        match self {
            Repeat::Times(n) | Repeat::UntilFail { max: n } => n,
        }
    }

    /// Whether the series stops after a repetition that ended so.
    fn stops_after(self, exit: ExitCode) -> bool {
        match exit {
            ExitCode::Ok => false,
            ExitCode::TestsFailed => matches!(self, Repeat::UntilFail { .. }),
            // Interrupted, an error that would recur, or nothing to repeat.
            _ => true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StressError {
    #[error(transparent)]
    Session(#[from] SessionError),
    /// A repetition's reporters cannot be made (a database the user named, an event log
    /// that cannot be created).
    #[error(transparent)]
    Reporters(#[from] ReportError),
}

impl StressError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            StressError::Session(error) => error.exit_code(),
            StressError::Reporters(_) => ExitCode::UsageError,
        }
    }
}

/// What a series found, for its summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StressSummary {
    /// The id its runs share in history.
    pub series: String,
    /// Repetitions that ran (the interrupted one included).
    pub repetitions: usize,
    /// Repetitions with a failure.
    pub failed_repetitions: usize,
    pub interrupted: bool,
    /// The repetitions were recorded in history.
    pub recorded: bool,
    /// Tests that failed at least once: flaky ones first, then those that failed every time.
    pub tests: Vec<TestStress>,
}

/// Makes one repetition's reporters (terminal, JUnit, the history recorder in the series
/// named): fresh ones each time, since a reporter finishes with its run.
pub type MakeReporters<'a> = dyn FnMut(&str) -> Result<Vec<Box<dyn Reporter>>, ReportError> + 'a;

/// Runs the series: a "repeat n/N" line before each repetition, the stress summary after the
/// last, both to `out`. The exit code is 2 if interrupted, 1 if any repetition failed, 5 if
/// nothing ran, else 0 (a usage or internal error stops the series with its own code).
pub fn run_series(
    request: &RunRequest,
    repeat: Repeat,
    make_reporters: &mut MakeReporters,
    cancel: &AtomicBool,
    out: &mut dyn Write,
) -> Result<RunOutcome, StressError> {
    let series = series_id();
    let mut tally = SeriesTally::default();
    let mut exits = Vec::new();
    let mut ran = 0;
    let mut last_message = None;
    for n in 1..=repeat.limit() {
        if cancel.load(Ordering::SeqCst) {
            // Ctrl-C between two repetitions: the series is interrupted all the same.
            exits.push(ExitCode::Interrupted);
            break;
        }
        let _ = writeln!(out, "{}", render_repeat_header(n, repeat));
        let _ = out.flush();
        ran += 1;
        let outcome = match repetition(request, &series, make_reporters, &mut tally, cancel) {
            Ok(outcome) => outcome,
            Err(error) => {
                summarize(out, &series, ran, &exits, &tally, request);
                return Err(error);
            }
        };
        exits.push(outcome.exit);
        last_message = outcome.message;
        if repeat.stops_after(outcome.exit) {
            break;
        }
    }
    summarize(out, &series, ran, &exits, &tally, request);
    let exit = series_exit(&exits);
    let message = last_message.filter(|_| exit_with_message(exit));
    Ok(RunOutcome { exit, message })
}

/// One repetition: a whole run, with the tally's collector beside the caller's reporters.
fn repetition(
    request: &RunRequest,
    series: &str,
    make_reporters: &mut MakeReporters,
    tally: &mut SeriesTally,
    cancel: &AtomicBool,
) -> Result<RunOutcome, StressError> {
    let mut reporters = make_reporters(series)?;
    reporters.push(Box::new(tally.collector()));
    let outcome = session::run(request, &mut reporters, cancel);
    // What ran before an error still counts.
    tally.end_repetition();
    Ok(outcome?)
}

fn summarize(
    out: &mut dyn Write,
    series: &str,
    ran: usize,
    exits: &[ExitCode],
    tally: &SeriesTally,
    request: &RunRequest,
) {
    let summary = StressSummary {
        series: series.to_string(),
        repetitions: ran,
        failed_repetitions: exits
            .iter()
            .filter(|e| **e == ExitCode::TestsFailed)
            .count(),
        interrupted: exits.contains(&ExitCode::Interrupted),
        recorded: request.history.as_ref().is_some_and(|h| h.record),
        tests: tally.failed_tests(),
    };
    let _ = write!(out, "{}", render_stress_summary(&summary));
    let _ = out.flush();
}

/// The series' exit code from its repetitions': as a single run orders them, an error first,
/// then interrupted, tests failed, passed, and nothing collected last.
pub fn series_exit(exits: &[ExitCode]) -> ExitCode {
    let order = [
        ExitCode::UsageError,
        ExitCode::InternalError,
        ExitCode::Interrupted,
        ExitCode::TestsFailed,
        ExitCode::Ok,
    ];
    order
        .into_iter()
        .find(|code| exits.contains(code))
        .unwrap_or(ExitCode::NoTestsCollected)
}

/// Whether the caller prints the repetition's message (as it does for a single run's errors).
fn exit_with_message(exit: ExitCode) -> bool {
    matches!(exit, ExitCode::UsageError | ExitCode::InternalError)
}

/// The id the series' runs share in history: when it started and who ran it.
fn series_id() -> String {
    format!("repeat-{}-{}", now_ms(), std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_make_a_mode() {
        assert_eq!(Repeat::from_flags(None, false, None), None);
        assert_eq!(
            Repeat::from_flags(Some(3), false, None),
            Some(Repeat::Times(3))
        );
        let until = Repeat::from_flags(None, true, None);
        assert_eq!(until, Some(Repeat::UntilFail { max: DEFAULT_MAX }));
        let capped = Repeat::from_flags(None, true, Some(5)).map(Repeat::limit);
        assert_eq!(capped, Some(5));
    }

    #[test]
    fn only_until_fail_stops_at_a_failure_and_every_mode_at_an_interrupt() {
        let times = Repeat::Times(10);
        let until = Repeat::UntilFail { max: 10 };
        assert!(!times.stops_after(ExitCode::TestsFailed));
        assert!(until.stops_after(ExitCode::TestsFailed));
        for exit in [
            ExitCode::Interrupted,
            ExitCode::UsageError,
            ExitCode::NoTestsCollected,
        ] {
            assert!(
                times.stops_after(exit) && until.stops_after(exit),
                "{exit:?}"
            );
        }
        assert!(!times.stops_after(ExitCode::Ok) && !until.stops_after(ExitCode::Ok));
    }

    #[test]
    fn the_series_exit_is_the_worst_repetition() {
        use ExitCode::*;
        assert_eq!(series_exit(&[Ok, TestsFailed, Ok]), TestsFailed);
        assert_eq!(series_exit(&[TestsFailed, Interrupted]), Interrupted);
        assert_eq!(series_exit(&[Ok, Ok]), Ok);
        assert_eq!(series_exit(&[NoTestsCollected]), NoTestsCollected);
        assert_eq!(series_exit(&[]), NoTestsCollected);
        assert_eq!(series_exit(&[TestsFailed, UsageError]), UsageError);
    }

    #[test]
    fn series_ids_name_their_start_and_process() {
        let id = series_id();
        let pid = format!("-{}", std::process::id());
        assert!(id.starts_with("repeat-") && id.ends_with(&pid), "{id}");
    }
}
