//! Execution: owns the pytest worker processes and nothing else. It turns the plugin's wire
//! events into [`Event`]s, survives crashed workers, enforces `--timeout`, and stops cleanly
//! when asked to.

pub mod native;
mod plugin;
mod pool;
mod results;
mod wire;
mod worker;

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

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

/// Runs `batches` (one per worker; files as absolute paths) and streams events to `emit`.
/// `all_files` is every discovered file, so each worker knows which files belong to others.
pub fn execute(
    batches: &[Vec<PathBuf>],
    all_files: &[PathBuf],
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
    let mut pool = pool::Pool::new(options, &plugin_dir, scratch.path(), all_files);
    Ok(pool.run(batches, cancel, emit))
}

/// Node ids collected by pytest with the plugin, without running anything.
pub fn collect_only(
    options: &ExecuteOptions,
    cancel: &AtomicBool,
) -> Result<(Vec<String>, Execution), ExecuteError> {
    let mut ids = Vec::new();
    let mut collect_options = options.clone();
    collect_options.pytest_args.push("--collect-only".into());
    collect_options.pytest_args.push("-q".into());
    let execution = execute(&[vec![]], &[], &collect_options, cancel, &mut |event| {
        if let Event::Collected { tests, .. } = event {
            ids.extend(tests);
        }
    })?;
    Ok((ids, execution))
}
