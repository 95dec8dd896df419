//! The `vigil` command line: parses flags, resolves them against environment and config, and
//! calls the library. Exit codes are pytest's.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use vigil::config::{self, Loaded};
use vigil::discover;
use vigil::events::PlannedTest;
use vigil::exit::ExitCode;
use vigil::history::{
    self, BranchFilter, GitInfo, HistoryError, ImportError, ImportOptions, RegressionRule,
    Retention, Store, TrendOptions, Trends, FINDINGS,
};
use vigil::plan::Tiers;
use vigil::report::html::{render_html, write_html, HtmlOptions};
use vigil::report::{
    render_plan, render_runs, render_tier_counts, render_timeline, render_trends, ColorChoice,
    JunitReporter, Reporter, TerminalReporter,
};
use vigil::session::request::{self, Flags};
use vigil::session::{self, HistorySettings, Preview};

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
}

#[derive(Args)]
struct ReportArgs {
    /// Write the HTML report to PATH (one file, no network needed to view it).
    #[arg(long, value_name = "PATH")]
    html: PathBuf,
    /// How many runs back the trend charts look.
    #[arg(long, value_name = "N", default_value_t = 30)]
    runs: usize,
    /// Report on this run instead of the latest (ids as `vigil history` lists them).
    #[arg(long, value_name = "ID")]
    run: Option<i64>,
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
struct HistoryArgs {
    #[command(subcommand)]
    action: Option<HistoryAction>,
    /// A test id: show its results across runs instead of the runs.
    test: Option<String>,
    /// How many runs (or results) to show.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// text or json.
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    format: String,
}

#[derive(Subcommand)]
enum HistoryAction {
    /// Delete runs beyond the retention limits (default: `[history] keep_runs/keep_days`).
    Prune {
        #[arg(long, value_name = "N")]
        keep_runs: Option<u64>,
        #[arg(long, value_name = "DAYS")]
        keep_days: Option<u64>,
    },
    /// Record JUnit XML files (pytest, nextest, vigil shards) as runs, one run per file.
    Import {
        /// JUnit XML reports.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// The branch the runs are recorded under (default: unknown).
        #[arg(long)]
        branch: Option<String>,
        /// The commit the runs are recorded under (default: unknown).
        #[arg(long)]
        commit: Option<String>,
    },
    /// Benchmark and stress-test generator: writes synthetic runs through the real write path.
    #[command(hide = true)]
    Generate {
        #[arg(long)]
        runs: usize,
        #[arg(long)]
        tests: usize,
    },
}

#[derive(Args)]
struct TrendsArgs {
    /// How many runs back to look.
    #[arg(long, default_value_t = 30)]
    runs: usize,
    /// Runs in the recent window.
    #[arg(long, default_value_t = 5)]
    recent: usize,
    /// Runs in the window before it, the recent window is compared with.
    #[arg(long, default_value_t = 5)]
    baseline: usize,
    /// Only runs of this branch (default: the latest run's branch).
    #[arg(long, conflicts_with = "all_branches")]
    branch: Option<String>,
    /// Runs of every branch.
    #[arg(long)]
    all_branches: bool,
    /// Also check these tests (globs over ids) for duration regressions, not only the
    /// performance tier.
    #[arg(long, value_name = "GLOB")]
    perf: Vec<String>,
    /// Welch's t on log durations a regression must reach.
    #[arg(long, value_name = "T", default_value_t = 7.0)]
    min_t: f64,
    /// Slowdown of the median a regression must reach, in percent.
    #[arg(long, value_name = "PERCENT", default_value_t = 10.0)]
    min_change: f64,
    /// Exit 1 when any of these is found: new-failure, still-failing, flaky, perf-regression.
    #[arg(long, value_name = "KINDS", value_delimiter = ',')]
    fail_on: Vec<String>,
    /// text or json.
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    format: String,
}

#[derive(Args)]
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
    /// Arguments handed to pytest as they are.
    #[arg(last = true, value_name = "PYTEST_ARGS")]
    pytest_args: Vec<OsString>,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    selection: Selection,
    /// Number of worker processes, pytest workers and native tests together (default: cores).
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    jobs: Option<usize>,
    /// Kill a test's worker when the test runs longer than SECS.
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,
    /// Write a JUnit XML report to PATH.
    #[arg(long, value_name = "PATH")]
    junit: Option<PathBuf>,
    /// Print a line for every test, not only for failures.
    #[arg(short, long)]
    verbose: bool,
    /// Colour: auto (TTY and no NO_COLOR), always, never.
    #[arg(long, value_name = "WHEN", default_value = "auto")]
    color: String,
    /// Largest captured output kept per test section, in characters.
    #[arg(long, value_name = "CHARS", default_value_t = 1 << 20)]
    capture_cap: usize,
    /// Do not record this run in history.
    #[arg(long)]
    no_history: bool,
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
    let code = match dispatch(cli) {
        Ok(code) => code,
        Err((code, error)) => {
            eprintln!("vigil: error: {error:#}");
            code
        }
    };
    std::process::exit(code.code());
}

