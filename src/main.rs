//! The `vigil` command line: parses flags, resolves them against environment and config, and
//! calls the library. Exit codes are pytest's.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

mod cli;

use cli::diagnose::DiagnoseArgs;
use cli::history::{HistoryArgs, ReportArgs, TrendsArgs};
use cli::merge::MergeArgs;
use cli::outputs::{run_reporters, OutputArgs};
use cli::schedule::ScheduleArgs;
use cli::snapshot::SnapshotArgs;
use cli::verify::VerifyArgs;
use cli::watch::WatchArgs;
use cli::{json_format, print_json, usage, Failure};

use vigil::config::{self, Loaded};
use vigil::discover;
use vigil::events::PlannedTest;
use vigil::execute::descendants;
use vigil::exit::ExitCode;
use vigil::interrupt::Latch;
use vigil::plan::partition::Partition;
use vigil::redact::Redactor;
use vigil::report::{render_plan, render_tier_counts};
use vigil::session::request::{self, Flags};
use vigil::session::{self, Preview};
use vigil::stress::{self, Repeat};

#[derive(Parser)]
#[command(
    name = "vigil",
    version,
    about = "Runs pytest and Rust test suites in parallel, by tier, with exact fidelity"
)]
struct Cli {
    /// Run as if started in DIR.
    #[arg(short = 'C', global = true, value_name = "DIR")]
    directory: Option<PathBuf>,
    /// The history database (default: VIGIL_HISTORY, `[history] path`, .vigil/history.db).
    #[arg(long, global = true, value_name = "PATH")]
    history: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run tests.
    Run(RunArgs),
    /// Run tests again and again: --every 30m, --at 02:00 or --cron "0 2 * * *" (local time).
    Schedule(ScheduleArgs),
    /// List test files (--files), test ids, or counts per tier (--by-tier).
    List(ListArgs),
    /// Show what a run would do, without running anything: order, workers, skips and why.
    Plan(PlanArgs),
    /// Recent runs, or one test's timeline; `prune` and `import` manage the database.
    History(HistoryArgs),
    /// Pass rates, new failures, fixed, still failing, flaky, slowest, duration regressions.
    Trends(TrendsArgs),
    /// Write a self-contained HTML report of a run and the trends before it.
    Report(ReportArgs),
    /// The latest run and recent flakiness as OpenMetrics text (Prometheus, node_exporter).
    Metrics(cli::metrics::MetricsArgs),
    /// A run's failures grouped by cause: category, history and what to do about each.
    Diagnose(DiagnoseArgs),
    /// For a healer: apply a fix, run the failing and nearby tests, keep it or roll it back.
    Verify(VerifyArgs),
    /// Snapshot files into the rollback store (.vigil/snapshots); diff, restore, verify, prune.
    Snapshot(SnapshotArgs),
    /// Run the tests file changes affect whenever files are saved (keys: a, f, Enter, q).
    Watch(WatchArgs),
    /// Combine the shards of a `--partition`ed run (event logs, JUnit, histories) into one.
    Merge(MergeArgs),
}

impl Command {
    /// Commands that change nothing (no run, no history or snapshot write): safe to end at any
    /// point, so a closed stdout may end them.
    fn only_reads(&self) -> bool {
        match self {
            Command::List(_) | Command::Plan(_) | Command::Trends(_) => true,
            Command::History(args) => args.only_reads(),
            Command::Diagnose(args) => args.only_reads(),
            _ => false,
        }
    }

    /// The test selection of the commands that run or list tests.
    fn selection_mut(&mut self) -> Option<&mut Selection> {
        match self {
            Command::Run(args) => Some(&mut args.selection),
            Command::List(args) => Some(&mut args.selection),
            Command::Plan(args) => Some(&mut args.selection),
            _ => None,
        }
    }
}

