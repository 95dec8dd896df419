//! The native lane of the pool: native tests wait in a queue and each runs in its own
//! process whenever a `-j` slot is free (pytest workers hold theirs until they finish), with
//! the same timeout, cancellation and process-group handling as pytest workers.

use std::collections::VecDeque;
use std::path::Path;
use std::process::ExitStatus;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use crate::discover::native::NativeTest;
use crate::events::{Event, Outcome, PlannedTest};

use super::log_watch::{LogMark, LogWatch};
use super::native::{self, NativeProcess};
use super::results;
use super::worker::{Envelope, Message};

/// Marks an envelope as the native lane's: its `worker` is then the test's queue position.
pub const LANE: u32 = u32::MAX;

struct Running {
    index: usize,
    process: NativeProcess,
    started: Instant,
    slot: usize,
    timed_out: bool,
    logs: LogMark,
}

pub struct NativeLane<'a> {
    tests: &'a [NativeTest],
    queue: VecDeque<usize>,
    running: Vec<Running>,
    /// Worker numbers shown for native tests start after the pytest workers'.
    first_slot: usize,
    include_ignored: bool,
    capture_cap: usize,
    /// `[diagnose] logs`: error lines written while a test ran go with its failure.
    logs: LogWatch,
    /// After Ctrl-C a test that ends has no result: it was cut short, not failed.
    cancelled: bool,
}

impl<'a> NativeLane<'a> {
    pub fn new(
        tests: &'a [NativeTest],
        first_slot: usize,
        include_ignored: bool,
        capture_cap: usize,
        logs: LogWatch,
    ) -> Self {
        NativeLane {
            tests,
            queue: (0..tests.len()).collect(),
            running: Vec::new(),
            first_slot,
            include_ignored,
            capture_cap,
            logs,
            cancelled: false,
        }
    }

    /// Announces the native tests, so progress counts them from the start.
    pub fn announce(&self, emit: &mut dyn FnMut(Event)) {
        if self.tests.is_empty() {
            return;
        }
        let tests = self
            .tests
            .iter()
            .map(|t| PlannedTest {
                id: t.id.clone(),
                tier: None,
                skip: None,
                after: vec![],
            })
            .collect();
        emit(Event::Collected {
            worker: self.first_slot,
            tests,
        });
    }

    pub fn is_idle(&self) -> bool {
        self.queue.is_empty() && self.running.is_empty()
    }

    /// Native test processes started and not yet finished.
    pub fn running(&self) -> usize {
        self.running.len()
    }

    /// Starts queued tests while fewer than `free` of them run.
    pub fn fill(
        &mut self,
        free: usize,
        scratch: &Path,
        tx: &Sender<Envelope>,
        emit: &mut dyn FnMut(Event),
    ) {
        while self.running.len() < free {
            let Some(index) = self.queue.pop_front() else {
                return;
            };
            let test = &self.tests[index];
            let slot = self.free_slot();
            let tx = tx.clone();
            let on_exit = move |status: std::io::Result<ExitStatus>| {
                let _ = tx.send(Envelope {
                    worker: index,
                    generation: LANE,
                    message: Message::Exited(status),
                });
            };
            let logs = self.logs.mark();
            match native::spawn(test, self.include_ignored, scratch, on_exit) {
                Ok(process) => {
                    emit(Event::TestStarted {
                        id: test.id.clone(),
                        worker: slot,
                    });
                    self.running.push(Running {
                        index,
                        process,
                        started: Instant::now(),
                        slot,
                        timed_out: false,
                        logs,
                    });
                }
                Err(error) => emit(Event::TestFinished(results::interrupted(
                    test.id.clone(),
                    Outcome::Error,
                    format!("cannot start {}: {error}", test.binary.path.display()),
                    String::new(),
                    Duration::ZERO,
                    slot,
                ))),
            }
        }
    }

    /// The lowest worker number no running native test uses.
    fn free_slot(&self) -> usize {
        (self.first_slot..)
            .find(|s| self.running.iter().all(|r| r.slot != *s))
            .unwrap_or(self.first_slot)
    }

    /// A test process ended: its result, unless the timeout already reported it.
    pub fn exited(
        &mut self,
        index: usize,
        status: std::io::Result<ExitStatus>,
        emit: &mut dyn FnMut(Event),
    ) {
        let Some(at) = self.running.iter().position(|r| r.index == index) else {
            return;
        };
        let done = self.running.swap_remove(at);
        done.process.kill(); // anything it left in its group goes with it
        if done.timed_out || self.cancelled {
            return;
        }
        let test = &self.tests[index];
        let mut result = native::result(
            test,
            &status,
            &done.process.log,
            done.started.elapsed(),
            done.slot,
            self.capture_cap,
        );
        if result.outcome.is_failure() {
            result.sections.extend(self.logs.errors_since(&done.logs));
        }
        emit(Event::TestFinished(result));
    }

    /// Kills tests that ran past `limit`, reporting them as timed out.
    pub fn enforce_timeout(&mut self, limit: Option<Duration>, emit: &mut dyn FnMut(Event)) {
        let Some(limit) = limit else { return };
        for running in self
            .running
            .iter_mut()
            .filter(|r| !r.timed_out && r.started.elapsed() >= limit)
        {
            running.process.signal_group(libc::SIGKILL);
            running.timed_out = true;
            let message = format!(
                "Timeout: the test ran longer than {}s and its process was killed",
                limit.as_secs_f64()
            );
            emit(Event::TestFinished(results::interrupted(
                self.tests[running.index].id.clone(),
                Outcome::TimedOut,
                message.clone(),
                message,
                running.started.elapsed(),
                running.slot,
            )));
        }
    }

    /// Ctrl-C: nothing new starts; running tests get `signal`.
    pub fn cancel(&mut self, signal: i32) {
        self.cancelled = true;
        self.queue.clear();
        for running in &self.running {
            running.process.signal_group(signal);
        }
    }
}
