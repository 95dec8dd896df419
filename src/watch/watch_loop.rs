//! The watch loop: one thread that owns the state and reacts to its inputs in turn (file
//! events, keys, the end of a run), so no state is shared. It is idle or running one run; a
//! request that comes while a run goes cancels that run and waits in `queued` until it has
//! wound down.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::affected::{Before, Change, Selection, Selector};
use crate::discover;
use crate::execute::descendants;
use crate::session::RunRequest;

use super::debounce::Debouncer;
use super::failing::{absolute_id, FailingSet};
use super::files::FileWatcher;
use super::ignore_rules::IgnoreRules;
use super::keys::{self, Key, KeyInput};
use super::passes::{self, Pass, Targets};
use super::runner::{self, Finished, Job};
use super::scope::Scope;
use super::screen::{describe_changes, Described, Screen, Status};
use super::{WatchError, NATIVE_PREFIX};

/// Longest the loop sleeps between looks at the stop flag (set by Ctrl-C and SIGTERM).
const POLL: Duration = Duration::from_millis(50);

/// What the loop reacts to.
pub enum Input {
    Fs(notify::Result<notify::Event>),
    Key(Key),
    Finished(Finished),
}

/// What stays the same for the whole session.
pub struct Setup {
    /// The request every run adapts (paths, `-k`, `-m`, profile, history, ...).
    pub base: RunRequest,
    pub junit: Option<PathBuf>,
    /// The project root: what is watched, and where `[watch]` globs are relative to.
    pub root: PathBuf,
    /// pytest's rootdir: test ids are relative to it.
    pub rootdir: PathBuf,
    pub debounce: Duration,
    pub initial_run: bool,
    /// See [`super::Options::kill_leftovers`].
    pub kill_leftovers: bool,
    /// vigil's config file: read once, when watching starts.
    pub config: Option<PathBuf>,
}

struct Running {
    cancel: Arc<AtomicBool>,
    handle: JoinHandle<()>,
    scope: Scope,
    /// The failing tests the quick first pass asked for (absolute run paths).
    first_pass: Vec<String>,
}

pub struct WatchLoop {
    setup: Setup,
    /// `vigil watch`'s own paths, absolute: the failing tests a run of everything covers.
    user_paths: Vec<String>,
    selector: Selector,
    files: FileWatcher,
    _keys: KeyInput,
    rx: Receiver<Input>,
    tx: Sender<Input>,
    stop: Arc<AtomicBool>,
    screen: Screen,
    debouncer: Debouncer,
    failing: FailingSet,
    running: Option<Running>,
    /// What runs once the current run has wound down.
    queued: Option<Scope>,
    quitting: bool,
    last_scope: Option<Scope>,
    /// What the last changes selected, for a rerun.
    last_selection: Option<Selection>,
    /// What a run cancelled by further changes had selected: the next run includes it.
    carried: Option<Selection>,
    described: Option<Described>,
    last: Option<Finished>,
}

impl WatchLoop {
    /// Starts watching files and reading keys; nothing runs before [`WatchLoop::run`].
    pub fn new(
        setup: Setup,
        selector: Selector,
        rules: IgnoreRules,
        stop: Arc<AtomicBool>,
    ) -> Result<WatchLoop, WatchError> {
        let (tx, rx) = mpsc::channel();
        let files = FileWatcher::start(&setup.root, rules, tx.clone())?;
        let keys = keys::spawn(tx.clone());
        let user_paths = absolute_paths(&setup.base);
        Ok(WatchLoop {
            debouncer: Debouncer::new(setup.debounce),
            setup,
            user_paths,
            selector,
            files,
            _keys: keys,
            rx,
            tx,
            stop,
            screen: Screen::new(),
            failing: FailingSet::default(),
            running: None,
            queued: None,
            quitting: false,
            last_scope: None,
            last_selection: None,
            carried: None,
            described: None,
            last: None,
        })
    }

