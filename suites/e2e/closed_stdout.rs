//! vigil with its output going nowhere: `vigil list | head` and friends end quietly by
//! SIGPIPE, as `git log | head` does, and `vigil run` whose reader has gone still finishes
//! its run: exit code, JUnit and history as if someone had been reading.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};

use libtest_mimic::Trial;

use crate::support::{self, check, TestResult};

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test(
            "closed_stdout::reading_commands_end_by_sigpipe_without_a_panic",
            reading_commands,
        ),
        Trial::test(
            "closed_stdout::a_run_with_nobody_reading_still_records_and_reports",
            run_nobody_reads,
        ),
    ]
}

/// Runs vigil in `dir` with stdout (and stderr too, when `both`) a pipe whose reader has
/// already gone, so its first write fails. Returns the status and what went to stderr.
fn with_stdout_closed(
    dir: &std::path::Path,
    args: &[&str],
    both: bool,
) -> Result<(ExitStatus, String), libtest_mimic::Failed> {
    let (reader, writer) = std::io::pipe()?;
    drop(reader);
    let stderr_file = dir.join("stderr.txt");
    let stderr = if both {
        Stdio::from(writer.try_clone()?)
    } else {
        Stdio::from(std::fs::File::create(&stderr_file)?)
    };
    let status = Command::new(support::vigil_bin())
        .current_dir(dir)
        .env("VIGIL_PYTHON", support::python()?)
        .args(args)
        .stdout(writer)
        .stderr(stderr)
        .status()?;
    let text = std::fs::read_to_string(&stderr_file).unwrap_or_default();
    Ok((status, text))
}

fn reading_commands() -> TestResult {
    let dir = support::fixture("failing")?;
    // Something for history, trends and diagnose to print.
    support::exited(&support::vigil(dir.path(), &["run"])?, 1)?;
    for command in [
        &["list"][..],
        &["plan"],
        &["history"],
        &["trends"],
        &["diagnose"],
    ] {
        let (status, stderr) = with_stdout_closed(dir.path(), command, false)?;
        check(status.signal() == Some(libc::SIGPIPE), || {
            format!("vigil {command:?} with stdout closed: {status}, want killed by SIGPIPE")
        })?;
        check(stderr.is_empty(), || {
            format!("vigil {command:?} with stdout closed wrote to stderr:\n{stderr}")
        })?;
    }
    Ok(())
}

/// `failing` is 9 failed, 3 passed: the run's verdict does not depend on a reader.
fn run_nobody_reads() -> TestResult {
    let dir = support::fixture("failing")?;
    let args = ["run", "-j", "2", "--junit", "junit.xml"];
    let (status, _) = with_stdout_closed(dir.path(), &args, true)?;
    check(status.code() == Some(1), || {
        format!("vigil run with stdout and stderr closed: {status}, want exit 1")
    })?;
    let cases = support::junit_cases(&dir.path().join("junit.xml"))?;
    check(cases.len() == 12, || {
        format!("JUnit holds {} cases, want 12", cases.len())
    })?;
    let runs = support::history_db::check(&dir.path().join(".vigil/history.db"))?;
    check(runs.len() == 1 && runs[0].total == 12, || {
        format!("history holds {runs:?}, want one run of 12")
    })
}