#[derive(Args, Clone)]
struct Selection {
    /// Files, directories or node ids, as for pytest; `native:crate::binary::test` ids (or
    /// prefixes of them) select native tests.
    paths: Vec<String>,
    /// Only tests matching this pytest keyword expression.
    #[arg(short = 'k', value_name = "EXPR")]
    keyword: Option<String>,
    /// Only tests matching this pytest marker expression.
    #[arg(short = 'm', value_name = "EXPR")]
    markers: Option<String>,
    /// Only tests of these tiers (comma-separated: unit,integration,e2e,performance,stress,
    /// a tier from config, untiered).
    #[arg(long, value_name = "TIERS", value_delimiter = ',')]
    tier: Option<Vec<String>>,
    /// Configuration profile: default, ci, nightly, or one from config (default: VIGIL_PROFILE).
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Run every selected tier at once, whatever the profile's tier gates say.
    #[arg(long)]
    no_tier_gates: bool,
    /// Also run native tests marked #[ignore].
    #[arg(long)]
    include_ignored: bool,
    /// Python interpreter to run pytest with (default: VIGIL_PYTHON, config, .venv, python3).
    #[arg(long, value_name = "PATH")]
    python: Option<PathBuf>,
    /// Only the tests that the work tree's changes since HEAD (committed, staged, unstaged,
    /// untracked) can affect, by the import graph.
    #[arg(long)]
    changed: bool,
    /// With --changed: changes since this revision rather than HEAD (implies --changed).
    #[arg(long, value_name = "REV")]
    since: Option<String>,
    /// With --changed: say on stderr why each test was selected (the chain of names from the
    /// change to the test).
    #[arg(long)]
    explain: bool,
    /// Run only shard M of N of the selection: KIND is hash (by test id, stable under
    /// filtering), slice (round-robin) or duration (balanced by history's durations).
    #[arg(long, value_name = "KIND:M/N")]
    partition: Option<Partition>,
    /// Arguments handed to pytest as they are.
    #[arg(last = true, value_name = "PYTEST_ARGS")]
    pytest_args: Vec<OsString>,
}

#[derive(Args, Clone)]
struct RunArgs {
    #[command(flatten)]
    selection: Selection,
    /// Number of worker processes, pytest workers and native tests together (default: cores).
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    jobs: Option<usize>,
    /// Kill a test's worker when the test runs longer than SECS.
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,
    #[command(flatten)]
    outputs: OutputArgs,
    /// Largest captured output kept per test section, in characters.
    #[arg(long, value_name = "CHARS", default_value_t = 1 << 20)]
    capture_cap: usize,
    /// Write the whole of any captured section longer than --capture-cap to a file in DIR
    /// (the report's marker names it), instead of dropping the rest.
    #[arg(long, value_name = "DIR")]
    capture_spool: Option<PathBuf>,
    /// Do not record this run in history.
    #[arg(long)]
    no_history: bool,
    /// Run a failed test up to N more times when its failure is worth it (transient, flaky
    /// before, `only_rerun`); deterministic failures are not retried.
    #[arg(long, value_name = "N")]
    retries: Option<u32>,
    /// Whether a test that passed only on a retry fails the run.
    #[arg(long, value_name = "RESULT", value_parser = ["pass", "fail"])]
    flaky_result: Option<String>,
    /// Run the selection N times, each a whole run with fresh workers recorded in history as
    /// one series, then sum up which tests failed how often (hunting flaky tests).
    #[arg(long, value_name = "N", conflicts_with = "until_fail",
          value_parser = clap::value_parser!(u32).range(1..))]
    repeat: Option<u32>,
    /// Run the selection again until a run has a failure (at most --max times).
    #[arg(long)]
    until_fail: bool,
    /// With --until-fail: the most runs (default 100).
    #[arg(long, value_name = "N", requires = "until_fail",
          value_parser = clap::value_parser!(u32).range(1..))]
    max: Option<u32>,
}

#[derive(Args)]
struct ListArgs {
    #[command(flatten)]
    selection: Selection,
    /// List test files found by discovery instead of collecting test ids.
    #[arg(long, conflicts_with = "by_tier")]
    files: bool,
    /// Count the collected tests per tier.
    #[arg(long)]
    by_tier: bool,
}

#[derive(Args)]
struct PlanArgs {
    #[command(flatten)]
    selection: Selection,
    /// Number of workers to plan for (default: as `vigil run` would use).
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    jobs: Option<usize>,
    /// text or json.
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    format: String,
}

fn main() {
    // clap exits 2 on a bad flag, but 2 means "interrupted" to pytest users: usage errors are 4.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let code = if error.use_stderr() {
                ExitCode::UsageError.code()
            } else {
                0
            };
            let _ = error.print();
            std::process::exit(code);
        }
    };
    // Before any test process starts: what tests abandon comes back to vigil, not to init.
    descendants::adopt_orphans();
    let code = match dispatch(cli) {
        Ok(code) => code,
        Err((code, error)) => {
            eprintln!("vigil: error: {error:#}");
            code
        }
    };
    kill_leftovers();
    std::process::exit(code.code());
}

/// Kills what the tests started and left running (daemons, grandchildren in sessions of their
/// own), and says so: a test that leaks processes is worth knowing about.
fn kill_leftovers() {
    if let Some(said) = descendants::kill_leftovers() {
        eprintln!("vigil: {said}");
    }
}