    /// Runs until `q`, Ctrl-C or SIGTERM, then returns once the last run has wound down.
    pub fn run(mut self) -> Result<(), WatchError> {
        self.screen.say(&format!(
            "watching {} (debounce {} ms)",
            self.setup.root.display(),
            self.setup.debounce.as_millis()
        ));
        match self.setup.initial_run {
            true => self.request(Scope::initial(), false),
            false => self.show_status(),
        }
        loop {
            if self.stop.load(Ordering::SeqCst) && !self.quitting {
                self.quit();
            }
            if self.quitting && self.running.is_none() {
                return Ok(());
            }
            match self.rx.recv_timeout(self.wait(Instant::now())) {
                Ok(input) => self.handle(input),
                Err(RecvTimeoutError::Timeout) => {}
                // The loop holds a sender itself: the channel cannot close under it.
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
            let due = self.debouncer.take_due(Instant::now(), Path::exists);
            if let Some(batch) = due.filter(|b| !b.is_empty()) {
                self.note_config_change(&batch);
                self.request(Scope::changes(batch), true);
            }
        }
    }

    /// The request every run adapts was resolved from the config when watching started; a
    /// change to it still runs the tests (it may select some), but its settings wait.
    fn note_config_change(&self, batch: &[PathBuf]) {
        if let Some(config) = self.setup.config.as_ref().filter(|c| batch.contains(c)) {
            let name = config.file_name().unwrap_or_default().to_string_lossy();
            self.screen.say(&format!(
                "{name} changed: its settings apply when vigil watch starts again"
            ));
        }
    }

    /// Until the pending batch is due, but never longer than the stop-flag poll.
    fn wait(&self, now: Instant) -> Duration {
        match self.debouncer.deadline() {
            Some(deadline) => POLL.min(deadline.saturating_duration_since(now)),
            None => POLL,
        }
    }

    fn handle(&mut self, input: Input) {
        match input {
            Input::Fs(Ok(event)) => {
                // An overflowed event queue: what changed is unknown, so everything did.
                let rescan = event.need_rescan();
                let mut paths = self.files.relevant(event);
                if rescan {
                    paths.push((self.setup.root.clone(), false));
                }
                self.debouncer.push(paths, Instant::now());
            }
            Input::Fs(Err(error)) => self.screen.say(&format!("file watching: {error}")),
            Input::Key(key) => self.key(key),
            Input::Finished(finished) => self.finished(finished),
        }
    }

    fn key(&mut self, key: Key) {
        match key {
            Key::Quit => self.quit(),
            Key::All => self.request(Scope::all(), false),
            Key::Failed => self.request(Scope::failed(), false),
            Key::Rerun => {
                let mut scope = self.last_scope.clone().unwrap_or_else(Scope::all);
                scope.rerun = true;
                scope.initial = false;
                self.request(scope, false);
            }
        }
    }

    /// Starts `scope` now, or cancels the current run and queues it. Changes join what the
    /// cancelled run covered (its tests did not all run); a key replaces it.
    fn request(&mut self, scope: Scope, from_changes: bool) {
        let Some(running) = &self.running else {
            self.start(scope);
            return;
        };
        let mut next = match from_changes {
            true => self.queued.take().unwrap_or_else(|| running.scope.clone()),
            false => Scope::default(),
        };
        // The selector has read the cancelled run's changes already: asked again, it would
        // find no difference in them, so what they selected is carried into the next run.
        if from_changes {
            if let Some(cancelled) = self.last_selection.clone() {
                match &mut self.carried {
                    Some(carried) => carry(carried, cancelled),
                    None => self.carried = Some(cancelled),
                }
            }
        }
        let why = match from_changes {
            true => format!("changed: {}", self.changes_text(&scope.changes)),
            false => "key pressed".to_string(),
        };
        next.merge(scope);
        self.queued = Some(next);
        if !running.cancel.swap(true, Ordering::SeqCst) {
            self.screen.say(&format!("cancelling the run ({why})"));
        }
    }

    fn quit(&mut self) {
        self.quitting = true;
        self.queued = None;
        if let Some(running) = &self.running {
            running.cancel.store(true, Ordering::SeqCst);
            self.screen.say("quitting: cancelling the run");
        }
    }

    fn start(&mut self, scope: Scope) {
        let (targets, described) = self.select(&scope);
        let failing = self.failing_paths();
        let passes = passes::passes(&targets, &failing, &self.user_paths);
        if passes.is_empty() {
            self.screen.say(&nothing_to_run(&described));
            return;
        }
        let first_pass: Vec<String> = passes
            .iter()
            .filter(|p| p.failing_first)
            .flat_map(|p| p.paths.clone().unwrap_or_default())
            .collect();
        let first = (!first_pass.is_empty()).then_some(first_pass.len());
        self.screen.starting(&described, first);
        let cancel = Arc::new(AtomicBool::new(false));
        let handle = runner::spawn(self.job(passes), Arc::clone(&cancel), self.tx.clone());
        self.running = Some(Running {
            cancel,
            handle,
            scope: scope.clone(),
            first_pass,
        });
        self.last_scope = Some(scope);
        self.described = Some(described);
    }

    fn job(&self, passes: Vec<Pass>) -> Job {
        Job {
            passes,
            base: self.setup.base.clone(),
            junit: self.setup.junit.clone(),
        }
    }

    /// What `scope` covers now, and how to say it.
    fn select(&mut self, scope: &Scope) -> (Targets, Described) {
        let mut reasons = Vec::new();
        let mut paths: Vec<String> = Vec::new();
        let mut everything = scope.all || scope.changes.contains(&self.setup.root);
        if !everything && !scope.changes.is_empty() {
            let selection = self.affected(scope);
            reasons.clone_from(&selection.reasons);
            everything = selection.everything;
            paths.extend(selection.paths());
        }
        if scope.failed && !everything {
            paths.extend(self.failing_paths());
        }
        dedup(&mut paths);
        let only_failed = scope.failed && scope.changes.is_empty() && !everything;
        let (targets, what) = match everything {
            true => (Targets::Everything, "all tests".to_string()),
            false if only_failed => (
                Targets::Paths(paths.clone()),
                count(paths.len(), "failing test"),
            ),
            false => (Targets::Paths(paths.clone()), count(paths.len(), "target")),
        };
        let why = self.why(scope);
        (targets, Described { what, why, reasons })
    }

    /// Asks the selector which tests the changes affect, among the test files found now. A
    /// rerun (Enter) takes the last selection as it was: the selector has already read those
    /// changes, and would find no difference now.
    fn affected(&mut self, scope: &Scope) -> Selection {
        if let Some(last) = self.last_selection.as_ref().filter(|_| scope.rerun) {
            return last.clone();
        }
        let mut selection = self.ask_selector(scope);
        if let Some(carried) = self.carried.take() {
            carry(&mut selection, carried);
        }
        self.last_selection = Some(selection.clone());
        selection
    }

    fn ask_selector(&mut self, scope: &Scope) -> Selection {
        let python: Vec<String> = self.setup.base.python_paths();
        let test_files: Vec<PathBuf> =
            match discover::discover(&self.setup.base.invocation_dir, &python) {
                Ok(discovery) => discovery.files.into_iter().map(|f| f.path).collect(),
                // The run itself reports what is wrong (a config being edited, a path gone).
                Err(_) => return everything(),
            };
        let changes: Vec<Change> = scope
            .changes
            .iter()
            .map(|path| Change {
                path: path.clone(),
                before: Before::Remembered,
            })
            .collect();
        self.selector.select(&changes, &test_files)
    }

    /// The failing tests as run paths, without those whose file is gone (pytest would stop
    /// at a path that does not exist; a run will tell whether their tests still exist).
    fn failing_paths(&self) -> Vec<String> {
        let paths = self.failing.as_paths(&self.setup.rootdir);
        paths
            .into_iter()
            .filter(|p| {
                let file = p.split("::").next().unwrap_or(p);
                p.starts_with(NATIVE_PREFIX) || Path::new(file).exists()
            })
            .collect()
    }

    fn why(&self, scope: &Scope) -> String {
        let why = if !scope.changes.is_empty() {
            format!("changed: {}", self.changes_text(&scope.changes))
        } else if scope.initial {
            "initial run".to_string()
        } else if scope.all {
            "key a".to_string()
        } else {
            "key f".to_string()
        };
        match scope.rerun {
            true => format!("Enter: rerun, {why}"),
            false => why,
        }
    }

    fn changes_text(&self, changes: &std::collections::BTreeSet<PathBuf>) -> String {
        let changes: Vec<PathBuf> = changes.iter().cloned().collect();
        describe_changes(&self.setup.root, &changes)
    }

    fn finished(&mut self, finished: Finished) {
        let Some(Running {
            handle,
            scope,
            first_pass,
            ..
        }) = self.running.take()
        else {
            return;
        };
        // The thread has sent its last message; joining only reaps it.
        let _ = handle.join();
        // Before the next run: a server a test left on its port would fail that one.
        if self.setup.kill_leftovers {
            if let Some(said) = descendants::kill_leftovers() {
                self.screen.say(&said);
            }
        }
        self.update_failing(&scope, &first_pass, &finished);
        self.last = Some(finished);
        self.show_finished();
        if let Some(next) = self.queued.take().filter(|_| !self.quitting) {
            self.start(next);
        }
    }

    /// Each result moves its test in or out of the failing set. A failing test the quick
    /// pass asked for that no pass reported no longer exists (renamed, deleted: pytest stops
    /// the pass at it, and the second pass runs the rest); neither do failing tests a complete
    /// run of everything did not report.
    fn update_failing(&mut self, scope: &Scope, first_pass: &[String], finished: &Finished) {
        for (id, outcome) in &finished.outcomes {
            self.failing.record(id, *outcome);
        }
        if finished.cancelled {
            return;
        }
        let reported: Vec<&str> = finished
            .outcomes
            .iter()
            .map(|(id, _)| id.as_str())
            .collect();
        let rootdir = self.setup.rootdir.clone();
        let vanished: Vec<String> = self
            .failing
            .ids()
            .filter(|id| first_pass.contains(&absolute_id(&rootdir, id)))
            .filter(|id| !reported.contains(&id.as_str()))
            .cloned()
            .collect();
        for id in vanished {
            self.failing.record(&id, crate::events::Outcome::Passed);
        }
        if finished.complete && scope.all && unfiltered(&self.setup.base) {
            self.failing.keep_only(reported);
        }
    }

    fn show_finished(&self) {
        if let Some(last) = &self.last {
            self.screen.finished(last, &self.status());
        }
    }

    fn show_status(&self) {
        self.screen.status(&self.status());
    }

    fn status(&self) -> Status<'_> {
        Status {
            root: &self.setup.root,
            profile: &self.setup.base.planning.profile,
            described: self.described.as_ref(),
            last: self.last.as_ref(),
            failing: self.failing.ids().map(String::as_str).collect(),
        }
    }
}

