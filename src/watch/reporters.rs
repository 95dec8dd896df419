//! The reporters of one watch pass: the terminal, JUnit when the profile asks for it, history
//! (as `vigil run` builds them, history on the side), and a collector that hands the outcomes
//! back to the loop.

use std::cell::{Cell, RefCell};
use std::path::Path;
use std::rc::Rc;

use crate::events::{Event, Outcome};
use crate::report::{ColorChoice, JunitReporter, Reporter, TerminalReporter};
use crate::session::RunRequest;

use super::deferred_history::DeferredRecorder;

/// What the collector saw of one pass.
#[derive(Debug, Default)]
pub struct Collected {
    /// Every result in the order reported (a retry comes after the attempt it replaces).
    pub results: Vec<(String, Outcome)>,
}

struct Collector(Rc<RefCell<Collected>>);

impl Reporter for Collector {
    fn on_event(&mut self, event: &Event) {
        if let Event::TestFinished(result) = event {
            let entry = (result.id.clone(), result.outcome);
            self.0.borrow_mut().results.push(entry);
        }
    }
}

/// The reporters for `request`, and the collector's findings to read after the pass. History
/// is built on the side (see [`DeferredRecorder`]); `warned` is shared by a run's passes.
pub fn build(
    request: &RunRequest,
    junit: Option<&Path>,
    warned: &Rc<Cell<bool>>,
) -> (Vec<Box<dyn Reporter>>, Rc<RefCell<Collected>>) {
    let history_path = request.history.as_ref().map(|h| h.path.clone());
    let terminal = TerminalReporter::stdout(ColorChoice::Auto, false).with_history(history_path);
    let collected = Rc::new(RefCell::new(Collected::default()));
    let mut reporters: Vec<Box<dyn Reporter>> = vec![
        Box::new(terminal),
        Box::new(Collector(Rc::clone(&collected))),
    ];
    if let Some(path) = junit {
        reporters.push(Box::new(JunitReporter::new(path.to_path_buf())));
    }
    // History last: it is written after the files a person looks at first.
    let recording = request.history.as_ref().is_some_and(|h| h.record);
    if recording {
        let recorder = DeferredRecorder::start(request, Rc::clone(warned));
        reporters.push(Box::new(recorder));
    }
    (reporters, collected)
}
