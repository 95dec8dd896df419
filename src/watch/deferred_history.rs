//! The history recorder of a watch pass, built on a thread of its own. Building it opens the
//! database and asks git for the commit, branch and dirty flag (two git processes): about a
//! third of the time from a save to the first test process, and nothing the workers need.
//! Events wait in a buffer until it is ready, which is normally before the first test reports.

use std::cell::Cell;
use std::rc::Rc;
use std::thread::JoinHandle;

use crate::events::Event;
use crate::history::{HistoryError, HistoryRecorder};
use crate::report::{ReportError, Reporter};
use crate::session::{self, RunRequest};

type Built = Result<Option<HistoryRecorder>, HistoryError>;

pub struct DeferredRecorder {
    building: Option<JoinHandle<Built>>,
    recorder: Option<HistoryRecorder>,
    buffered: Vec<Event>,
    /// Shared by a run's passes: a database that cannot be opened is said once per run.
    warned: Rc<Cell<bool>>,
}

impl DeferredRecorder {
    /// Starts building the recorder `vigil run` would build for `request`.
    pub fn start(request: &RunRequest, warned: Rc<Cell<bool>>) -> DeferredRecorder {
        let request = request.clone();
        DeferredRecorder {
            building: Some(std::thread::spawn(move || session::recorder(&request))),
            recorder: None,
            buffered: Vec::new(),
            warned,
        }
    }

    /// Takes the built recorder (waiting for it) and hands it what was buffered.
    fn settle(&mut self) {
        let Some(handle) = self.building.take() else {
            return;
        };
        let buffered = std::mem::take(&mut self.buffered);
        let error = match handle.join() {
            Ok(Ok(Some(mut recorder))) => {
                for event in &buffered {
                    recorder.on_event(event);
                }
                self.recorder = Some(recorder);
                return;
            }
            Ok(Ok(None)) => return,
            Ok(Err(error)) => error.to_string(),
            Err(_) => "the thread opening the database panicked".to_string(),
        };
        // The default database only costs a warning, as in `vigil run` (a database named
        // with --history was checked before watching started).
        if !self.warned.replace(true) {
            eprintln!("vigil watch: warning: runs are not recorded in history: {error}");
        }
    }
}

impl Reporter for DeferredRecorder {
    fn on_event(&mut self, event: &Event) {
        if self.building.as_ref().is_some_and(JoinHandle::is_finished) {
            self.settle();
        }
        match (&mut self.recorder, &self.building) {
            (Some(recorder), _) => recorder.on_event(event),
            (None, Some(_)) => self.buffered.push(event.clone()),
            (None, None) => {}
        }
    }

    fn finish(&mut self) -> Result<(), ReportError> {
        self.settle();
        match &mut self.recorder {
            Some(recorder) => recorder.finish(),
            None => Ok(()),
        }
    }
}
