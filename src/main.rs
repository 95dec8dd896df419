//! The `vigil` command line: parses flags, resolves them against environment and config, and
//! calls the library. Exit codes are pytest's.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use vigil::config::{self, Loaded};
use vigil::exit::ExitCode;
use vigil::report::{ColorChoice, JunitReporter, Reporter, TerminalReporter};
use vigil::session::{self, RunRequest};
use vigil::{discover, execute, python};

#[derive(Parser)]
#[command(
    name = "vigil",
    version,
    about = "Runs pytest suites in parallel, with exact fidelity"
)]
struct Cli {
    /// Run as if started in DIR.
    #[arg(short = 'C', global = true, value_name = "DIR")]
    directory: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run tests.
    Run(RunArgs),
    /// List test files (--files) or the test ids pytest collects.
    List(ListArgs),
}

#[derive(Args)]
struct Selection {
    /// Files, directories or node ids, as for pytest.
    paths: Vec<String>,
    /// Only tests matching this pytest keyword expression.
    #[arg(short = 'k', value_name = "EXPR")]
    keyword: Option<String>,
    /// Only tests matching this pytest marker expression.
    #[arg(short = 'm', value_name = "EXPR")]
    markers: Option<String>,
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
    /// Number of pytest workers (default: number of cores).
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
}

#[derive(Args)]
struct ListArgs {
    #[command(flatten)]
    selection: Selection,
    /// List test files found by discovery instead of collecting test ids.
    #[arg(long)]
    files: bool,
}

fn main() {
    let cli = Cli::parse();
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
    match cli.command {
        Command::Run(args) => run(args, invocation_dir, &loaded),
        Command::List(args) => list(args, invocation_dir, &loaded),
    }
}

fn run(args: RunArgs, invocation_dir: PathBuf, loaded: &Loaded) -> Result<ExitCode, Failure> {
    let limits = Limits {
        jobs: args.jobs,
        timeout: args.timeout,
        capture_cap: args.capture_cap,
    };
    let request = request(&args.selection, &invocation_dir, loaded, limits)?;
    let color = match args.color.as_str() {
        "always" => ColorChoice::Always,
        "never" => ColorChoice::Never,
        "auto" => ColorChoice::Auto,
        other => {
            return Err(usage(anyhow::anyhow!(
                "--color takes auto, always or never, not {other:?}"
            )))
        }
    };
    let mut reporters: Vec<Box<dyn Reporter>> =
        vec![Box::new(TerminalReporter::stdout(color, args.verbose))];
    let junit = args
        .junit
        .clone()
        .or_else(|| loaded.config.junit.as_ref().map(|p| loaded.resolve(p)));
    if let Some(path) = junit {
        reporters.push(Box::new(JunitReporter::new(discover::absolute(
            &invocation_dir,
            &path,
        ))));
    }
    let cancel = install_signal_handlers();
    let outcome =
        session::run(&request, &mut reporters, &cancel).map_err(|e| (e.exit_code(), e.into()))?;
    if let (Some(message), ExitCode::UsageError | ExitCode::InternalError) =
        (&outcome.message, outcome.exit)
    {
        eprintln!("vigil: error: {message}");
    }
    Ok(outcome.exit)
}

/// The run flags that config and environment can also set.
struct Limits {
    jobs: Option<usize>,
    timeout: Option<f64>,
    capture_cap: usize,
}

/// Flags over `VIGIL_*` over config over defaults.
fn request(
    selection: &Selection,
    invocation_dir: &Path,
    loaded: &Loaded,
    limits: Limits,
) -> Result<RunRequest, Failure> {
    let jobs = limits
        .jobs
        .or(env_parse("VIGIL_JOBS")?)
        .or(loaded.config.jobs)
        .unwrap_or_else(default_jobs);
    let timeout = limits
        .timeout
        .or(env_parse("VIGIL_TIMEOUT")?)
        .or(loaded.config.timeout);
    if let Some(t) = timeout.filter(|t| !t.is_finite() || *t <= 0.0) {
        return Err(usage(anyhow::anyhow!(
            "--timeout must be a positive number of seconds, not {t}"
        )));
    }
    let mut pytest_args: Vec<OsString> = loaded
        .config
        .pytest_args
        .iter()
        .map(OsString::from)
        .collect();
    pytest_args.extend(selection.pytest_args.iter().cloned());
    Ok(RunRequest {
        invocation_dir: invocation_dir.to_path_buf(),
        paths: selection.paths.clone(),
        keyword: selection.keyword.clone(),
        markers: selection.markers.clone(),
        pytest_args,
        jobs: jobs.max(1),
        timeout: timeout.map(Duration::from_secs_f64),
        python: interpreter(selection, invocation_dir, loaded),
        capture_cap: limits.capture_cap,
    })
}

fn interpreter(selection: &Selection, invocation_dir: &Path, loaded: &Loaded) -> PathBuf {
    let configured = loaded.config.python.as_ref().map(|p| loaded.resolve(p));
    let project_dir = loaded
        .file
        .as_ref()
        .and_then(|f| f.parent())
        .unwrap_or(invocation_dir);
    // --python and VIGIL_PYTHON are relative to where the user typed them, not to -C.
    let cwd = std::env::current_dir().unwrap_or_else(|_| invocation_dir.to_path_buf());
    python::locate(
        &cwd,
        selection.python.as_deref(),
        configured.as_deref(),
        &[invocation_dir, project_dir],
    )
}

fn env_parse<T: std::str::FromStr>(name: &str) -> Result<Option<T>, Failure> {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => value
            .parse()
            .map(Some)
            .map_err(|_| usage(anyhow::anyhow!("{name}={value:?} is not a valid value"))),
        _ => Ok(None),
    }
}

fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
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
    let selection = &args.selection;
    let discovery = discover::discover(&invocation_dir, &selection.paths).map_err(usage)?;
    if args.files {
        for file in &discovery.files {
            println!(
                "{}",
                file.path
                    .strip_prefix(&invocation_dir)
                    .unwrap_or(&file.path)
                    .display()
            );
        }
        return Ok(if discovery.files.is_empty() {
            ExitCode::NoTestsCollected
        } else {
            ExitCode::Ok
        });
    }
    let limits = Limits {
        jobs: Some(1),
        timeout: None,
        capture_cap: 1 << 20,
    };
    let request = request(selection, &invocation_dir, loaded, limits)?;
    let options = session::execute_options(&request, discovery.config.rootdir.clone());
    let cancel = install_signal_handlers();
    let (ids, execution) = execute::collect_only(&options, &cancel)
        .map_err(|e| (ExitCode::InternalError, e.into()))?;
    if let Some(message) = execution.usage_error.or(execution.internal_error) {
        return Err((ExitCode::UsageError, anyhow::anyhow!(message)));
    }
    for id in &ids {
        println!("{id}");
    }
    Ok(if ids.is_empty() {
        ExitCode::NoTestsCollected
    } else {
        ExitCode::Ok
    })
}
