//! One `vigil run`: discover → prepare (static reading, probes, dependencies, native tests) →
//! one pass of the workers per tier wave → the exit code pytest would give. Every event goes
//! to every reporter.

mod breaker;
mod diagnosis;
mod fanout;
mod history;
pub mod partition;
mod prepare;
mod preview;
pub mod request;
mod retries;
mod retry_policy;
mod retry_state;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use crate::diagnose::Diagnoser;
use crate::discover::native::NativeTest;
use crate::discover::{self, DiscoverError, Discovery};
use crate::events::{Event, Outcome, SkipInfo, Tally, TestResult};
use crate::execute::{self, ExecuteError, ExecuteOptions, Execution, Work};
use crate::exit::ExitCode;
use crate::plan::capabilities::CapabilityConfig;
use crate::plan::partition::Partition;
use crate::plan::tiers::{self, TierError};
use crate::plan::{self, Estimate, Tiers};
use crate::redact::Redactor;
use crate::report::{ReportError, Reporter};
use crate::retry::{FlakyResult, RetryPolicy};

pub use breaker::BreakerSettings;
pub use diagnosis::{diagnose_settings, DiagnoseSettings};
use fanout::Fanout;
pub use history::{recorder, HistorySettings};
pub use prepare::{native_tier, Prepared};
pub use preview::{preview, Preview, PreviewWave, PreviewWorker};

/// Everything a run needs, already resolved from flags, environment and config.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub invocation_dir: PathBuf,
    /// Paths or node ids, as given to pytest (`native:` ids select native tests).
    pub paths: Vec<String>,
    pub keyword: Option<String>,
    pub markers: Option<String>,
    /// Arguments after `--`, plus the config's `pytest_args`.
    pub pytest_args: Vec<OsString>,
    pub jobs: usize,
    pub timeout: Option<Duration>,
    pub python: PathBuf,
    pub capture_cap: usize,
    /// `--capture-spool DIR`: the whole of captured output longer than the cap, on disk.
    pub capture_spool: Option<PathBuf>,
    pub planning: Planning,
    /// Where runs are recorded and durations come from; `None` when there is no history.
    pub history: Option<HistorySettings>,
    /// Rules and log files for diagnosing failures.
    pub diagnose: DiagnoseSettings,
    /// Which failures run again, and how.
    pub retry: RetryPolicy,
    /// When a failing capability's remaining tests are skipped as blocked.
    pub breaker: BreakerSettings,
    /// `--partition`: run only this machine's shard of the selection.
    pub partition: Option<Partition>,
    /// The secret values no reporter or history may see (from vigil's environment, which
    /// the workers inherit, and `[redact]`).
    pub redact: Redactor,
}

/// The planning side of a request: tiers, gates, capabilities, native suites.
#[derive(Debug, Clone)]
pub struct Planning {
    pub profile: String,
    pub tiers: Tiers,
    /// Only these tiers run; `None` runs all (and pytest alone decides what runs).
    pub select_tiers: Option<Vec<String>>,
    pub gates: BTreeMap<String, Vec<String>>,
    pub capabilities: BTreeMap<String, CapabilityConfig>,
    pub native: Option<NativeRequest>,
}

/// Which native test binaries run, and how.
#[derive(Debug, Clone)]
pub struct NativeRequest {
    /// The Cargo.toml to build test binaries from (unless `binaries` are given).
    pub manifest: Option<PathBuf>,
    pub binaries: Vec<PathBuf>,
    pub cargo_args: Vec<String>,
    pub include_ignored: bool,
    pub cwd: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    #[error(transparent)]
    Execute(#[from] ExecuteError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error(transparent)]
    Tier(#[from] TierError),
    /// The plan cannot be made: unknown dependency names, a cycle, an unknown capability.
    #[error("{0}")]
    Plan(String),
}

impl SessionError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            SessionError::Execute(_) | SessionError::Report(_) => ExitCode::InternalError,
            _ => ExitCode::UsageError,
        }
    }
}

