//! The worker pool: starts one pytest worker per batch, folds their wire events into the event
//! stream, enforces per-test timeouts, restarts a crashed worker on the tests it had left, and
//! forwards cancellation. Everything runs on the caller's thread; worker threads only read.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use crate::discover::native::NativeTest;
use crate::events::{Event, Outcome, PlannedTest};

use super::log_watch::LogWatch;
use super::native_lane::{NativeLane, LANE};
use super::results::{self, TestContext};
use super::wire::{WireEvent, WireItem};
use super::worker::{Assignment, Envelope, Launch, Message, Worker};
use super::{ExecuteOptions, Execution};

/// How long to wait for a dead worker's last events before giving up on its pipe (a forked
/// grandchild that escaped the process group can hold the pipe open).
const PIPE_GRACE: Duration = Duration::from_secs(2);
/// How long workers get to stop after SIGINT before they are killed.
const CANCEL_GRACE: Duration = Duration::from_secs(5);
/// Bytes of a worker's terminal output quoted when it crashes or rejects its arguments.
const LOG_TAIL: u64 = 8 * 1024;

pub struct Pool<'a> {
    options: &'a ExecuteOptions,
    plugin_dir: &'a Path,
    scratch: &'a Path,
    all_files: Vec<String>,
    tx: Sender<Envelope>,
    rx: Receiver<Envelope>,
    slots: Vec<Slot>,
    lane: NativeLane<'a>,
    execution: Execution,
}

/// One worker position; its process is replaced (a new generation) after a crash.
struct Slot {
    worker: Worker,
    generation: u32,
    files: Vec<String>,
    hello: bool,
    collection_done: bool,
    /// Node id → what this generation collected about it (file, markers, tier, ...).
    collected: HashMap<String, WireItem>,
    /// The same node ids in collection order.
    order: Vec<String>,
    /// Node ids with a result, over all generations.
    finished: HashSet<String>,
    in_flight: Option<(String, Instant)>,
    session_exit: Option<i32>,
    exit: Option<(std::io::Result<ExitStatus>, Instant)>,
    eof: bool,
    killed_for_timeout: bool,
    done: bool,
}

impl<'a> Pool<'a> {
    pub fn new(
        options: &'a ExecuteOptions,
        plugin_dir: &'a Path,
        scratch: &'a Path,
        all_files: &[PathBuf],
        native: &'a [NativeTest],
        python_workers: usize,
    ) -> Self {
        let (tx, rx) = channel();
        let all_files = all_files
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        Pool {
            options,
            plugin_dir,
            scratch,
            all_files,
            tx,
            rx,
            slots: Vec::new(),
            lane: NativeLane::new(
                native,
                python_workers,
                options.include_ignored,
                options.capture_cap,
                LogWatch {
                    patterns: options.log_patterns.clone(),
                    rootdir: options.rootdir.clone(),
                },
            ),
            execution: Execution::default(),
        }
    }

