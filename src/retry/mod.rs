//! Retries: which failures run again (the diagnosis says transient, history says flaky, a
//! user pattern matches, or the test carries `@pytest.mark.flaky(reruns=N)`), how long to
//! wait before each attempt, and whether a pass on retry still fails the run.

mod backoff;
mod policy;

pub use backoff::Backoff;
pub use policy::{Decision, RetryPolicy, RetryState};

/// What a test that passed only on a retry does to the run's exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlakyResult {
    /// It passed: the run passes (reported as flaky).
    #[default]
    Pass,
    /// Flakiness is a failure: the run exits 1.
    Fail,
}