fn nothing_to_run(described: &Described) -> String {
    match described.why.ends_with("key f") {
        true => "no failing tests to run".to_string(),
        false => format!("nothing to run: no test is affected ({})", described.why),
    }
}

fn everything() -> Selection {
    Selection {
        everything: true,
        ..Selection::default()
    }
}

fn count(n: usize, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

fn dedup(paths: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    paths.retain(|p| seen.insert(p.clone()));
}

/// The request's Python paths made absolute, node id parts kept.
fn absolute_paths(request: &RunRequest) -> Vec<String> {
    request
        .python_paths()
        .iter()
        .map(|p| {
            let absolute = discover::absolute(&request.invocation_dir, Path::new(p));
            absolute.display().to_string()
        })
        .collect()
}

/// Whether a run of everything really runs every test: no paths, `-k`, `-m`, tiers or extra
/// pytest arguments (which could deselect some).
fn unfiltered(request: &RunRequest) -> bool {
    request.paths.is_empty()
        && request.keyword.is_none()
        && request.markers.is_none()
        && request.planning.select_tiers.is_none()
        && request.pytest_args.is_empty()
}

/// Adds `more` to `selection`.
fn carry(selection: &mut Selection, more: Selection) {
    selection.everything |= more.everything;
    for path in more.python {
        if !selection.python.contains(&path) {
            selection.python.push(path);
        }
    }
    for path in more.native {
        if !selection.native.contains(&path) {
            selection.native.push(path);
        }
    }
    selection.reasons.extend(more.reasons);
}
