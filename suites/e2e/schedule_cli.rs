//! `vigil schedule` as a user types it: two runs a second apart land as two runs in history
//! with the next-run line between them; a bad `--cron` or a zero `--every` is a usage error
//! (exit 4) naming what was wrong; Ctrl-C while waiting ends it at once with exit 0; what a
//! run's tests leave running is killed while the schedule waits for the next one.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use libtest_mimic::{Failed, Trial};

use crate::support::process_scan::{processes_marked, write_leaky_test};
use crate::support::{self, check, TestResult};

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test("schedule::two_runs_recorded", two_runs_recorded),
        Trial::test("schedule::bad_cron_exits_4_naming_it", bad_cron),
        Trial::test("schedule::zero_every_exits_4", zero_every),
        Trial::test(
            "schedule::sigint_while_waiting_exits_0",
            sigint_while_waiting,
        ),
        Trial::test(
            "schedule::leftovers_are_killed_before_the_wait",
            leftovers_killed,
        ),
    ]
}

/// `--every 1s --runs 2 --now` under `VIGIL_PROFILE=ci`: exit 0, two whole runs of the ci
/// profile in the fixture's history, the JUnit file written, and the line saying when the
/// second run is.
fn two_runs_recorded() -> TestResult {
    let dir = support::fixture("passing")?;
    let args = [
        "schedule",
        "--every",
        "1s",
        "--runs",
        "2",
        "--now",
        "-j",
        "2",
        "--junit",
        "junit.xml",
    ];
    let out = support::vigil_env(dir.path(), &[("VIGIL_PROFILE", "ci")], &args)?;
    support::exited(&out, 0)?;
    let text = support::text(&out);
    check(
        text.contains("vigil schedule: next run at ") && text.contains(" (in "),
        || format!("no next-run line:\n{text}"),
    )?;
    check(dir.path().join("junit.xml").is_file(), || {
        format!("no JUnit file:\n{text}")
    })?;
    let history = support::vigil(dir.path(), &["history", "--format", "json"])?;
    support::exited(&history, 0)?;
    let runs: Vec<serde_json::Value> = serde_json::from_slice(&history.stdout)?;
    let summary: Vec<(String, i64, i64)> = runs
        .iter()
        .map(|r| {
            let profile = r["profile"].as_str().unwrap_or("?").to_string();
            (
                profile,
                r["total"].as_i64().unwrap_or(-1),
                r["exit_code"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    let want = vec![("ci".to_string(), 6, 0), ("ci".to_string(), 6, 0)];
    check(summary == want, || {
        format!("runs in history: {summary:?}, want {want:?}\n{text}")
    })
}

fn bad_cron() -> TestResult {
    let dir = support::fixture("passing")?;
    for expression in ["0 2 * *", "61 2 * * *", "0 2 * * 9"] {
        let out = support::vigil(dir.path(), &["schedule", "--cron", expression, "--now"])?;
        support::exited(&out, 4)?;
        let text = support::text(&out);
        check(text.contains(&format!("--cron {expression:?}")), || {
            format!("the message does not name {expression:?}:\n{text}")
        })?;
    }
    no_runs(dir.path())
}

fn zero_every() -> TestResult {
    let dir = support::fixture("passing")?;
    let out = support::vigil(dir.path(), &["schedule", "--every", "0s", "--now"])?;
    support::exited(&out, 4)?;
    let text = support::text(&out);
    check(
        text.contains("--every \"0s\": must be longer than zero"),
        || text.clone(),
    )?;
    no_runs(dir.path())
}

/// Waiting for a run an hour away, SIGINT ends the schedule well within the bound, exit 0,
/// having run nothing.
fn sigint_while_waiting() -> TestResult {
    let dir = support::fixture("passing")?;
    let (mut child, seen) = until_waiting(dir.path(), &[], Stdio::null())?;
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = wait_at_most(&mut child, Duration::from_secs(30))?;
    check(status.code() == Some(0), || {
        format!(
            "exit {:?}, want 0 after SIGINT while waiting\n{seen}",
            status.code()
        )
    })?;
    check(seen.contains("(in 1h)") || seen.contains("(in 59m"), || {
        format!("the next-run line does not say an hour:\n{seen}")
    })?;
    no_runs(dir.path())
}

/// `vigil schedule --every 1h` (and `extra`) in `dir`, read until it says when its next run
/// is: it is waiting. Returns it and what it printed.
fn until_waiting(
    dir: &std::path::Path,
    extra: &[&str],
    stderr: Stdio,
) -> Result<(std::process::Child, String), Failed> {
    let mut child = Command::new(support::vigil_bin())
        .current_dir(dir)
        .env("VIGIL_PYTHON", support::python()?)
        .env("NO_COLOR", "1")
        .args(["schedule", "--every", "1h"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut seen = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        seen.push_str(&line);
        seen.push('\n');
        if line.starts_with("vigil schedule: next run at ") {
            break;
        }
    }
    Ok((child, seen))
}

/// A test starts a sleeper in a session of its own: once the first run has ended and the
/// schedule waits an hour for the next, the sleeper is gone, and vigil said it killed it.
fn leftovers_killed() -> TestResult {
    let dir = support::fixture("passing")?;
    let mark = format!("vigil-schedule-leftover-{}", std::process::id());
    write_leaky_test(dir.path(), &mark)?;
    let stderr = std::fs::File::create(dir.path().join("stderr.txt"))?;
    let (mut child, seen) = until_waiting(dir.path(), &["--now"], Stdio::from(stderr))?;
    let left = processes_marked(&mark);
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    wait_at_most(&mut child, Duration::from_secs(30))?;
    let said = std::fs::read_to_string(dir.path().join("stderr.txt"))?;
    check(left.is_empty(), || {
        format!("still running while the schedule waits: {left:?}\n{seen}{said}")
    })?;
    check(
        said.contains("vigil: killed 1 process the tests left running:") && said.contains(&mark),
        || format!("the leftover was not named:\n{seen}{said}"),
    )
}

fn wait_at_most(
    child: &mut std::process::Child,
    limit: Duration,
) -> Result<std::process::ExitStatus, Failed> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err(format!("vigil schedule did not stop within {limit:?} of SIGINT").into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Nothing was run: no history database was made.
fn no_runs(dir: &std::path::Path) -> TestResult {
    let db = dir.join(".vigil").join("history.db");
    check(!db.exists(), || {
        format!("{} exists: something ran", db.display())
    })
}
