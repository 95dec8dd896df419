//! Real signals against a real run: SIGINT to vigil after a delay, then the checks every
//! interrupted run must pass (exit 2, well-formed JUnit, the run in history marked
//! interrupted, no process left behind).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::process_scan::processes_in;
use super::{check, TestResult};

/// Runs vigil on a copy of `fixture` (whose `test_hang` never ends), sends SIGINT after
/// `delay`, and checks exit 2, a parseable JUnit file without the cut-short test, and that
/// no process is left.
pub fn interrupt_run(fixture: &str, delay: Duration) -> TestResult {
    let dir = super::fixture(fixture)?;
    let xml = dir.path().join("junit.xml");
    let mut child = Command::new(super::vigil_bin())
        .current_dir(dir.path())
        .env("VIGIL_PYTHON", super::python()?)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .args(["run", "-j", "2", "--junit"])
        .arg(&xml)
        .args(["--", "-p", "no:cacheprovider"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    std::thread::sleep(delay);
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err("vigil did not stop within 60 s of SIGINT".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = child.wait_with_output()?;
    let text = super::text(&output);
    check(status.code() == Some(2), || {
        format!(
            "exit {:?}, want 2 (SIGINT after {delay:?})\n{text}",
            status.code()
        )
    })?;
    let outcomes = super::junit_outcomes(&xml).map_err(|e| format!("{e}\n{text}"))?;
    check(!outcomes.contains_key("tests.test_hang::test_hang"), || {
        format!("the interrupted test got an outcome: {outcomes:?}")
    })?;
    recorded_as_interrupted(dir.path(), outcomes.len())?;
    let left = processes_in(dir.path());
    check(left.is_empty(), || {
        format!("processes survived the run: {left:?}")
    })
}

/// The partial results of an interrupted run still land in history, flagged as such: as many
/// results as the JUnit report has.
fn recorded_as_interrupted(dir: &Path, results: usize) -> TestResult {
    let out = super::vigil(dir, &["history", "--format", "json"])?;
    super::exited(&out, 0)?;
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let run = &runs[0];
    check(
        run["interrupted"] == true && run["exit_code"] == 2 && run["total"] == results,
        || format!("the interrupted run with its {results} results: {runs:#}"),
    )
}