type Failure = (ExitCode, anyhow::Error);

fn usage(e: impl Into<anyhow::Error>) -> Failure {
    (ExitCode::UsageError, e.into())
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
    match cli.command {
        Command::Run(args) => {
            let mut flags = flags(args.selection, args.jobs, args.timeout, args.capture_cap);
            flags.history = history;
            flags.no_history = args.no_history;
            run(
                flags,
                args.junit,
                args.verbose,
                &args.color,
                invocation_dir,
                &loaded,
            )
        }
        Command::List(args) => list(args, invocation_dir, &loaded),
        Command::Plan(args) => {
            let mut flags = flags(args.selection, args.jobs, None, 1 << 20);
            flags.history = history;
            plan(flags, &args.format, invocation_dir, &loaded)
        }
        Command::History(args) => {
            let settings =
                request::history_settings(history.as_deref(), false, &invocation_dir, &loaded);
            match args.action {
                Some(HistoryAction::Import {
                    files,
                    branch,
                    commit,
                }) => {
                    let git = GitInfo {
                        commit,
                        branch,
                        dirty: None,
                    };
                    let project = loaded.dir().unwrap_or(&invocation_dir);
                    import(
                        &files,
                        git,
                        &settings,
                        project,
                        &Tiers::new(&loaded.tiers()),
                    )
                }
                _ => history_command(args, &settings),
            }
        }
        Command::Trends(args) => {
            let settings =
                request::history_settings(history.as_deref(), false, &invocation_dir, &loaded);
            trends(args, &settings)
        }
        Command::Report(args) => {
            let settings =
                request::history_settings(history.as_deref(), false, &invocation_dir, &loaded);
            let path = discover::absolute(&invocation_dir, &args.html);
            html_report(args, &path, &settings)
        }
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
        history: None,
        no_history: false,
    }
}

fn run(
    flags: Flags,
    junit: Option<PathBuf>,
    verbose: bool,
    color: &str,
    invocation_dir: PathBuf,
    loaded: &Loaded,
) -> Result<ExitCode, Failure> {
    let color = match color {
        "always" => ColorChoice::Always,
        "never" => ColorChoice::Never,
        "auto" => ColorChoice::Auto,
        other => {
            return Err(usage(anyhow::anyhow!(
                "--color takes auto, always or never, not {other:?}"
            )))
        }
    };
    // First, so a Ctrl-C during set-up (git, history) already means "stop, report, exit 2".
    let cancel = install_signal_handlers();
    let resolved = request::resolve(flags, &invocation_dir, loaded).map_err(usage)?;
    let mut reporters: Vec<Box<dyn Reporter>> =
        vec![Box::new(TerminalReporter::stdout(color, verbose))];
    if let Some(path) = junit.or(resolved.junit) {
        reporters.push(Box::new(JunitReporter::new(discover::absolute(
            &invocation_dir,
            &path,
        ))));
    }
    // History goes last: it is written after the files a person looks at first.
    // A database the user named must open; the default one only costs a warning, so a
    // read-only checkout still runs its tests (as pytest does without its cache).
    let explicit = resolved
        .request
        .history
        .as_ref()
        .is_some_and(|h| h.explicit);
    match session::recorder(&resolved.request) {
        Ok(Some(recorder)) => reporters.push(Box::new(recorder)),
        Ok(None) => {}
        Err(error) if explicit => return Err(usage(error)),
        Err(error) => eprintln!("vigil: warning: this run is not recorded in history: {error}"),
    }
    let outcome = session::run(&resolved.request, &mut reporters, &cancel)
        .map_err(|e| (e.exit_code(), e.into()))?;
    if let (Some(message), ExitCode::UsageError | ExitCode::InternalError) =
        (&outcome.message, outcome.exit)
    {
        eprintln!("vigil: error: {message}");
    }
    Ok(outcome.exit)
}