/// How the run ended: the exit code, and a message for stderr when it was not the tests' doing.
#[derive(Debug)]
pub struct RunOutcome {
    pub exit: ExitCode,
    pub message: Option<String>,
}

/// One pass of the workers: the tiers it runs, and whether tiers are filtered at all.
#[derive(Debug, Clone)]
pub struct Wave {
    pub tiers: Vec<String>,
    /// False for a plain run (one wave, no `--tier`): pytest alone decides what runs.
    pub filtered: bool,
}

/// The waves a request runs: one per gate level, or a single unfiltered one.
pub fn waves(planning: &Planning) -> Result<Vec<Wave>, SessionError> {
    let all: Vec<String> = planning
        .tiers
        .names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let selected = planning.select_tiers.clone().unwrap_or(all);
    let gated = tiers::mentioned(&planning.gates);
    for tier in selected.iter().map(String::as_str).chain(gated) {
        planning
            .tiers
            .check(tier, "the tier selection or tier_gates")?;
    }
    let levels = tiers::waves(&selected, &planning.gates)?;
    let filtered = planning.select_tiers.is_some() || levels.len() > 1;
    Ok(levels
        .into_iter()
        .map(|tiers| Wave { tiers, filtered })
        .collect())
}

/// Runs the request, sending every event to every reporter, then finishing each reporter.
pub fn run(
    request: &RunRequest,
    reporters: &mut [Box<dyn Reporter>],
    cancel: &AtomicBool,
) -> Result<RunOutcome, SessionError> {
    let started = Instant::now();
    request.redact.warn_once();
    let (mut discovery, mut python_paths) = discover_python(request)?;
    let rootdir = discovery.config.rootdir.clone();
    let mut prepared = prepare::prepare(request, &discovery.files, &rootdir)?;
    let mut native = selected_native(request, &prepared.native);
    let shard = request.partition.map(|p| {
        let groups = &prepared.groups;
        partition::Shard::compute(request, p, &discovery.files, groups, &native, &rootdir)
    });
    // Every discovered file, other shards' too: a worker leaves files it is told belong to
    // others alone (their collection errors included), and claims any it was not told of.
    let all_files: Vec<PathBuf> = discovery.files.iter().map(|f| f.path.clone()).collect();
    if let Some(shard) = &shard {
        let files = shard.run_files(&rootdir);
        discovery.files.retain(|f| files.contains(&f.path));
        // A blind worker would collect every file only to deselect other shards' tests.
        python_paths &= !discovery.files.is_empty();
        native.retain(|t| shard.owns(&t.id));
        prepared.native_errors.retain(|e| shard.owns(&e.id));
    }
    let estimate = history::estimate(request, &rootdir, &discovery.files);
    let waves = waves(&request.planning)?;
    // The file the circuit breaker tells the workers about open capabilities through.
    let scratch = tempfile::Builder::new()
        .prefix("vigil-breaker-")
        .tempdir()
        .map_err(execute::ExecuteError::Scratch)?;
    let planned = Planned {
        discovery: &discovery,
        prepared: &prepared,
        native: &native,
        estimate: &*estimate,
        python_paths,
        rootdir: &rootdir,
        blocked_file: scratch.path().join("blocked.json"),
        shard: shard.as_ref(),
        all_files,
    };
    let mut fanout = fanout(request, &mut *reporters, &planned);
    fanout.send(Event::RunStarted {
        rootdir: rootdir.clone(),
        files: discovery.files.len(),
        workers: starting_workers(request, &discovery, &prepared, native.len(), &*estimate),
    });
    if let Some(shard) = &shard {
        let mut summary = shard.summary.clone();
        summary.tests.clear();
        fanout.send(Event::Partitioned(summary));
    }
    for error in &prepared.native_errors {
        fanout.send(Event::TestFinished(error.clone()));
    }
    let state = capture_state(request, &mut fanout);
    let execution = run_waves(
        request,
        &planned,
        &waves,
        &mut fanout,
        state.as_ref(),
        cancel,
    )?;
    if let Some(Err(error)) = state.map(retry_state::Captured::discard) {
        fanout.send(Event::Notice {
            message: format!("cannot forget the run's retry-state snapshot: {error}"),
        });
    }
    let flaky_fails = request.retry.flaky_result == FlakyResult::Fail;
    let mut outcome = verdict(&execution, &fanout.tally, flaky_fails);
    // The caller prints it too (a worker's usage error can quote the test's output).
    if let Some(message) = &mut outcome.message {
        request.redact.redact_string(message);
    }
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
    finish_reporters(reporters)?;
    Ok(outcome)
}

