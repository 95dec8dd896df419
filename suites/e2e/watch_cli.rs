//! `vigil watch` driven through pipes as a script would drive it: a saved file starts a run
//! (its `vigil watch:` lines show it start and end), keys come as lines on stdin, `q` exits 0,
//! the runs land in history under the `watch` profile, a change during a long test cancels
//! that run without leaving its worker behind, and what a run's tests leave running is killed
//! when it ends.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use libtest_mimic::{Failed, Trial};

use crate::support::process_scan::{processes_marked, write_leaky_test};
use crate::support::{self, check, TestResult};

/// Generous: a loaded machine starts pytest slowly, and no trial asserts on time.
const PATIENCE: Duration = Duration::from_secs(60);

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test("watch::reruns_on_save_and_records_history", reruns_on_save),
        Trial::test("watch::a_change_cancels_a_long_run", cancels_long_run),
        Trial::test(
            "watch::leftovers_are_killed_when_a_run_ends",
            leftovers_killed,
        ),
    ]
}

/// A running `vigil watch` and everything it has printed so far.
struct Watched {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Watched {
    fn start(dir: &Path, args: &[&str]) -> Result<Watched, Failed> {
        let mut child = Command::new(support::vigil_bin())
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env_remove("VIGIL_PYTHON")
            .env_remove("VIGIL_PROFILE")
            .env_remove("PYTEST_ADDOPTS")
            .arg("watch")
            .arg("--python")
            .arg(support::python()?)
            .args(["-j", "2"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        collect(stdout, Arc::clone(&lines));
        collect(stderr, Arc::clone(&lines));
        Ok(Watched {
            stdin: child.stdin.take(),
            child,
            lines,
        })
    }

    fn output(&self) -> String {
        self.lines.lock().map(|l| l.join("\n")).unwrap_or_default()
    }

    /// Waits until a line after `from` starts with `prefix`; returns it and its index.
    fn wait_for(&self, from: usize, prefix: &str) -> Result<(usize, String), Failed> {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            let found = self.lines.lock().ok().and_then(|lines| {
                lines
                    .iter()
                    .enumerate()
                    .skip(from)
                    .find(|(_, l)| l.starts_with(prefix))
                    .map(|(i, l)| (i, l.clone()))
            });
            if let Some(found) = found {
                return Ok(found);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!(
            "no line starting {prefix:?} after line {from}:\n{}",
            self.output()
        )
        .into())
    }

    fn send(&mut self, line: &str) -> TestResult {
        let stdin = self.stdin.as_mut().ok_or("stdin closed")?;
        stdin.write_all(line.as_bytes())?;
        stdin.flush()?;
        Ok(())
    }

    fn wait_exit(&mut self) -> Result<ExitStatus, Failed> {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!("vigil watch did not exit:\n{}", self.output()).into())
    }
}

impl Drop for Watched {
    /// A failed trial must not leave vigil (and its workers) running: SIGTERM lets it cancel
    /// its run and exit; a kill follows if it does not.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
            if self.wait_exit().is_err() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

fn collect(stream: impl Read + Send + 'static, lines: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if let Ok(mut lines) = lines.lock() {
                lines.push(line);
            }
        }
    });
}

/// Rewrites `file` (relative to `dir`) with `from` replaced by `to`.
fn edit(dir: &Path, file: &str, from: &str, to: &str) -> TestResult {
    let path = dir.join(file);
    let text = fs::read_to_string(&path)?;
    check(text.contains(from), || format!("{file} has no {from:?}"))?;
    fs::write(&path, text.replace(from, to))?;
    Ok(())
}

