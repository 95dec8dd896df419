//! `vigil watch`: the flags, resolved as `vigil run` resolves its own (with the `watch`
//! profile unless `--profile` names another), then the library's watch loop.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use vigil::config::Loaded;
use vigil::exit::ExitCode;
use vigil::session::{self, request};
use vigil::watch::{self, Options};

use super::{usage, Failure};

#[derive(Args)]
#[command(
    after_help = "Runs use the `watch` profile unless --profile names another \
    (VIGIL_PROFILE does not apply), and are recorded in history like `vigil run`'s."
)]
pub struct WatchArgs {
    #[command(flatten)]
    selection: crate::Selection,
    /// Number of worker processes, pytest workers and native tests together (default: cores).
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    jobs: Option<usize>,
    /// Kill a test's worker when the test runs longer than SECS.
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,
    /// Wait for the first change instead of running every test first.
    #[arg(long)]
    no_initial_run: bool,
    /// Quiet time after the last file event before a run starts, in milliseconds
    /// (default: `[watch] debounce_ms`, else 50).
    #[arg(long, value_name = "MS")]
    debounce: Option<u64>,
}

pub fn watch(
    args: WatchArgs,
    history: Option<PathBuf>,
    invocation_dir: PathBuf,
    loaded: &Loaded,
) -> Result<ExitCode, Failure> {
    // First, so a Ctrl-C during set-up already means "stop".
    let stop = crate::install_signal_handlers();
    let mut flags = crate::flags(args.selection, args.jobs, args.timeout, 1 << 20);
    flags.history = history;
    // Watch runs are told apart in history by their profile; only --profile picks another
    // (VIGIL_PROFILE is for the runs a shell starts).
    flags.profile.get_or_insert_with(|| "watch".to_string());
    let resolved = request::resolve(flags, &invocation_dir, loaded).map_err(usage)?;
    // A database the user named must open, as in `vigil run`; the default one only warns.
    if resolved
        .request
        .history
        .as_ref()
        .is_some_and(|h| h.explicit)
    {
        session::recorder(&resolved.request).map_err(usage)?;
    }
    let options = Options {
        debounce: args.debounce.map(Duration::from_millis),
        initial_run: !args.no_initial_run,
        // main made vigil the reaper of what tests abandon.
        kill_leftovers: true,
    };
    watch::watch(resolved, loaded, options, stop).map_err(|e| (e.exit_code(), e.into()))?;
    Ok(ExitCode::Ok)
}