/// What the run decided before the first worker starts.
struct Planned<'a> {
    discovery: &'a Discovery,
    prepared: &'a Prepared,
    native: &'a [NativeTest],
    estimate: &'a dyn Estimate,
    /// Whether pytest should run even when discovery found no file (paths were given).
    python_paths: bool,
    rootdir: &'a std::path::Path,
    blocked_file: PathBuf,
    shard: Option<&'a partition::Shard>,
    all_files: Vec<PathBuf>,
}

/// The event fan-out, with its diagnoser and circuit breaker.
fn fanout<'r>(
    request: &'r RunRequest,
    reporters: &'r mut [Box<dyn Reporter>],
    planned: &Planned,
) -> Fanout<'r> {
    let native_tiers = planned
        .native
        .iter()
        .map(|t| {
            let tier = native_tier(&request.planning.tiers, t);
            (t.id.clone(), tier.to_string())
        })
        .collect();
    let breaker = breaker::Breaker::new(
        request.breaker.clone(),
        request.planning.capabilities.clone(),
        &planned.blocked_file,
    );
    Fanout::new(
        reporters,
        &request.planning.tiers,
        planned.rootdir,
        native_tiers,
        Diagnoser::new(request.diagnose.rules.clone(), planned.rootdir),
        breaker,
        request.redact.clone(),
    )
}

/// Before any test can change it: the state each retry starts from.
fn capture_state(request: &RunRequest, fanout: &mut Fanout) -> Option<retry_state::Captured> {
    match retry_state::capture(request.retry.state.as_ref()) {
        Ok(state) => state,
        Err(error) => {
            fanout.send(Event::Notice {
                message: format!("retry state not snapshot, so failures are not retried: {error}"),
            });
            None
        }
    }
}

/// One pass of the workers per tier wave, each followed by its retries.
fn run_waves(
    request: &RunRequest,
    planned: &Planned,
    waves: &[Wave],
    fanout: &mut Fanout,
    state: Option<&retry_state::Captured>,
    cancel: &AtomicBool,
) -> Result<Execution, SessionError> {
    let mut execution = Execution::default();
    let discovery = planned.discovery;
    for (index, wave) in waves.iter().enumerate() {
        let gated = fanout.gate(&wave.tiers, &request.planning.gates);
        let work = wave_work(
            request,
            discovery,
            planned.prepared,
            planned.native,
            wave,
            &gated,
            planned.estimate,
        );
        for skipped in &work.gated_native {
            fanout.send(Event::TestFinished(skipped.clone()));
        }
        let first_and_blind = index == 0 && discovery.files.is_empty() && planned.native.is_empty();
        let batches = if work.batches.is_empty() && (first_and_blind && planned.python_paths) {
            // Nothing discovered: one worker still runs, pytest may collect what discovery did not.
            vec![vec![]]
        } else {
            work.batches
        };
        if batches.is_empty() && work.native.is_empty() {
            continue;
        }
        let mut plan = plugin_plan(request, planned.prepared, wave, &gated);
        plan["blocked_file"] = planned.blocked_file.to_string_lossy().into_owned().into();
        if let Some(shard) = planned.shard {
            plan["partition"] = shard.plugin_plan();
        }
        let options = execute_options(request, planned.rootdir.to_path_buf(), plan);
        let work = Work {
            batches: &batches,
            all_files: &planned.all_files,
            native: &work.native,
        };
        let done = execute::execute(&work, &options, cancel, &mut |event| fanout.send(event))?;
        absorb(&mut execution, done);
        // Retries before the next wave: its gates see the tiers as the retries left them.
        if !stopped(&execution) {
            let retried = retries::retry(request, fanout, &options, work.native, state, cancel)?;
            absorb(&mut execution, retried);
        }
        if stopped(&execution) {
            break;
        }
    }
    Ok(execution)
}

