//! One `vigil run`: discover → plan → execute, fanning every event out to the reporters, and
//! the exit code pytest would give.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use crate::discover::{self, DiscoverError};
use crate::events::{Event, Tally};
use crate::execute::{self, ExecuteError, ExecuteOptions, Execution};
use crate::exit::ExitCode;
use crate::plan::{self, FileSizeEstimate};
use crate::report::{ReportError, Reporter};

/// Everything a run needs, already resolved from flags, environment and config.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub invocation_dir: PathBuf,
    /// Paths or node ids, as given to pytest.
    pub paths: Vec<String>,
    pub keyword: Option<String>,
    pub markers: Option<String>,
    /// Arguments after `--`, plus the config's `pytest_args`.
    pub pytest_args: Vec<OsString>,
    pub jobs: usize,
    pub timeout: Option<Duration>,
    pub python: PathBuf,
    pub capture_cap: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    #[error(transparent)]
    Execute(#[from] ExecuteError),
    #[error(transparent)]
    Report(#[from] ReportError),
}

impl SessionError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            SessionError::Discover(_) => ExitCode::UsageError,
            _ => ExitCode::InternalError,
        }
    }
}

/// How the run ended: the exit code, and a message for stderr when it was not the tests' doing.
#[derive(Debug)]
pub struct RunOutcome {
    pub exit: ExitCode,
    pub message: Option<String>,
}

/// Runs the request, sending every event to every reporter, then finishing each reporter.
pub fn run(
    request: &RunRequest,
    reporters: &mut [Box<dyn Reporter>],
    cancel: &AtomicBool,
) -> Result<RunOutcome, SessionError> {
    let started = Instant::now();
    let discovery = discover::discover(&request.invocation_dir, &request.paths)?;
    let batches = plan::balance(&discovery.files, request.jobs, &FileSizeEstimate);
    // With nothing discovered, one worker still runs: pytest may collect what discovery did not.
    let batches = if batches.is_empty() {
        vec![vec![]]
    } else {
        batches
    };
    let all_files: Vec<PathBuf> = discovery.files.iter().map(|f| f.path.clone()).collect();
    let options = execute_options(request, discovery.config.rootdir.clone());
    let mut fanout = Fanout {
        reporters: &mut *reporters,
        tally: Tally::default(),
    };
    fanout.send(Event::RunStarted {
        rootdir: discovery.config.rootdir.clone(),
        files: all_files.len(),
        workers: batches.len(),
    });
    let execution = execute::execute(&batches, &all_files, &options, cancel, &mut |event| {
        fanout.send(event)
    })?;
    let outcome = verdict(&execution, &fanout.tally);
    if let Some(message) = &outcome.message {
        fanout.send(Event::Notice {
            message: message.clone(),
        });
    }
    let tally = fanout.tally.clone();
    fanout.send(Event::RunFinished {
        tally,
        exit: outcome.exit,
        duration: started.elapsed(),
    });
    for reporter in reporters.iter_mut() {
        reporter.finish()?;
    }
    Ok(outcome)
}

/// Sends each event to every reporter, counting outcomes on the way.
struct Fanout<'r> {
    reporters: &'r mut [Box<dyn Reporter>],
    tally: Tally,
}

impl Fanout<'_> {
    fn send(&mut self, event: Event) {
        if let Event::TestFinished(result) = &event {
            self.tally.add(result.outcome);
        }
        for reporter in self.reporters.iter_mut() {
            reporter.on_event(&event);
        }
    }
}

/// The arguments every worker's pytest gets: paths, `-k`, `-m`, then the pass-through ones.
pub fn execute_options(request: &RunRequest, rootdir: PathBuf) -> ExecuteOptions {
    let mut args: Vec<OsString> = request.paths.iter().map(OsString::from).collect();
    if let Some(k) = &request.keyword {
        args.extend(["-k".into(), k.into()]);
    }
    if let Some(m) = &request.markers {
        args.extend(["-m".into(), m.into()]);
    }
    args.extend(request.pytest_args.iter().cloned());
    ExecuteOptions {
        python: request.python.clone(),
        cwd: request.invocation_dir.clone(),
        rootdir,
        pytest_args: args,
        timeout: request.timeout,
        capture_cap: request.capture_cap,
    }
}

/// pytest's exit codes: usage and internal errors first, then interruption, failures, and
/// "nothing collected".
fn verdict(execution: &Execution, tally: &Tally) -> RunOutcome {
    let (exit, message) = if let Some(message) = &execution.usage_error {
        (ExitCode::UsageError, Some(message.clone()))
    } else if let Some(message) = &execution.internal_error {
        (ExitCode::InternalError, Some(message.clone()))
    } else if execution.interrupted {
        (ExitCode::Interrupted, Some("interrupted".to_string()))
    } else if tally.failures() > 0 {
        (ExitCode::TestsFailed, None)
    } else if tally.total() == 0 {
        (ExitCode::NoTestsCollected, Some("no tests ran".to_string()))
    } else {
        (ExitCode::Ok, None)
    };
    RunOutcome { exit, message }
}