    pub fn run(
        &mut self,
        batches: &[Vec<PathBuf>],
        cancel: &AtomicBool,
        emit: &mut dyn FnMut(Event),
    ) -> Execution {
        for (index, batch) in batches.iter().enumerate() {
            let files: Vec<String> = batch
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            // The first worker also takes files discovery did not know (pytest may collect more).
            if let Err(message) = self.start(index, 0, files, index == 0, vec![], emit) {
                // Nothing can run when the interpreter cannot even be started.
                self.execution.usage_error = Some(message);
                return std::mem::take(&mut self.execution);
            }
        }
        self.lane.announce(emit);
        let mut cancelled_at: Option<Instant> = None;
        let mut past_grace = false;
        while self.slots.iter().any(|s| !s.done) || !self.lane.is_idle() {
            if cancel.load(Ordering::SeqCst) && cancelled_at.is_none() {
                cancelled_at = Some(Instant::now());
                self.execution.interrupted = true;
                self.signal_live(libc::SIGINT);
                self.lane.cancel(libc::SIGINT);
            }
            if !past_grace && cancelled_at.is_some_and(|t| t.elapsed() > CANCEL_GRACE) {
                past_grace = true;
                emit(Event::Notice {
                    message: self.still_running_after_grace(),
                });
            }
            if past_grace {
                self.signal_live(libc::SIGKILL);
                self.lane.cancel(libc::SIGKILL);
            }
            if cancelled_at.is_none() {
                let python = self.slots.iter().filter(|s| !s.done).count();
                let free = self.options.jobs.max(1).saturating_sub(python);
                self.lane.fill(free, self.scratch, &self.tx, emit);
            }
            match self.rx.recv_timeout(Duration::from_millis(20)) {
                Ok(envelope) => self.handle(envelope, emit),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            self.enforce_timeouts(emit);
            self.lane.enforce_timeout(self.options.timeout, emit);
            self.finish_dead_workers(cancelled_at.is_some(), emit);
        }
        std::mem::take(&mut self.execution)
    }

    fn start(
        &mut self,
        index: usize,
        generation: u32,
        files: Vec<String>,
        claim_unknown: bool,
        exclude: Vec<String>,
        emit: &mut dyn FnMut(Event),
    ) -> Result<(), String> {
        let mine: HashSet<&String> = files.iter().collect();
        let others = self
            .all_files
            .iter()
            .filter(|f| !mine.contains(f))
            .cloned()
            .collect();
        let assignment = Assignment {
            mine: files.clone(),
            others,
            claim_unknown,
            exclude,
            capture_cap: self.options.capture_cap,
            capture_spool: self.options.capture_spool.clone(),
            plan: self.options.plugin_plan.clone(),
        };
        let launch = Launch {
            python: &self.options.python,
            cwd: &self.options.cwd,
            pytest_args: &self.options.pytest_args,
            plugin_dir: self.plugin_dir,
            scratch: self.scratch,
        };
        let worker = Worker::spawn(&launch, &assignment, (index, generation), &self.tx)
            .map_err(|e| format!("cannot start {}: {e}", self.options.python.display()))?;
        emit(Event::WorkerStarted {
            worker: index,
            files: files.len(),
            pid: Some(worker.pid),
        });
        let finished = if generation == 0 {
            HashSet::new()
        } else {
            std::mem::take(&mut self.slots[index].finished)
        };
        let slot = Slot {
            worker,
            generation,
            files,
            hello: false,
            collection_done: false,
            collected: HashMap::new(),
            order: Vec::new(),
            finished,
            in_flight: None,
            session_exit: None,
            exit: None,
            eof: false,
            killed_for_timeout: false,
            done: false,
        };
        if generation == 0 {
            self.slots.push(slot);
        } else {
            self.slots[index] = slot;
        }
        Ok(())
    }

    fn handle(&mut self, envelope: Envelope, emit: &mut dyn FnMut(Event)) {
        let Envelope {
            worker,
            generation,
            message,
        } = envelope;
        if generation == LANE {
            if let Message::Exited(status) = message {
                self.lane.exited(worker, status, emit);
            }
            return;
        }
        let options = self.options; // a shared reference: no borrow of `self` below
        let Some(slot) = self
            .slots
            .get_mut(worker)
            .filter(|s| s.generation == generation)
        else {
            return;
        };
        match message {
            Message::Event(WireEvent::UsageError { message }) => {
                self.execution.usage_error = Some(message);
            }
            Message::Event(event) => slot.apply(event, worker, &options.rootdir, emit),
            Message::BadLine(text) => {
                // Whatever wrote it most likely ran in the test in flight: name it.
                let during = slot.in_flight.as_ref().map_or(String::new(), |(id, _)| {
                    format!(" (running {})", crate::report::shown::shown_id(id))
                });
                emit(Event::Notice {
                    message: format!("worker {worker}{during}: {text}"),
                });
            }
            Message::Eof => slot.eof = true,
            Message::Exited(status) => slot.exit = Some((status, Instant::now())),
        }
    }

    fn enforce_timeouts(&mut self, emit: &mut dyn FnMut(Event)) {
        let Some(limit) = self.options.timeout else {
            return;
        };
        for (index, slot) in self.slots.iter_mut().enumerate() {
            let Some((id, started)) = slot.in_flight.clone() else {
                continue;
            };
            if slot.killed_for_timeout || started.elapsed() < limit {
                continue;
            }
            slot.worker.kill();
            slot.killed_for_timeout = true;
            slot.in_flight = None;
            slot.finished.insert(id.clone());
            let message = format!(
                "Timeout: the test ran longer than {}s and its worker was killed",
                limit.as_secs_f64()
            );
            let detail = format!(
                "{message}\n\n--- worker output (tail) ---\n{}",
                slot.worker.log_tail(LOG_TAIL)
            );
            emit(Event::TestFinished(results::interrupted(
                id,
                Outcome::TimedOut,
                message,
                detail,
                started.elapsed(),
                index,
            )));
        }
    }

    fn finish_dead_workers(&mut self, cancelled: bool, emit: &mut dyn FnMut(Event)) {
        for index in 0..self.slots.len() {
            let slot = &self.slots[index];
            let ready = !slot.done
                && slot
                    .exit
                    .as_ref()
                    .is_some_and(|(_, at)| slot.eof || at.elapsed() > PIPE_GRACE);
            if ready {
                self.finish(index, cancelled, emit);
            }
        }
    }

    /// A worker's process has ended and its events are in: report what it cut short, restart
    /// it on the tests it had left if it died, or record why the run cannot go on.
    fn finish(&mut self, index: usize, cancelled: bool, emit: &mut dyn FnMut(Event)) {
        let slot = &mut self.slots[index];
        slot.done = true;
        slot.worker.kill(); // leftovers in the group (forked grandchildren) go with it
        let status = describe_exit(slot.exit.as_ref().map(|(s, _)| s));
        // A test cut short by Ctrl-C did not crash: it just has no result.
        let in_flight = slot.in_flight.take().filter(|_| !cancelled);
        if let Some((id, started)) = in_flight {
            slot.finished.insert(id.clone());
            let message = format!("worker crashed while running this test ({status})");
            let detail = format!(
                "{message}\n\n{}",
                crash_report(&slot.worker.log_tail(LOG_TAIL))
            );
            emit(Event::TestFinished(results::interrupted(
                id.clone(),
                Outcome::Crashed,
                message,
                detail,
                started.elapsed(),
                index,
            )));
            emit(Event::WorkerLost {
                worker: index,
                reason: status.clone(),
                in_flight: Some(id),
            });
        }
        match slot.session_exit {
            Some(code) => self.record_session_exit(index, code),
            None if cancelled => {}
            None if !slot.hello => self.record_failed_start(index, &status),
            None if !slot.collection_done => self.record_collection_crash(index, &status, emit),
            None => self.restart(index, emit),
        }
    }

    fn record_session_exit(&mut self, index: usize, code: i32) {
        let tail = || self.slots[index].worker.log_tail(LOG_TAIL);
        match code {
            2 => self.execution.interrupted = true,
            3 => {
                self.execution.internal_error =
                    Some(format!("pytest reported an internal error:\n{}", tail()))
            }
            4 => self.execution.usage_error = Some(usage_message(&tail())),
            _ => {}
        }
    }

    /// pytest never reached the plugin: a bad argument, a broken conftest, or no pytest at all.
    fn record_failed_start(&mut self, index: usize, status: &str) {
        let tail = self.slots[index].worker.log_tail(LOG_TAIL);
        let code = self.slots[index]
            .exit
            .as_ref()
            .and_then(|(s, _)| s.as_ref().ok())
            .and_then(|s| s.code());
        let message = if tail.contains("No module named pytest") {
            format!(
                "pytest is not importable by {}.\nInstall it with:\n    {} -m pip install pytest",
                self.options.python.display(),
                self.options.python.display()
            )
        } else {
            format!(
                "pytest stopped before running any test ({status}):\n{}",
                usage_message(&tail)
            )
        };
        match code {
            Some(1) | Some(4) => self.execution.usage_error = Some(message),
            _ => self.execution.internal_error = Some(message),
        }
    }

    fn record_collection_crash(&mut self, index: usize, status: &str, emit: &mut dyn FnMut(Event)) {
        let slot = &self.slots[index];
        let detail = slot.worker.log_tail(LOG_TAIL);
        emit(Event::WorkerLost {
            worker: index,
            reason: format!("crashed during collection ({status})"),
            in_flight: None,
        });
        for file in &slot.files {
            let id = results::relative(file, &self.options.rootdir);
            let longrepr = format!("the worker collecting this file crashed ({status})\n{detail}");
            emit(Event::TestFinished(results::collect_error(
                id, longrepr, index,
            )));
        }
    }

    /// Starts a new generation of a crashed or killed worker on the tests it had not finished.
    fn restart(&mut self, index: usize, emit: &mut dyn FnMut(Event)) {
        let slot = &self.slots[index];
        let remaining: Vec<&String> = slot
            .collected
            .keys()
            .filter(|id| !slot.finished.contains(*id))
            .collect();
        if remaining.is_empty() {
            return;
        }
        let mut files: Vec<String> = remaining
            .iter()
            .map(|id| slot.collected[*id].file.clone())
            .collect();
        files.sort();
        files.dedup();
        // Every test with a result in any generation: this generation did not collect the ones
        // excluded before, and leaving them out here would run them again (a file with two
        // crashing or hanging tests would run forever).
        let mut exclude: Vec<String> = slot.finished.iter().cloned().collect();
        exclude.sort();
        let generation = slot.generation + 1;
        if let Err(message) = self.start(index, generation, files, false, exclude, emit) {
            self.execution.internal_error = Some(message);
        }
    }

    /// Why the run is being killed rather than left to stop: what ignored the interrupt.
    fn still_running_after_grace(&self) -> String {
        let processes = self.live_slots().count() + self.lane.running();
        let s = if processes == 1 { "" } else { "es" };
        format!(
            "{processes} test process{s} still running {} s after the interrupt: killed",
            CANCEL_GRACE.as_secs()
        )
    }

    /// Workers still running: not finished, and no exit seen yet.
    fn live_slots(&self) -> impl Iterator<Item = &Slot> {
        self.slots.iter().filter(|s| !s.done && s.exit.is_none())
    }

    fn signal_live(&self, signal: i32) {
        for slot in self.live_slots() {
            slot.worker.signal_group(signal);
        }
    }
}

impl Slot {
    fn apply(
        &mut self,
        event: WireEvent,
        worker: usize,
        rootdir: &Path,
        emit: &mut dyn FnMut(Event),
    ) {
        if let WireEvent::TestStart { nodeid } | WireEvent::TestDone { nodeid, .. } = &event {
            if let Some(why) = self.forged(nodeid) {
                emit(Event::Notice {
                    message: format!(
                        "worker {worker}: an event for {nodeid} was ignored: {why} (something \
                         other than vigil's plugin wrote to its event fd)"
                    ),
                });
                return;
            }
        }
        match event {
            WireEvent::Hello { .. } => self.hello = true,
            WireEvent::Collected { items } => {
                for item in items {
                    self.order.push(item.nodeid.clone());
                    self.collected.insert(item.nodeid.clone(), item);
                }
            }
            WireEvent::CollectionDone { .. } => {
                self.collection_done = true;
                // A restarted worker collects tests already counted by its first generation.
                if self.generation == 0 {
                    emit(Event::Collected {
                        worker,
                        tests: self.planned(),
                    });
                }
            }
            WireEvent::CollectError { nodeid, longrepr } => {
                emit(Event::TestFinished(results::collect_error(
                    nodeid, longrepr, worker,
                )));
            }
            WireEvent::CollectSkip { nodeid, reason } => {
                emit(Event::TestFinished(results::collect_skip(
                    nodeid, &reason, rootdir, worker,
                )));
            }
            WireEvent::TestStart { nodeid } => {
                self.in_flight = Some((nodeid.clone(), Instant::now()));
                emit(Event::TestStarted { id: nodeid, worker });
            }
            WireEvent::TestDone {
                nodeid,
                phases,
                sections,
            } => {
                self.in_flight = None;
                self.finished.insert(nodeid.clone());
                let item = self.collected.get(&nodeid);
                let ctx = TestContext {
                    rootdir,
                    worker,
                    markers: item.map(|i| i.markers.clone()).unwrap_or_default(),
                    tier: item.and_then(|i| i.tier.clone()),
                };
                emit(Event::TestFinished(results::from_phases(
                    nodeid, &phases, sections, ctx,
                )));
            }
            WireEvent::SessionFinish { exitstatus } => self.session_exit = Some(exitstatus),
            WireEvent::Notice { message } => emit(Event::Notice {
                message: format!("worker {worker}: {message}"),
            }),
            // The pool sees this one first (it ends the run); nothing is left for the slot.
            WireEvent::UsageError { .. } => {}
        }
    }

