//! `vigil watch`: runs the tests that file changes affect as soon as the files are saved, the
//! previously failing ones first; a change during a run cancels it (cleanly, its results so
//! far recorded) and starts the next. Runs go through `session::run` like `vigil run`'s, so
//! history records them (profile `watch` unless `--profile` says otherwise).
//!
//! Parts: [`files`] watches the tree and [`ignore_rules`] says which changes count;
//! [`debounce`] batches them; [`keys`] reads `a` / `f` / Enter / `q`; [`watch_loop`] is the
//! state machine; [`passes`] orders a run's tests; [`runner`], [`reporters`] and
//! [`deferred_history`] run one; [`screen`] shows it.

mod debounce;
mod deferred_history;
mod failing;
mod files;
mod gitignore;
mod ignore_rules;
mod keys;
mod passes;
mod reporters;
mod runner;
mod scope;
mod screen;
mod watch_loop;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use crate::affected::{Selector, Settings};
use crate::config::Loaded;
use crate::discover::{self, DiscoverError};
use crate::exit::ExitCode;
use crate::session::request::Resolved;

use ignore_rules::IgnoreRules;
use watch_loop::{Setup, WatchLoop};

/// `[watch] debounce_ms` when neither it nor `--debounce` is given.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(50);

/// Ids of native tests (and their prefixes as run paths) start with this.
use crate::session::NATIVE_PREFIX;

/// How `vigil watch` was started.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--debounce`; `[watch] debounce_ms` or [`DEFAULT_DEBOUNCE`] when `None`.
    pub debounce: Option<Duration>,
    /// Run every test once before waiting for changes (off with `--no-initial-run`).
    pub initial_run: bool,
    /// Kill what each run's tests left running when it ends. Only for a process that has
    /// adopted its orphans (the `vigil` binary): it kills every child of this process.
    pub kill_leftovers: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("cannot watch {}: {source}", path.display())]
    Watch {
        path: PathBuf,
        source: notify::Error,
    },
    #[error("[watch] ignore: bad glob {pattern:?}: {message}")]
    Glob { pattern: String, message: String },
    #[error(transparent)]
    Discover(#[from] DiscoverError),
}

impl WatchError {
    fn watch(path: &Path, source: notify::Error) -> WatchError {
        WatchError::Watch {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        match self {
            WatchError::Watch { .. } => ExitCode::InternalError,
            WatchError::Glob { .. } | WatchError::Discover(_) => ExitCode::UsageError,
        }
    }
}

/// Watches until `q`, Ctrl-C or SIGTERM (`stop`); every run is `resolved`'s request with
/// the paths selection gives it.
pub fn watch(
    resolved: Resolved,
    loaded: &Loaded,
    options: Options,
    stop: Arc<AtomicBool>,
) -> Result<(), WatchError> {
    let request = resolved.request;
    let python = request.python_paths();
    let rootdir = discover::discover(&request.invocation_dir, &python)?
        .config
        .rootdir;
    let settings = Settings::from_config(loaded, &rootdir);
    let table = loaded.watch();
    let junit = resolved.junit;
    // vigil's own output must not look like a change: the history database and the JUnit file.
    let own: Vec<PathBuf> = request
        .history
        .iter()
        .map(|h| h.path.clone())
        .chain(junit.clone())
        .collect();
    let rules = IgnoreRules::new(&settings.root, &table.ignore.unwrap_or_default(), own)?;
    let setup = Setup {
        root: settings.root.clone(),
        rootdir,
        debounce: options
            .debounce
            .or(table.debounce_ms.map(Duration::from_millis))
            .unwrap_or(DEFAULT_DEBOUNCE),
        initial_run: options.initial_run,
        kill_leftovers: options.kill_leftovers,
        config: loaded.file.clone(),
        base: request,
        junit,
    };
    WatchLoop::new(setup, Selector::new(settings), rules, stop)?.run()
}
