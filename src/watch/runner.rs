//! One watch run on a thread of its own, so the loop keeps reading file events and keys while
//! it goes: its passes through `session::run` in order, sharing one cancel flag. Setting the
//! flag stops the run as Ctrl-C stops `vigil run` (workers get SIGINT, then SIGKILL, by
//! process group); `session::run` returns only once they are gone, and the results so far are
//! recorded as an interrupted run.

use std::cell::Cell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::events::{Outcome, Tally};
use crate::exit::ExitCode;
use crate::session::{self, RunRequest};

use super::passes::Pass;
use super::reporters;
use super::watch_loop::Input;

/// What a run needs: its passes and the request each pass adapts.
pub struct Job {
    pub passes: Vec<Pass>,
    pub base: RunRequest,
    pub junit: Option<PathBuf>,
}

/// How a run ended, for the loop.
#[derive(Debug, Default)]
pub struct Finished {
    /// Each test's latest outcome, in the order tests first reported.
    pub outcomes: Vec<(String, Outcome)>,
    pub duration: Duration,
    pub cancelled: bool,
    /// Every pass ran to its end, without a usage or internal error.
    pub complete: bool,
    /// Usage and internal errors, for the screen.
    pub errors: Vec<String>,
}

impl Finished {
    pub fn tally(&self) -> Tally {
        let mut tally = Tally::default();
        for (_, outcome) in &self.outcomes {
            tally.add(*outcome);
        }
        tally
    }

    /// A later result for a test replaces its earlier one (a retry, or the second pass).
    fn absorb(&mut self, results: Vec<(String, Outcome)>) {
        let mut index: HashMap<String, usize> = self
            .outcomes
            .iter()
            .enumerate()
            .map(|(i, (id, _))| (id.clone(), i))
            .collect();
        for (id, outcome) in results {
            match index.get(&id) {
                Some(&i) => self.outcomes[i].1 = outcome,
                None => {
                    index.insert(id.clone(), self.outcomes.len());
                    self.outcomes.push((id, outcome));
                }
            }
        }
    }
}

/// Starts the run; [`Input::Finished`] arrives when it is over.
pub fn spawn(job: Job, cancel: Arc<AtomicBool>, tx: Sender<Input>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let finished = run(&job, &cancel);
        // The loop outlives every run it starts; a failed send means it is gone already.
        let _ = tx.send(Input::Finished(finished));
    })
}

fn run(job: &Job, cancel: &AtomicBool) -> Finished {
    let started = Instant::now();
    let mut finished = Finished {
        complete: true,
        ..Finished::default()
    };
    let warned = Rc::new(Cell::new(false));
    for pass in &job.passes {
        if cancel.load(Ordering::SeqCst) {
            break;
        }
        let mut request = job.base.clone();
        if let Some(paths) = &pass.paths {
            request.paths = paths.clone();
        }
        let (mut reporters, collected) = reporters::build(&request, job.junit.as_deref(), &warned);
        match session::run(&request, &mut reporters, cancel) {
            Ok(outcome) => {
                if matches!(outcome.exit, ExitCode::UsageError | ExitCode::InternalError) {
                    finished.complete = false;
                    finished.errors.extend(outcome.message);
                }
            }
            Err(error) => {
                finished.complete = false;
                finished.errors.push(error.to_string());
            }
        }
        drop(reporters);
        let results = std::mem::take(&mut collected.borrow_mut().results);
        finished.absorb(results);
    }
    finished.cancelled = cancel.load(Ordering::SeqCst);
    finished.complete &= !finished.cancelled;
    finished.duration = started.elapsed();
    finished
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_pass_replaces_a_tests_outcome() {
        let mut finished = Finished::default();
        finished.absorb(vec![("t.py::a".into(), Outcome::Failed)]);
        finished.absorb(vec![
            ("t.py::b".into(), Outcome::Passed),
            ("t.py::a".into(), Outcome::Passed),
        ]);
        assert_eq!(
            finished.outcomes,
            vec![
                ("t.py::a".to_string(), Outcome::Passed),
                ("t.py::b".to_string(), Outcome::Passed)
            ]
        );
        assert_eq!(finished.tally().describe(), "2 passed");
    }
}