/// First Ctrl-C / SIGTERM: stop gracefully (workers get SIGINT, then SIGKILL). Second: exit now.
fn install_signal_handlers() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register_conditional_shutdown(
            signal,
            ExitCode::Interrupted.code(),
            Arc::clone(&flag),
        );
        let _ = signal_hook::flag::register(signal, Arc::clone(&flag));
    }
    flag
}

fn list(args: ListArgs, invocation_dir: PathBuf, loaded: &Loaded) -> Result<ExitCode, Failure> {
    if args.files {
        return list_files(&args.selection.paths, &invocation_dir);
    }
    // One worker: the ids come out in the order pytest itself would collect them.
    let flags = flags(args.selection, Some(1), None, 1 << 20);
    let preview = preview(flags, &invocation_dir, loaded)?;
    let tests: Vec<&PlannedTest> = preview
        .waves
        .iter()
        .flat_map(|w| w.workers.iter().flat_map(|k| &k.tests).chain(&w.native))
        .collect();
    if args.by_tier {
        print!("{}", render_tier_counts(&tests, &preview.tiers));
    } else {
        for test in &tests {
            println!("{}", test.id);
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
    let preview = preview(flags, &invocation_dir, loaded)?;
    if json {
        print_json(&preview)?;
    } else {
        print!("{}", render_plan(&preview));
    }
    Ok(ExitCode::Ok)
}

fn preview(flags: Flags, invocation_dir: &Path, loaded: &Loaded) -> Result<Preview, Failure> {
    let resolved = request::resolve(flags, invocation_dir, loaded).map_err(usage)?;
    let cancel = install_signal_handlers();
    session::preview(&resolved.request, &cancel).map_err(|e| (e.exit_code(), e.into()))
}

/// `--format`: true for json, false for text.
fn json_format(format: &str) -> Result<bool, Failure> {
    match format {
        "json" => Ok(true),
        "text" => Ok(false),
        other => Err(usage(anyhow::anyhow!(
            "--format takes text or json, not {other:?}"
        ))),
    }
}

fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text =
        serde_json::to_string_pretty(value).map_err(|e| (ExitCode::InternalError, e.into()))?;
    println!("{text}");
    Ok(())
}

fn history_error(error: HistoryError) -> Failure {
    let code = match error {
        HistoryError::Query(_) | HistoryError::TooNew { .. } => ExitCode::UsageError,
        _ => ExitCode::InternalError,
    };
    (code, error.into())
}

/// Each file becomes one run; a file that cannot be read is reported and the rest go on.
fn import(
    files: &[PathBuf],
    git: GitInfo,
    settings: &HistorySettings,
    project_dir: &Path,
    tiers: &Tiers,
) -> Result<ExitCode, Failure> {
    let mut store = Store::open(&settings.path).map_err(history_error)?;
    let options = ImportOptions {
        project_dir,
        tiers,
        git,
    };
    let mut code = ExitCode::Ok;
    for file in files {
        match history::import_file(&mut store, file, &options) {
            Ok(run) => println!(
                "{}: run {}, {} ({})",
                file.display(),
                run.run_id,
                match run.tests {
                    1 => "1 test".to_string(),
                    n => format!("{n} tests"),
                },
                run.summary
            ),
            Err(error) => {
                eprintln!("vigil: error: {error}");
                code = match error {
                    ImportError::History(_) => ExitCode::InternalError,
                    _ if code == ExitCode::Ok => ExitCode::UsageError,
                    _ => code,
                };
            }
        }
    }
    Ok(code)
}

fn history_command(args: HistoryArgs, settings: &HistorySettings) -> Result<ExitCode, Failure> {
    if let Some(HistoryAction::Generate { runs, tests }) = args.action {
        let mut store = Store::open(&settings.path).map_err(history_error)?;
        history::synthetic::generate(&mut store, runs, tests).map_err(history_error)?;
        return Ok(ExitCode::Ok);
    }
    if let Some(HistoryAction::Prune {
        keep_runs,
        keep_days,
    }) = args.action
    {
        let mut store = Store::open_existing(&settings.path).map_err(history_error)?;
        let retention = Retention {
            keep_runs: keep_runs.or(settings.retention.keep_runs),
            keep_days: keep_days.or(settings.retention.keep_days),
        };
        if retention == Retention::default() {
            return Err(usage(anyhow::anyhow!(
                "nothing to prune by: give --keep-runs / --keep-days or set them in [history]"
            )));
        }
        let gone = retention.apply(&mut store).map_err(history_error)?;
        let (runs, _) = store.counts().map_err(history_error)?;
        println!(
            "pruned {gone} runs, {runs} left in {}",
            settings.path.display()
        );
        return Ok(ExitCode::Ok);
    }
    let json = json_format(&args.format)?;
    let store = Store::open_existing(&settings.path).map_err(history_error)?;
    match args.test {
        Some(test) => {
            let points = store
                .test_timeline(&test, args.limit)
                .map_err(history_error)?;
            if points.is_empty() {
                let like = store.tests_like(&test, 5).map_err(history_error)?;
                let hint = if like.is_empty() {
                    String::new()
                } else {
                    format!("; did you mean: {}", like.join(", "))
                };
                return Err(usage(anyhow::anyhow!(
                    "no results for test {test:?} in history{hint}"
                )));
            }
            if json {
                print_json(&points)?;
            } else {
                print!("{}", render_timeline(&test, &points));
            }
        }
        None => {
            let runs = store.recent_runs(args.limit).map_err(history_error)?;
            if json {
                print_json(&runs)?;
            } else {
                print!("{}", render_runs(&runs));
            }
        }
    }
    Ok(ExitCode::Ok)
}

/// `vigil report --html`: renders from history, then writes the file in one rename.
fn html_report(
    args: ReportArgs,
    path: &Path,
    settings: &HistorySettings,
) -> Result<ExitCode, Failure> {
    let store = Store::open_existing(&settings.path).map_err(history_error)?;
    let options = HtmlOptions {
        runs: args.runs.max(1),
        run: args.run,
    };
    let page = render_html(&store, &options).map_err(history_error)?;
    write_html(path, &page).map_err(usage)?;
    println!("wrote {}", path.display());
    Ok(ExitCode::Ok)
}

fn trends(args: TrendsArgs, settings: &HistorySettings) -> Result<ExitCode, Failure> {
    let json = json_format(&args.format)?;
    if let Some(kind) = args
        .fail_on
        .iter()
        .find(|k| !FINDINGS.contains(&k.as_str()))
    {
        return Err(usage(anyhow::anyhow!(
            "--fail-on takes {}, not {kind:?}",
            FINDINGS.join(", ")
        )));
    }
    let mut perf = globset::GlobSetBuilder::new();
    for pattern in &args.perf {
        perf.add(
            globset::Glob::new(pattern)
                .map_err(|e| usage(anyhow::anyhow!("--perf {pattern:?}: {e}")))?,
        );
    }
    let options = TrendOptions {
        branch: match (args.branch, args.all_branches) {
            (Some(name), _) => BranchFilter::Named(name),
            (None, true) => BranchFilter::All,
            (None, false) => BranchFilter::Latest,
        },
        runs: args.runs.max(1),
        recent: args.recent.max(1),
        baseline: args.baseline.max(1),
        perf_tests: perf
            .build()
            .map_err(|e| usage(anyhow::anyhow!("--perf: {e}")))?,
        rule: RegressionRule {
            min_t: args.min_t,
            min_change: args.min_change / 100.0,
        },
        ..TrendOptions::default()
    };
    let store = Store::open_existing(&settings.path).map_err(history_error)?;
    let found = Trends::compute(&store, &options).map_err(history_error)?;
    if json {
        print_json(&found)?;
    } else {
        print!("{}", render_trends(&found));
    }
    let failing: Vec<&String> = args.fail_on.iter().filter(|k| found.has(k)).collect();
    if !failing.is_empty() {
        eprintln!(
            "vigil: trends found: {}",
            failing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Ok(ExitCode::TestsFailed);
    }
    Ok(ExitCode::Ok)
}