/// Every reporter finishes even when one fails: a JUnit file that cannot be written must not
/// cost the run its history, nor the other way round.
pub fn finish_reporters(reporters: &mut [Box<dyn Reporter>]) -> Result<(), SessionError> {
    let mut first_error = None;
    for reporter in reporters.iter_mut() {
        if let Err(error) = reporter.finish() {
            first_error.get_or_insert(error);
        }
    }
    match first_error {
        Some(error) => Err(error.into()),
        None => Ok(()),
    }
}

/// Processes the first wave starts at most: pytest workers (files joined by dependencies
/// share one) plus native tests, within `-j`.
fn starting_workers(
    request: &RunRequest,
    discovery: &Discovery,
    prepared: &Prepared,
    native: usize,
    estimate: &dyn Estimate,
) -> usize {
    let python = plan::balance(&discovery.files, &prepared.groups, request.jobs, estimate);
    (python.len() + native).min(request.jobs).max(1)
}

/// Discovery of the Python side; `false` when only native tests were asked for by id.
fn discover_python(request: &RunRequest) -> Result<(Discovery, bool), SessionError> {
    let python = request.python_paths();
    let wanted = request.paths.is_empty() || !python.is_empty();
    let mut discovery = discover::discover(&request.invocation_dir, &python)?;
    if !wanted {
        discovery.files.clear();
    }
    Ok((discovery, wanted))
}

/// The start of a native (Rust) test's id, as a path selects it.
pub const NATIVE_PREFIX: &str = "native:";

impl RunRequest {
    /// The paths that are pytest's (files, directories, node ids), not `native:` ids.
    pub fn python_paths(&self) -> Vec<String> {
        self.paths
            .iter()
            .filter(|p| !p.starts_with(NATIVE_PREFIX))
            .cloned()
            .collect()
    }
}

/// Native tests the paths select: all without paths, those whose id starts with a given
/// `native:` prefix, none when only Python paths were given.
fn selected_native(request: &RunRequest, native: &[NativeTest]) -> Vec<NativeTest> {
    let selectors: Vec<&String> = request
        .paths
        .iter()
        .filter(|p| p.starts_with(NATIVE_PREFIX))
        .collect();
    native
        .iter()
        .filter(|t| {
            request.paths.is_empty() || selectors.iter().any(|s| t.id.starts_with(s.as_str()))
        })
        .cloned()
        .collect()
}

/// What one wave runs.
struct WaveWork {
    batches: Vec<Vec<PathBuf>>,
    native: Vec<NativeTest>,
    /// Native tests of a gated tier, already decided: skipped, with the gate's reason.
    gated_native: Vec<TestResult>,
}