fn dispatch(cli: Cli) -> Result<ExitCode, Failure> {
    let cwd = std::env::current_dir().map_err(|e| (ExitCode::InternalError, e.into()))?;
    let invocation_dir = match cli.directory {
        Some(dir) => discover::absolute(&cwd, &dir),
        None => cwd,
    };
    if !invocation_dir.is_dir() {
        return Err(usage(anyhow::anyhow!(
            "no such directory: {}",
            invocation_dir.display()
        )));
    }
    let loaded = config::load(&invocation_dir).map_err(usage)?;
    let history = cli.history;
    let mut command = cli.command;
    if command.only_reads() {
        cli::signals::die_quietly_when_stdout_closes();
    }
    if let Some(selection) = command.selection_mut() {
        if (selection.changed || selection.since.is_some())
            && !cli::changed::narrow(
                &mut selection.paths,
                selection.since.as_deref(),
                selection.explain,
                &invocation_dir,
                &loaded,
            )?
        {
            return Ok(ExitCode::NoTestsCollected);
        }
    }
    match command {
        Command::Run(args) => {
            // First, so a Ctrl-C during set-up (git, history) already means "stop, report, exit 2".
            let interrupts = cli::signals::install();
            let flags = run_flags(&args, history);
            let latch = Some(&interrupts.latch);
            run(
                flags,
                &args,
                invocation_dir,
                &loaded,
                &interrupts.cancel,
                latch,
            )
        }
        Command::Schedule(args) => cli::schedule::schedule(args, history, invocation_dir, &loaded),
        Command::List(args) => list(args, invocation_dir, &loaded),
        Command::Plan(args) => {
            let mut flags = flags(args.selection, args.jobs, None, 1 << 20);
            flags.history = history;
            plan(flags, &args.format, invocation_dir, &loaded)
        }
        Command::History(args) => {
            let settings =
                request::history_settings(history.as_deref(), false, &invocation_dir, &loaded);
            cli::history::history(args, &settings, &invocation_dir, &loaded)
        }
        Command::Trends(args) => {
            let settings =
                request::history_settings(history.as_deref(), false, &invocation_dir, &loaded);
            cli::history::trends(args, &settings)
        }
        Command::Report(args) => {
            let settings =
                request::history_settings(history.as_deref(), false, &invocation_dir, &loaded);
            cli::history::report(args, &settings, &invocation_dir, &loaded)
        }
        Command::Metrics(args) => {
            cli::metrics::metrics(args, history.as_deref(), &invocation_dir, &loaded)
        }
        Command::Verify(args) => {
            let settings =
                request::history_settings(history.as_deref(), false, &invocation_dir, &loaded);
            let cancel = install_signal_handlers();
            cli::verify::verify(args, &settings, &invocation_dir, &loaded, &cancel)
        }
        Command::Diagnose(args) => {
            let settings =
                request::history_settings(history.as_deref(), false, &invocation_dir, &loaded);
            cli::diagnose::diagnose(args, &settings, &invocation_dir, &loaded)
        }
        Command::Snapshot(args) => cli::snapshot::snapshot(args, &invocation_dir),
        Command::Watch(args) => cli::watch::watch(args, history, invocation_dir, &loaded),
        Command::Merge(args) => cli::merge::merge(args, history, &invocation_dir, &loaded),
    }
}

fn flags(selection: Selection, jobs: Option<usize>, timeout: Option<f64>, cap: usize) -> Flags {
    Flags {
        paths: selection.paths,
        keyword: selection.keyword,
        markers: selection.markers,
        pytest_args: selection.pytest_args,
        python: selection.python,
        profile: selection.profile,
        tiers: selection.tier,
        no_tier_gates: selection.no_tier_gates,
        include_ignored: selection.include_ignored,
        jobs,
        timeout,
        capture_cap: cap,
        capture_spool: None,
        history: None,
        no_history: false,
        retries: None,
        flaky_result: None,
        partition: selection.partition,
    }
}

/// `vigil run`, and each run of `vigil schedule`.
fn run_command(
    args: RunArgs,
    history: Option<PathBuf>,
    invocation_dir: PathBuf,
    loaded: &Loaded,
    cancel: &AtomicBool,
) -> Result<ExitCode, Failure> {
    let flags = run_flags(&args, history);
    run(flags, &args, invocation_dir, loaded, cancel, None)
}

fn run_flags(args: &RunArgs, history: Option<PathBuf>) -> Flags {
    let mut flags = flags(
        args.selection.clone(),
        args.jobs,
        args.timeout,
        args.capture_cap,
    );
    flags.history = history;
    flags.capture_spool = args.capture_spool.clone();
    flags.no_history = args.no_history;
    flags.retries = args.retries;
    flags.flaky_result = args.flaky_result.clone();
    flags
}