/// (profile, exit code, interrupted) of every recorded run, oldest first.
fn recorded_runs(dir: &Path) -> Result<Vec<(String, i64, bool)>, Failed> {
    let db = rusqlite::Connection::open(dir.join(".vigil/history.db"))?;
    let mut query =
        db.prepare("SELECT coalesce(profile, ''), exit_code, interrupted FROM runs ORDER BY id")?;
    let rows = query.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

fn reruns_on_save() -> TestResult {
    let dir = support::fixture("watch")?;
    let root = dir.path();
    let mut watch = Watched::start(root, &[])?;
    let (at, line) = watch.wait_for(0, "vigil watch: finished:")?;
    check(
        line.contains("4 passed") && !line.contains("failed"),
        || watch.output(),
    )?;

    edit(root, "app/calc.py", "return a + b", "return a - b")?;
    let (at, started) = watch.wait_for(at + 1, "vigil watch: running")?;
    check(started.contains("changed: app/calc.py"), || watch.output())?;
    let (at, line) = watch.wait_for(at, "vigil watch: finished:")?;
    check(line.contains("1 failed"), || watch.output())?;

    edit(root, "app/calc.py", "return a - b", "return a + b")?;
    let (at, started) = watch.wait_for(at + 1, "vigil watch: running")?;
    // A run of everything runs the failing test first, on its own (a selection of just its
    // file runs in one pass).
    check(
        !started.contains("all tests") || started.ends_with("1 previously failing test first"),
        || watch.output(),
    )?;
    let (at, line) = watch.wait_for(at, "vigil watch: finished:")?;
    check(line.contains("passed") && !line.contains("failed"), || {
        watch.output()
    })?;

    watch.send("f\n")?;
    watch.wait_for(at + 1, "vigil watch: no failing tests to run")?;
    watch.send("q\n")?;
    let status = watch.wait_exit()?;
    check(status.code() == Some(0), || {
        format!("exit {:?}\n{}", status.code(), watch.output())
    })?;

    // The initial run, the broken run, then the fix (the failing test's pass and everything,
    // or one pass): all under the watch profile.
    let runs = recorded_runs(root)?;
    let exits: Vec<i64> = runs.iter().map(|r| r.1).collect();
    check(matches!(exits[..], [0, 1, 0, 0] | [0, 1, 0]), || {
        format!("{runs:?}\n{}", watch.output())
    })?;
    check(runs.iter().all(|r| r.0 == "watch" && !r.2), || {
        format!("{runs:?}")
    })
}

fn cancels_long_run() -> TestResult {
    let dir = support::fixture("watch")?;
    let root = dir.path();
    let mut watch = Watched::start(root, &["--no-initial-run"])?;
    let (at, _) = watch.wait_for(0, "vigil watch: watching")?;

    edit(root, "app/pause.py", "SECONDS = 0", "SECONDS = 30")?;
    let (at, _) = watch.wait_for(at + 1, "vigil watch: running")?;
    let pid_file = root.join("scratch/sleeping.pid");
    let sleeper = wait_for_pid(&pid_file, &watch)?;

    edit(root, "app/pause.py", "SECONDS = 30", "SECONDS = 0")?;
    let (at, _) = watch.wait_for(at + 1, "vigil watch: cancelling the run")?;
    let (at, _) = watch.wait_for(at + 1, "vigil watch: cancelled")?;
    let (at, next) = watch.wait_for(at + 1, "vigil watch: running")?;
    check(next.contains("app/pause.py"), || watch.output())?;
    let (_, line) = watch.wait_for(at + 1, "vigil watch: finished:")?;
    check(line.contains("passed") && !line.contains("failed"), || {
        watch.output()
    })?;

    check(!alive(sleeper), || {
        format!("the cancelled run's worker {sleeper} is still alive")
    })?;
    let left: Vec<String> = support::processes_in(root)
        .into_iter()
        .filter(|p| p.contains("pytest"))
        .collect();
    check(left.is_empty(), || {
        format!("pytest processes left: {left:?}")
    })?;

    watch.send("q\n")?;
    let status = watch.wait_exit()?;
    check(status.code() == Some(0), || watch.output())?;
    let runs = recorded_runs(root)?;
    check(
        runs.len() == 2 && runs[0].2 && runs[0].1 == 2 && !runs[1].2,
        || format!("want an interrupted run, then a whole one: {runs:?}"),
    )
}

/// The pid the sleeping test wrote, once it has written it.
fn wait_for_pid(path: &Path, watch: &Watched) -> Result<i32, Failed> {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if let Some(pid) = fs::read_to_string(path)
            .ok()
            .and_then(|t| t.trim().parse().ok())
        {
            return Ok(pid);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!("the long test never started:\n{}", watch.output()).into())
}

/// Whether the process exists (a zombie counts as gone: it runs nothing).
fn alive(pid: i32) -> bool {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The state follows the command name's closing parenthesis.
    let state = stat
        .rsplit(')')
        .next()
        .and_then(|rest| rest.split_whitespace().next());
    matches!(state, Some(s) if s != "Z" && s != "X")
}

/// A test starts a sleeper in a session of its own: when the run's `finished:` line is out,
/// the sleeper is gone (not only once watching ends), and vigil said it killed it.
fn leftovers_killed() -> TestResult {
    let dir = support::fixture("watch")?;
    let mark = format!("vigil-watch-leftover-{}", std::process::id());
    write_leaky_test(dir.path(), &mark)?;
    let mut watch = Watched::start(dir.path(), &[])?;
    let (_, line) = watch.wait_for(0, "vigil watch: finished:")?;
    let left = processes_marked(&mark);
    check(line.contains("5 passed"), || watch.output())?;
    check(left.is_empty(), || {
        format!("still running after the run: {left:?}\n{}", watch.output())
    })?;
    let said = watch.output();
    check(
        said.contains("vigil watch: killed 1 process the tests left running:")
            && said.contains(&mark),
        || format!("the leftover was not named:\n{said}"),
    )?;
    watch.send("q\n")?;
    let status = watch.wait_exit()?;
    check(status.code() == Some(0), || {
        format!("exit {:?}\n{}", status.code(), watch.output())
    })
}
