//! Process exit codes, the same as pytest's so that CI scripts treat vigil as they treat pytest.

/// How a vigil command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Every selected test passed (skips and xfails count as passing).
    Ok = 0,
    /// At least one test failed, errored, crashed or timed out.
    TestsFailed = 1,
    /// The run was interrupted (Ctrl-C, SIGTERM, a worker asked to stop the session).
    Interrupted = 2,
    /// vigil itself failed.
    InternalError = 3,
    /// The command line, the configuration or the environment is wrong.
    UsageError = 4,
    /// Nothing was collected.
    NoTestsCollected = 5,
}

impl ExitCode {
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The exit code a number stands for, if any.
    pub fn from_code(code: i32) -> Option<ExitCode> {
        [
            ExitCode::Ok,
            ExitCode::TestsFailed,
            ExitCode::Interrupted,
            ExitCode::InternalError,
            ExitCode::UsageError,
            ExitCode::NoTestsCollected,
        ]
        .into_iter()
        .find(|e| e.code() == code)
    }
}
