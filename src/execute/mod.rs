//! Execution: owns the pytest worker processes and nothing else. It turns the plugin's wire
//! events into [`Event`]s, survives crashed workers, enforces `--timeout`, and stops cleanly
//! when asked to.

pub mod descendants;
mod log_watch;
pub mod native;
mod native_lane;
mod plugin;
mod pool;
mod process_group;
pub use process_group::kill_all_groups;
mod results;
mod wire;
#[cfg(test)]
mod wire_fuzz_tests;
mod worker;

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::discover::native::NativeTest;
use crate::events::Event;

/// What the executor needs to know, besides which files go to which worker.
#[derive(Debug, Clone)]
pub struct ExecuteOptions {
    pub python: PathBuf,
    /// Where pytest is started (the invocation directory).
    pub cwd: PathBuf,
    pub rootdir: PathBuf,
    /// Everything handed to pytest after vigil's own flags: paths, `-k`, `-m`, pass-through.
    pub pytest_args: Vec<OsString>,
    pub timeout: Option<Duration>,
    /// Largest captured-output section kept per test, in characters.
    pub capture_cap: usize,
    /// Directory for the whole of sections longer than the cap; `None`: only the capped part.
    pub capture_spool: Option<PathBuf>,
    /// Processes at once: pytest workers plus native tests.
    pub jobs: usize,
    /// Run `#[ignore]`d native tests instead of reporting them skipped.
    pub include_ignored: bool,
    /// vigil's plan for the plugin (tiers, gates, capabilities), passed through as it is.
    pub plugin_plan: serde_json::Value,
    /// Absolute globs of log files whose error lines are attached to failing native tests.
    pub log_patterns: Vec<String>,
}

/// What one pass of the pool runs.
pub struct Work<'a> {
    /// One batch of files per pytest worker (absolute paths).
    pub batches: &'a [Vec<PathBuf>],
    /// Every discovered file, so each worker knows which files belong to others.
    pub all_files: &'a [PathBuf],
    /// Native tests, one process each, in the slots the pytest workers leave free.
    pub native: &'a [NativeTest],
}

/// How execution ended, beyond the per-test results already sent as events.
#[derive(Debug, Default)]
pub struct Execution {
    /// pytest rejected the command line or could not start (message for the user).
    pub usage_error: Option<String>,
    /// A worker hit an internal error, or vigil could not start one.
    pub internal_error: Option<String>,
    /// Ctrl-C / SIGTERM, or a test called `pytest.exit()`.
    pub interrupted: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    #[error("cannot install the pytest plugin in {}: {error}", dir.display())]
    PluginInstall { dir: PathBuf, error: std::io::Error },
    #[error("cannot create a scratch directory: {0}")]
    Scratch(std::io::Error),
}

/// Runs the work and streams events to `emit`.
pub fn execute(
    work: &Work,
    options: &ExecuteOptions,
    cancel: &AtomicBool,
    emit: &mut dyn FnMut(Event),
) -> Result<Execution, ExecuteError> {
    let plugin_dir = plugin::install().map_err(|error| ExecuteError::PluginInstall {
        dir: plugin::cache_root(),
        error,
    })?;
    let scratch = tempfile::Builder::new()
        .prefix("vigil-run-")
        .tempdir()
        .map_err(ExecuteError::Scratch)?;
    let mut pool = pool::Pool::new(
        options,
        &plugin_dir,
        scratch.path(),
        work.all_files,
        work.native,
        work.batches.len(),
    );
    Ok(pool.run(work.batches, cancel, emit))
}
