//! Process hygiene: Ctrl-C (a real SIGINT) stops a run with exit 2 and a well-formed JUnit
//! file, and no process started by a run outlives it — after crashes, timeouts or interrupts.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use libtest_mimic::Trial;

use crate::support::{self, check, TestResult};

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test(
            "processes::sigint_stops_the_run_with_exit_2_and_junit",
            sigint,
        ),
        Trial::test(
            "processes::nothing_survives_crashes_and_timeouts",
            no_leftovers_after_crashes,
        ),
    ]
}

/// Processes whose working directory is inside `dir` (pytest workers run there).
fn processes_in(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .chars()
                .all(|c| c.is_ascii_digit())
        })
        .filter(|e| std::fs::read_link(e.path().join("cwd")).is_ok_and(|cwd| cwd.starts_with(dir)))
        .map(|e| {
            let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            format!(
                "{} {}",
                e.file_name().to_string_lossy(),
                String::from_utf8_lossy(&cmdline).replace('\0', " ")
            )
        })
        .collect()
}

fn sigint() -> TestResult {
    let dir = support::fixture("hanging")?;
    let xml = dir.path().join("junit.xml");
    let mut child = Command::new(support::vigil_bin())
        .current_dir(dir.path())
        .env("VIGIL_PYTHON", support::python()?)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .args(["run", "-j", "2", "--junit"])
        .arg(&xml)
        .args(["--", "-p", "no:cacheprovider"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Whenever the signal lands (collection or mid-test), the outcome must be the same.
    std::thread::sleep(Duration::from_millis(1500));
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
    let text = support::text(&output);
    check(status.code() == Some(2), || {
        format!("exit {:?}, want 2\n{text}", status.code())
    })?;
    let outcomes = support::junit_outcomes(&xml).map_err(|e| format!("{e}\n{text}"))?;
    check(!outcomes.contains_key("tests.test_hang::test_hang"), || {
        format!("the interrupted test got an outcome: {outcomes:?}")
    })?;
    let left = processes_in(dir.path());
    check(left.is_empty(), || {
        format!("processes survived the run: {left:?}")
    })
}

fn no_leftovers_after_crashes() -> TestResult {
    let crashing = support::fixture("crashing")?;
    let out = support::vigil(
        crashing.path(),
        &["run", "-j", "2", "--", "-p", "no:cacheprovider"],
    )?;
    support::exited(&out, 1)?;
    let hanging = support::fixture("hanging")?;
    let out = support::vigil(
        hanging.path(),
        &[
            "run",
            "-j",
            "2",
            "--timeout",
            "1",
            "--",
            "-p",
            "no:cacheprovider",
        ],
    )?;
    support::exited(&out, 1)?;
    let left: Vec<String> = [crashing.path(), hanging.path()]
        .iter()
        .flat_map(|d| processes_in(d))
        .collect();
    check(left.is_empty(), || format!("processes survived: {left:?}"))
}