/// One run (or a `--repeat` series) with `flags`; `args` says how it is shown and repeated.
/// With a `latch`, a signal that arrives while the reports are written still makes the run
/// interrupted, up to the moment its history record is committed (a single run only).
fn run(
    flags: Flags,
    args: &RunArgs,
    invocation_dir: PathBuf,
    loaded: &Loaded,
    cancel: &AtomicBool,
    latch: Option<&Arc<Latch>>,
) -> Result<ExitCode, Failure> {
    let repeat = Repeat::from_flags(args.repeat, args.until_fail, args.max);
    let resolved = request::resolve(flags, &invocation_dir, loaded).map_err(usage)?;
    let outputs = args
        .outputs
        .resolve(&invocation_dir, resolved.junit.clone())?;
    let make = |series: Option<&str>| run_reporters(&outputs, &resolved, series, None);
    let outcome = match repeat {
        Some(repeat) => {
            let mut stdout = std::io::stdout();
            let mut in_series = |series: &str| make(Some(series));
            stress::run_series(
                &resolved.request,
                repeat,
                &mut in_series,
                cancel,
                &mut stdout,
            )
            .map_err(|e| (e.exit_code(), e.into()))?
        }
        None => {
            let mut reporters = run_reporters(&outputs, &resolved, None, latch).map_err(usage)?;
            let mut outcome = session::run(&resolved.request, &mut reporters, cancel)
                .map_err(|e| (e.exit_code(), e.into()))?;
            if latch.is_some_and(|latch| latch.settle()) {
                outcome.exit = ExitCode::Interrupted;
            }
            outcome
        }
    };
    if let (Some(message), ExitCode::UsageError | ExitCode::InternalError) =
        (&outcome.message, outcome.exit)
    {
        eprintln!("vigil: error: {message}");
    }
    Ok(outcome.exit)
}

/// First Ctrl-C / SIGTERM: stop gracefully (workers get SIGINT, then SIGKILL). Second: exit now.
fn install_signal_handlers() -> Arc<AtomicBool> {
    cli::signals::install().cancel
}

fn list(args: ListArgs, invocation_dir: PathBuf, loaded: &Loaded) -> Result<ExitCode, Failure> {
    if args.files {
        return list_files(&args.selection.paths, &invocation_dir);
    }
    // One worker: the ids come out in the order pytest itself would collect them.
    let flags = flags(args.selection, Some(1), None, 1 << 20);
    let (preview, redact) = preview(flags, &invocation_dir, loaded)?;
    let tests: Vec<&PlannedTest> = preview
        .waves
        .iter()
        .flat_map(|w| w.workers.iter().flat_map(|k| &k.tests).chain(&w.native))
        .collect();
    if args.by_tier {
        print!("{}", render_tier_counts(&tests, &preview.tiers));
    } else {
        for test in &tests {
            println!("{}", redact.redact(&test.id));
        }
    }
    Ok(if tests.is_empty() {
        ExitCode::NoTestsCollected
    } else {
        ExitCode::Ok
    })
}

fn list_files(paths: &[String], invocation_dir: &Path) -> Result<ExitCode, Failure> {
    let discovery = discover::discover(invocation_dir, paths).map_err(usage)?;
    for file in &discovery.files {
        let shown = file.path.strip_prefix(invocation_dir).unwrap_or(&file.path);
        println!("{}", shown.display());
    }
    Ok(if discovery.files.is_empty() {
        ExitCode::NoTestsCollected
    } else {
        ExitCode::Ok
    })
}

fn plan(
    flags: Flags,
    format: &str,
    invocation_dir: PathBuf,
    loaded: &Loaded,
) -> Result<ExitCode, Failure> {
    let json = json_format(format)?;
    let (preview, redact) = preview(flags, &invocation_dir, loaded)?;
    if json {
        let mut value =
            serde_json::to_value(&preview).map_err(|e| (ExitCode::InternalError, e.into()))?;
        redact.redact_json(&mut value);
        print_json(&value)?;
    } else {
        print!("{}", redact.redact(&render_plan(&preview)));
    }
    Ok(ExitCode::Ok)
}

/// What a run would do, and the redactor its reports would use: test ids and skip reasons
/// can hold a secret's value (a parametrize id), and `list` and `plan` print them. An error
/// is redacted too: pytest's own output about a conftest that failed to import can quote one.
fn preview(
    flags: Flags,
    invocation_dir: &Path,
    loaded: &Loaded,
) -> Result<(Preview, Redactor), Failure> {
    let resolved = request::resolve(flags, invocation_dir, loaded).map_err(usage)?;
    let cancel = install_signal_handlers();
    let redact = &resolved.request.redact;
    let preview = session::preview(&resolved.request, &cancel).map_err(|e| {
        let message = redact.redact(&format!("{e:#}")).into_owned();
        (e.exit_code(), anyhow::anyhow!(message))
    })?;
    Ok((preview, resolved.request.redact))
}