fn wave_work(
    request: &RunRequest,
    discovery: &Discovery,
    prepared: &Prepared,
    native: &[NativeTest],
    wave: &Wave,
    gated: &BTreeMap<String, String>,
    estimate: &dyn Estimate,
) -> WaveWork {
    let in_wave = |tier: &str| !wave.filtered || wave.tiers.iter().any(|t| t == tier);
    let files: Vec<_> = discovery
        .files
        .iter()
        .filter(|f| match prepared.file_tiers.get(&f.path) {
            Some(Some(tiers)) => tiers.iter().any(|t| in_wave(t)),
            _ => true,
        })
        .cloned()
        .collect();
    let batches = plan::balance(&files, &prepared.groups, request.jobs, estimate);
    let mut work = WaveWork {
        batches,
        native: vec![],
        gated_native: vec![],
    };
    for test in native {
        let tier = native_tier(&request.planning.tiers, test);
        match gated.get(tier) {
            _ if !in_wave(tier) => {}
            Some(reason) => work.gated_native.push(skipped(test, tier, reason)),
            None => work.native.push(test.clone()),
        }
    }
    work
}

fn skipped(test: &NativeTest, tier: &str, reason: &str) -> TestResult {
    let skip = SkipInfo {
        message: reason.to_string(),
        location: None,
    };
    let mut result = TestResult::bare(test.id.clone(), Outcome::Skipped, vec![], Some(skip), 0);
    result.tier = Some(tier.to_string());
    result
}

/// What the pytest plugin needs to apply the plan in a worker (see `_Plan` in the plugin).
fn plugin_plan(
    request: &RunRequest,
    prepared: &Prepared,
    wave: &Wave,
    gated: &BTreeMap<String, String>,
) -> serde_json::Value {
    serde_json::json!({
        "tiers": request.planning.tiers.defs,
        "run_tiers": wave.filtered.then_some(&wave.tiers),
        "gated": gated,
        "capabilities": prepared.probes.to_json(),
        "named": request.planning.capabilities.keys().collect::<Vec<_>>(),
        "logs": request.diagnose.logs,
    })
}

/// Whether the run cannot go on: interrupted, or a usage or internal error.
fn stopped(execution: &Execution) -> bool {
    execution.interrupted || execution.usage_error.is_some() || execution.internal_error.is_some()
}

/// Folds one wave's execution into the run's.
pub(crate) fn absorb(run: &mut Execution, wave: Execution) {
    run.usage_error = run.usage_error.take().or(wave.usage_error);
    run.internal_error = run.internal_error.take().or(wave.internal_error);
    run.interrupted |= wave.interrupted;
}
/// The arguments every worker's pytest gets: paths, `-k`, `-m`, then the pass-through ones.
pub fn execute_options(
    request: &RunRequest,
    rootdir: PathBuf,
    plugin_plan: serde_json::Value,
) -> ExecuteOptions {
    let mut args: Vec<OsString> = request
        .paths
        .iter()
        .filter(|p| !p.starts_with(NATIVE_PREFIX))
        .map(OsString::from)
        .collect();
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
        capture_spool: request.capture_spool.clone(),
        jobs: request.jobs,
        include_ignored: request
            .planning
            .native
            .as_ref()
            .is_some_and(|n| n.include_ignored),
        plugin_plan,
        log_patterns: request.diagnose.logs.clone(),
    }
}

/// pytest's exit codes: usage and internal errors first, then interruption, failures, and
/// "nothing collected".
fn verdict(execution: &Execution, tally: &Tally, flaky_fails: bool) -> RunOutcome {
    let (exit, message) = if let Some(message) = &execution.usage_error {
        (ExitCode::UsageError, Some(message.clone()))
    } else if let Some(message) = &execution.internal_error {
        (ExitCode::InternalError, Some(message.clone()))
    } else if execution.interrupted {
        (ExitCode::Interrupted, Some("interrupted".to_string()))
    } else if tally.failures() > 0 {
        (ExitCode::TestsFailed, None)
    } else if flaky_fails && tally.flaky() > 0 {
        (
            ExitCode::TestsFailed,
            Some(format!(
                "{} test(s) passed only on a retry, and --flaky-result is fail",
                tally.flaky()
            )),
        )
    } else if tally.total() == 0 {
        (ExitCode::NoTestsCollected, Some("no tests ran".to_string()))
    } else {
        (ExitCode::Ok, None)
    };
    RunOutcome { exit, message }
}