    /// Why an event about `nodeid` cannot be the plugin's: the plugin reports only tests this
    /// worker collected, each once. A test writing to the event fd could otherwise add a
    /// result for a test that does not exist, or overwrite one that does.
    fn forged(&self, nodeid: &str) -> Option<&'static str> {
        if self.finished.contains(nodeid) {
            Some("that test already has its result")
        } else if !self.collected.contains_key(nodeid) {
            Some("this worker collected no such test")
        } else {
            None
        }
    }

    /// What this worker collected, in run order, as the plan shows it.
    fn planned(&self) -> Vec<PlannedTest> {
        self.order
            .iter()
            .filter_map(|id| self.collected.get(id))
            .map(|item| PlannedTest {
                id: item.nodeid.clone(),
                tier: item.tier.clone(),
                skip: item.skip.clone(),
                after: item.after.clone(),
            })
            .collect()
    }
}

fn describe_exit(status: Option<&std::io::Result<ExitStatus>>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Some(Ok(s)) => match (s.code(), s.signal()) {
            (Some(code), _) => format!("exited with code {code}"),
            (None, Some(sig)) => format!("killed by signal {sig} ({})", signal_name(sig)),
            _ => "ended".to_string(),
        },
        Some(Err(e)) => format!("could not be waited for: {e}"),
        None => "still running".to_string(),
    }
}

pub(super) fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGABRT => "SIGABRT",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGKILL => "SIGKILL",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGILL => "SIGILL",
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        _ => "signal",
    }
}

/// What the dying interpreter said: from faulthandler's "Fatal Python error" on, else the
/// last lines of the worker's output.
fn crash_report(log: &str) -> String {
    if let Some(start) = log.rfind("Fatal Python error") {
        return log[start..].trim_end().to_string();
    }
    let lines: Vec<&str> = log.trim_end().lines().collect();
    let tail = &lines[lines.len().saturating_sub(20)..];
    format!(
        "--- last lines of the worker's output ---\n{}",
        tail.join("\n")
    )
}

/// pytest's usage errors start at its `ERROR:` line; what follows explains them.
fn usage_message(log: &str) -> String {
    match log.find("ERROR:") {
        Some(start) => log[start..].trim().to_string(),
        None => log.trim().to_string(),
    }
}
