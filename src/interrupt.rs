//! The interrupt latch: whether Ctrl-C / SIGTERM stopped this run, decided once, so the exit
//! code and the history record always agree however late the signal arrives.

use std::sync::atomic::{AtomicU8, Ordering};

const RUNNING: u8 = 0;
const REQUESTED: u8 = 1;
const SETTLED: u8 = 2;

/// Starts running; a signal *requests* an interrupt; the run's last durable write *settles*
/// it. A request after settling changes nothing: the history run is written by then, and
/// exiting 2 beside a run recorded as complete would make the two disagree.
#[derive(Debug, Default)]
pub struct Latch {
    state: AtomicU8,
}

impl Latch {
    pub fn new() -> Latch {
        Latch::default()
    }

    /// Asks the run to stop. False when the run has already settled (too late to matter).
    pub fn request(&self) -> bool {
        match self
            .state
            .compare_exchange(RUNNING, REQUESTED, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => true,
            Err(state) => state == REQUESTED,
        }
    }

    /// Whether an interrupt was requested (and not settled away).
    pub fn requested(&self) -> bool {
        self.state.load(Ordering::SeqCst) == REQUESTED
    }

    /// Decides, once and for all: true when the run was interrupted. Every later call gives
    /// the same answer, and later requests are refused.
    pub fn settle(&self) -> bool {
        match self
            .state
            .compare_exchange(RUNNING, SETTLED, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => false,
            Err(state) => state == REQUESTED,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_before_settling_interrupts_and_sticks() {
        let latch = Latch::new();
        assert!(!latch.requested());
        assert!(latch.request());
        assert!(latch.requested());
        assert!(latch.settle());
        assert!(latch.settle(), "the answer does not change");
        assert!(
            latch.request(),
            "a second signal still finds the run interrupted"
        );
    }

    #[test]
    fn a_request_after_settling_is_refused() {
        let latch = Latch::new();
        assert!(!latch.settle());
        assert!(!latch.request());
        assert!(!latch.requested());
        assert!(!latch.settle());
    }

    #[test]
    fn racing_requests_and_settling_agree() {
        for _ in 0..200 {
            let latch = std::sync::Arc::new(Latch::new());
            let other = std::sync::Arc::clone(&latch);
            let requester = std::thread::spawn(move || other.request());
            let settled = latch.settle();
            let took = requester.join().unwrap();
            // Exactly one of the two won, and both sides see the same outcome.
            assert_eq!(settled, took);
            assert_eq!(latch.settle(), settled);
        }
    }
}
