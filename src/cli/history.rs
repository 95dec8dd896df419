//! `vigil history`, `vigil trends` and `vigil report`: the commands that read (and manage) the
//! run history rather than run tests.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use vigil::config::Loaded;
use vigil::exit::ExitCode;
use vigil::history::{
    self, BranchFilter, GitInfo, HistoryError, ImportError, ImportOptions, RegressionRule,
    Retention, Store, TrendOptions, Trends, FINDINGS,
};
use vigil::plan::Tiers;
use vigil::report::html::{render_html, write_html, HtmlOptions};
use vigil::report::{render_runs, render_timeline, render_trends};
use vigil::session::HistorySettings;

use super::diagnose::diagnoser;
use super::{json_format, print_json, usage, Failure};

#[derive(Args)]
pub struct ReportArgs {
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
pub struct HistoryArgs {
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

impl HistoryArgs {
    /// Listing runs or a test's timeline; prune, import and export are actions.
    pub fn only_reads(&self) -> bool {
        self.action.is_none()
    }
}

#[derive(Subcommand)]
pub enum HistoryAction {
    /// Delete runs beyond the retention limits (default: `[history] keep_runs/keep_days`).
    Prune {
        #[arg(long, value_name = "N")]
        keep_runs: Option<u64>,
        #[arg(long, value_name = "DAYS")]
        keep_days: Option<u64>,
    },
    /// Record JUnit XML files (pytest, nextest, vigil shards) as runs, one run per file, and
    /// the runs of `vigil history export` files and other history databases not here yet.
    Import {
        /// JUnit XML reports, export files, history databases (told apart by content).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// The branch JUnit runs are recorded under (default: unknown).
        #[arg(long)]
        branch: Option<String>,
        /// The commit JUnit runs are recorded under (default: unknown).
        #[arg(long)]
        commit: Option<String>,
    },
    /// Write runs with their results, verdicts and fix notes as JSON lines (for `import`).
    Export(super::history_exchange::ExportArgs),
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
pub struct TrendsArgs {
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
    #[command(flatten)]
    notify: super::notify::NotifyArgs,
    /// text or json.
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    format: String,
}

/// `vigil history [TEST]`, `prune`, `import` and the hidden `generate`.
pub fn history(
    args: HistoryArgs,
    settings: &HistorySettings,
    invocation_dir: &Path,
    loaded: &Loaded,
) -> Result<ExitCode, Failure> {
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
            let project = loaded.dir().unwrap_or(invocation_dir);
            import(&files, git, settings, project, loaded)
        }
        Some(HistoryAction::Export(args)) => {
            super::history_exchange::export(args, settings, invocation_dir)
        }
        _ => history_command(args, settings),
    }
}

pub fn history_error(error: HistoryError) -> Failure {
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
    loaded: &Loaded,
) -> Result<ExitCode, Failure> {
    let mut store = Store::open(&settings.path).map_err(history_error)?;
    let tiers = &Tiers::new(&loaded.tiers());
    let diagnoser = super::diagnose::diagnoser(loaded, project_dir)?;
    let redact = vigil::redact::Redactor::for_project(loaded).map_err(usage)?;
    let options = ImportOptions {
        project_dir,
        tiers,
        git,
        diagnoser: Some(&diagnoser),
        redact: &redact,
    };
    let mut code = ExitCode::Ok;
    for file in files {
        if let Some(imported) = super::history_exchange::import(&mut store, file) {
            match imported {
                Ok(line) => println!("{line}"),
                Err((failed, error)) => {
                    eprintln!("vigil: error: {error}");
                    if failed == ExitCode::InternalError || code == ExitCode::Ok {
                        code = failed;
                    }
                }
            }
            continue;
        }
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
    super::history_exchange::apply_retention(&mut store, settings)?;
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

/// `vigil report --html`: renders from history, then writes the file in one rename (a
/// relative path is relative to `-C`, as `--junit` is). Failures recorded without a diagnosis
/// are diagnosed with the project's rules, as `vigil diagnose` does.
pub fn report(
    args: ReportArgs,
    settings: &HistorySettings,
    invocation_dir: &Path,
    loaded: &Loaded,
) -> Result<ExitCode, Failure> {
    let path = &vigil::discover::absolute(invocation_dir, &args.html);
    let store = Store::open_existing(&settings.path).map_err(history_error)?;
    let options = HtmlOptions {
        runs: args.runs.max(1),
        run: args.run,
        diagnoser: diagnoser(loaded, invocation_dir)?,
    };
    let page = render_html(&store, &options).map_err(history_error)?;
    write_html(path, &page).map_err(usage)?;
    println!("wrote {}", path.display());
    Ok(ExitCode::Ok)
}

pub fn trends(args: TrendsArgs, settings: &HistorySettings) -> Result<ExitCode, Failure> {
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
    args.notify.check()?;
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
        args.notify.send(&found, &failing);
        return Ok(ExitCode::TestsFailed);
    }
    Ok(ExitCode::Ok)
}
