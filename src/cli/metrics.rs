//! `vigil metrics`: the latest run of a branch and the flakiness and pass ratios of its recent
//! runs as OpenMetrics text, on stdout or into a file Prometheus' node_exporter textfile
//! collector reads (written whole: a temp file beside it, then renamed).

use std::path::{Path, PathBuf};

use clap::Args;

use vigil::config::Loaded;
use vigil::exit::ExitCode;
use vigil::history::{BranchFilter, Metrics, MetricsOptions, Store};
use vigil::report::html::write_html;
use vigil::report::render_openmetrics;
use vigil::session::request;

use super::history::history_error;
use super::{usage, Failure};

#[derive(Args)]
pub struct MetricsArgs {
    /// The branch whose latest run is exported (default: the latest run's branch).
    #[arg(long)]
    branch: Option<String>,
    /// How many runs back the flaky counts and pass ratios look (the latest included).
    #[arg(long, value_name = "N", default_value_t = 30)]
    runs: usize,
    /// Write to FILE instead of stdout, whole or not at all (e.g. a node_exporter
    /// textfile-collector `*.prom` file).
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// `vigil metrics`; `history` is the global `--history` flag. A relative `--output` is
/// relative to `-C`, as `--junit` is.
pub fn metrics(
    args: MetricsArgs,
    history: Option<&Path>,
    invocation_dir: &Path,
    loaded: &Loaded,
) -> Result<ExitCode, Failure> {
    let settings = request::history_settings(history, false, invocation_dir, loaded);
    let store = Store::open_existing(&settings.path).map_err(history_error)?;
    let options = MetricsOptions {
        branch: args
            .branch
            .map_or(BranchFilter::Latest, BranchFilter::Named),
        runs: args.runs.max(1),
    };
    let text = render_openmetrics(&Metrics::compute(&store, &options).map_err(history_error)?);
    match args.output {
        // The same whole-file write as the HTML report: the temp file's name (hidden,
        // `.tmp`) is one the textfile collector never reads.
        Some(path) => {
            write_html(&vigil::discover::absolute(invocation_dir, &path), &text).map_err(usage)?
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::Ok)
}
