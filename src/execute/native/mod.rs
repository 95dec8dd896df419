//! One native (libtest) test in its own process, as nextest runs them: `<binary> --exact <name>
//! --nocapture` started with duct in its own process group, its output spooled to a log file,
//! a waiter thread reporting its exit; and that output turned into a [`TestResult`].

mod libtest_output;
#[cfg(test)]
mod tests;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use super::process_group::{die_with_vigil, GroupLeader};
use crate::discover::native::NativeTest;
use crate::events::{Outcome, Phase, Problem, TestResult};
use libtest_output::{cap_text, judge, shown_log, Judgement};

/// How much of the end of a log is searched for libtest's verdict and the panic. libtest
/// prints both after the test's own output, so a test that prints megabytes does not hide them.
const PARSE_WINDOW: u64 = 1 << 20;

/// A running test process.
pub struct NativeProcess {
    group: GroupLeader,
    pub pid: u32,
    /// The test's stdout and stderr, interleaved as written.
    pub log: PathBuf,
}

impl NativeProcess {
    /// Sends `signal` to the process's whole group (the test binary and anything it started).
    pub fn signal_group(&self, signal: i32) {
        self.group.signal_group(signal);
    }

    /// Kills the process group, then reaps the test binary itself.
    pub fn kill(&self) {
        self.group.kill();
        let _ = self.group.handle.wait();
    }
}

/// Starts one test; `on_exit` is called from a waiter thread with its exit status.
/// `include_ignored` runs an `#[ignore]`d test instead of reporting it ignored.
pub fn spawn(
    test: &NativeTest,
    include_ignored: bool,
    scratch: &Path,
    on_exit: impl FnOnce(std::io::Result<ExitStatus>) + Send + 'static,
) -> std::io::Result<NativeProcess> {
    let (file, log) = tempfile::Builder::new()
        .prefix("native-")
        .suffix(".log")
        .tempfile_in(scratch)?
        .keep()?;
    let mut args = vec!["--exact", test.name.as_str(), "--nocapture"];
    if include_ignored && test.ignored {
        args.push("--include-ignored");
    }
    let handle = duct::cmd(&test.binary.path, args)
        .dir(&test.binary.cwd)
        .stdin_null()
        // duct applies the outer redirection first: stdout goes to the log, then stderr joins it.
        .stderr_to_stdout()
        .stdout_file(file)
        .unchecked()
        .before_spawn(|cmd| {
            cmd.process_group(0);
            // SAFETY: die_with_vigil makes one async-signal-safe call (prctl).
            unsafe {
                cmd.pre_exec(|| {
                    die_with_vigil();
                    Ok(())
                });
            }
            Ok(())
        })
        .start()?;
    let handle = Arc::new(handle);
    let waiter = Arc::clone(&handle);
    std::thread::spawn(move || on_exit(waiter.wait().map(|output| output.status)));
    let group = GroupLeader::new(handle);
    Ok(NativeProcess {
        pid: group.pid,
        group,
        log,
    })
}

/// The result of a finished test process, from its exit status and its log.
pub fn result(
    test: &NativeTest,
    status: &std::io::Result<ExitStatus>,
    log: &Path,
    elapsed: Duration,
    worker: usize,
    capture_cap: usize,
) -> TestResult {
    let shown = shown_log(log, capture_cap);
    let text = super::worker::tail(log, PARSE_WINDOW);
    let (outcome, problems, skip) = match judge(test, status, &text) {
        Judgement::Clean(outcome, skip) => (outcome, vec![], skip),
        Judgement::Problem(outcome, message, location) => {
            let problem = Problem {
                phase: Phase::Call,
                is_error: outcome == Outcome::Error,
                message: cap_text(&message, capture_cap),
                location,
                longrepr: shown.clone(),
            };
            (outcome, vec![problem], None)
        }
    };
    // A failure already carries the output as its longrepr; keep it once.
    let sections = if problems.is_empty() {
        vec![("Captured stdout call".to_string(), shown)]
    } else {
        vec![]
    };
    TestResult {
        id: test.id.clone(),
        outcome,
        duration: elapsed,
        problems,
        skip,
        sections,
        markers: vec![],
        tier: None,
        worker,
        diagnosis: None,
        attempt: 1,
    }
}
