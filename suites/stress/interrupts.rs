//! SIGINT and SIGTERM at random moments of a real run (`fixtures/interrupts`): while vigil
//! starts and collects, mid-test, and while it writes its reports. Every signal that arrives
//! before the run is settled must end in exit 2, a well-formed JUnit file, a history run
//! marked interrupted with as many results, an event log ending in `run_finished` with exit 2,
//! the signal forwarded to a test in flight, and no process left. A test that ignores the
//! interrupt is killed after the grace period; a second Ctrl-C kills at once.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use libtest_mimic::{Failed, Trial};

use crate::support::guarded_child::{output_to_files, wait_guarded};
use crate::support::process_scan::survivors;
use crate::support::random_moments::Moments;
use crate::support::{self, check, history_db, TestResult};

/// Interrupted runs required; signals that land after the run settled do not count.
const WANT_INTERRUPTED: usize = 50;
/// Signals sent at most, to reach `WANT_INTERRUPTED`.
const MAX_TRIALS: usize = 80;
/// Runs going at once: each mostly waits on pytest, and the trials are independent.
const AT_ONCE: usize = 2;
const SECOND_INTERRUPT_TRIALS: usize = 4;
const TEST_FINISHED: &str = "\"test_finished\"";
/// Tests per quick file when the signal aims at the reports: enough that writing them takes
/// long enough to be hit.
const MANY_QUICK_TESTS: usize = 400;
/// A guard, not a measurement: how long a trial's vigil may take before the trial fails.
const GUARD: Duration = Duration::from_secs(60);

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test(
            "interrupts::sigint_and_sigterm_at_random_moments",
            random_moments,
        ),
        Trial::test(
            "interrupts::a_second_interrupt_kills_at_once",
            second_interrupt,
        ),
        Trial::test(
            "interrupts::a_test_ignoring_the_interrupt_is_killed_after_the_grace",
            past_the_grace,
        ),
    ]
}

/// Where the signal found the run, read from its event log and exit code.
#[derive(Debug, Default)]
struct Phases {
    before_tests: usize,
    mid_run: usize,
    writing_reports: usize,
    after_settling: usize,
}

impl Phases {
    fn interrupted(&self) -> usize {
        self.before_tests + self.mid_run + self.writing_reports
    }
}

enum Phase {
    BeforeTests,
    MidRun,
    WritingReports,
    AfterSettling,
}

fn random_moments() -> TestResult {
    let python = support::python()?;
    let span = calibrate(&python)?;
    let mut moments = Moments::new();
    let seed = moments.seed;
    let mut phases = Phases::default();
    let mut sent = 0;
    while phases.interrupted() < WANT_INTERRUPTED && sent < MAX_TRIALS {
        let batch: Vec<(i32, Aim)> = (sent..sent + AT_ONCE)
            .map(|n| {
                let signal = if n % 2 == 0 {
                    libc::SIGINT
                } else {
                    libc::SIGTERM
                };
                (signal, Aim::pick(n, span, &mut moments))
            })
            .collect();
        let python = &python;
        let results = std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .iter()
                .map(|&(signal, aim)| scope.spawn(move || one_signal(python, signal, aim)))
                .collect();
            handles.into_iter().map(|h| h.join()).collect::<Vec<_>>()
        });
        for ((signal, aim), result) in batch.iter().zip(results) {
            let phase = result
                .map_err(|_| "a trial panicked".to_string())?
                .map_err(|e| {
                    let why = e.message().unwrap_or_default().to_string();
                    format!("{} {aim:?} (seed {seed}): {why}", name(*signal))
                })?;
            match phase {
                Phase::BeforeTests => phases.before_tests += 1,
                Phase::MidRun => phases.mid_run += 1,
                Phase::WritingReports => phases.writing_reports += 1,
                Phase::AfterSettling => phases.after_settling += 1,
            }
        }
        sent += AT_ONCE;
    }
    println!("interrupts: {sent} signals (seed {seed}): {phases:?}");
    check(phases.interrupted() >= WANT_INTERRUPTED, || {
        format!(
            "only {} of {sent} signals interrupted a run: {phases:?}",
            phases.interrupted()
        )
    })
}

fn name(signal: i32) -> &'static str {
    if signal == libc::SIGINT {
        "SIGINT"
    } else {
        "SIGTERM"
    }
}

const CALIBRATION: Aim = Aim {
    after: None,
    times: 1,
    delay: Duration::ZERO,
    jobs: "2",
    quick_tests: 30,
};

/// How long an uninterrupted run takes here and now: the span the moments are drawn from.
fn calibrate(python: &Path) -> Result<Duration, Failed> {
    let dir = support::fixture("interrupts")?;
    let started = Instant::now();
    let (code, text) = wait_guarded(
        dir.path(),
        start(dir.path(), python, "calibration", CALIBRATION)?,
        GUARD,
    )?;
    check(code == 0, || {
        format!("the uninterrupted run exited {code}\n{text}")
    })?;
    Ok(started.elapsed())
}

/// vigil on `dir`, with the trial's mark in its environment and reports in `dir`.
fn start(dir: &Path, python: &Path, mark: &str, aim: Aim) -> Result<Child, Failed> {
    let mut command = vigil_in(dir, python, mark)?;
    command
        .env("QUICK_TESTS", aim.quick_tests.to_string())
        .args(["run", "-j", aim.jobs, "--junit", "junit.xml"])
        .args(["--json", "events.jsonl", "--", "-p", "no:cacheprovider"]);
    Ok(command.spawn()?)
}

/// `vigil` in `dir` as every trial starts it: the fixture's signal directory, the mark that
/// finds its processes, output to files in `dir` (a pipe nobody reads could block it).
fn vigil_in(dir: &Path, python: &Path, mark: &str) -> Result<Command, Failed> {
    std::fs::create_dir_all(dir.join("sig"))?;
    let mut command = Command::new(support::vigil_bin());
    command
        .current_dir(dir)
        .env("VIGIL_PYTHON", python)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("SIGNAL_DIR", dir.join("sig"))
        .env("TRIAL_MARK", mark);
    output_to_files(&mut command, dir)?;
    Ok(command)
}

fn send(child: &Child, signal: i32) {
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(child.id() as i32, signal) };
}

/// When a trial's signal goes: `delay` after the event log shows `after` for the `times`th
/// time (or after the start). Random delays spread the moments; the events aim them at each
/// phase of a run.
#[derive(Debug, Clone, Copy)]
struct Aim {
    after: Option<&'static str>,
    times: usize,
    delay: Duration,
    /// Workers: two where the signal meets workers starting, collecting or mid-test (each
    /// must get it), one elsewhere, which is cheaper.
    jobs: &'static str,
    /// Tests per quick file.
    quick_tests: usize,
}

impl Aim {
    /// In turn: anywhere in the run, during collection, mid-test, while reports are written.
    fn pick(n: usize, span: Duration, moments: &mut Moments) -> Aim {
        let ms = |millis: u64| Duration::from_millis(millis);
        let (after, delay) = match n % 4 {
            0 => (None, moments.within(span, 0.0, 1.0)),
            // Collection takes a few hundred ms; the waiting test 0.6 s.
            1 => (
                Some("\"worker_started\""),
                moments.within(ms(200), 0.0, 1.0),
            ),
            2 => (Some("\"test_started\""), moments.within(ms(600), 0.0, 1.0)),
            // The reports take a few ms: the signal goes as soon as the last test's result is
            // seen (the log's own `run_finished` comes only after history is committed).
            _ => (Some(TEST_FINISHED), Duration::ZERO),
        };
        // Not before vigil has installed its handlers (a few ms after exec).
        let delay = if after.is_none() {
            delay.max(Duration::from_millis(20))
        } else {
            delay
        };
        let jobs = if matches!(n % 4, 1 | 2) { "2" } else { "1" };
        let (quick_tests, times) = match after {
            // Every result: two quick files and test_waits.py's two tests.
            Some(TEST_FINISHED) => (MANY_QUICK_TESTS, 2 * MANY_QUICK_TESTS + 2),
            _ => (30, 1),
        };
        Aim {
            after,
            times,
            delay,
            jobs,
            quick_tests,
        }
    }

    /// Sleeps until the moment; gives up waiting for the event when vigil has ended.
    fn wait(&self, log: &Path, child: &mut Child) -> TestResult {
        if let Some(needle) = self.after {
            let deadline = Instant::now() + GUARD;
            let mut tail = Tail::default();
            let mut seen = 0;
            loop {
                seen += tail.count_new(log, needle);
                if seen >= self.times {
                    break;
                }
                if child.try_wait()?.is_some() || Instant::now() > deadline {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_micros(300));
            }
        }
        std::thread::sleep(self.delay);
        Ok(())
    }
}

/// Follows a growing file, reading only what was appended since the last look.
#[derive(Default)]
struct Tail {
    seen: u64,
    /// The end of the last read, one byte short of a needle: a needle that straddles two
    /// reads is found, and none is counted twice.
    carry: Vec<u8>,
}

impl Tail {
    /// How many times `needle` occurs in what was appended since the last look.
    fn count_new(&mut self, path: &Path, needle: &str) -> usize {
        use std::io::{Read, Seek, SeekFrom};
        let Ok(mut file) = File::open(path) else {
            return 0;
        };
        let mut fresh = Vec::new();
        if file.seek(SeekFrom::Start(self.seen)).is_err() || file.read_to_end(&mut fresh).is_err() {
            return 0;
        }
        self.seen += fresh.len() as u64;
        let mut window = std::mem::take(&mut self.carry);
        window.extend_from_slice(&fresh);
        let found = window
            .windows(needle.len())
            .filter(|w| *w == needle.as_bytes())
            .count();
        let keep = window.len().saturating_sub(needle.len() - 1);
        self.carry = window.split_off(keep);
        found
    }
}

fn one_signal(python: &Path, signal: i32, aim: Aim) -> Result<Phase, Failed> {
    let dir = support::fixture("interrupts")?;
    let mark = format!("vigil-interrupt-{}", dir.path().display());
    let mut child = start(dir.path(), python, &mark, aim)?;
    aim.wait(&dir.path().join("events.jsonl"), &mut child)?;
    send(&child, signal);
    let (code, text) = wait_guarded(dir.path(), child, GUARD)?;
    let log = EventLog::read(&dir.path().join("events.jsonl"))?;
    let left = survivors(&mark);
    check(left.is_empty(), || format!("processes survived: {left:?}"))?;
    let run = last_run(dir.path())?;
    match code {
        2 => {
            let cases = support::junit_cases(&dir.path().join("junit.xml"))
                .map_err(|e| format!("JUnit: {e}\n{text}"))?;
            check(
                run["interrupted"] == true && run["exit_code"] == 2 && run["total"] == cases.len(),
                || format!("history run {run} vs {} JUnit cases\n{text}", cases.len()),
            )?;
            forwarded(dir.path(), &log)?;
            log.ends_with_exit(2)?;
            Ok(log.phase())
        }
        0 => {
            // Too late: the run had settled (its history committed) before the signal.
            check(run["interrupted"] == false && run["exit_code"] == 0, || {
                format!("exit 0 but history says {run}")
            })?;
            log.ends_with_exit(0)?;
            Ok(Phase::AfterSettling)
        }
        other => Err(format!("exit {other}\n{text}").into()),
    }
}

/// A test in flight when the signal came got it: it records the KeyboardInterrupt. A run cut
/// short after the test's wait had ended (the signal landed in pytest's reporting of it, a
/// few ms later) had nothing in flight to forward to: the test marked that it slept.
fn forwarded(dir: &Path, log: &EventLog) -> TestResult {
    let marked = |name: &str| dir.join("sig").join(name).exists();
    let cut_short =
        marked("started") && !log.finished("tests/test_waits.py::test_waits_for_a_signal");
    check(
        !cut_short || marked("interrupted") || marked("slept"),
        || "the waiting test was cut short mid-wait without receiving SIGINT".to_string(),
    )
}

/// The newest run in the project's history, as `vigil history --format json` shows it.
fn last_run(dir: &Path) -> Result<serde_json::Value, Failed> {
    history_db::check(&dir.join(".vigil/history.db"))?;
    let out = support::vigil(dir, &["history", "--format", "json"])?;
    support::exited(&out, 0)?;
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    Ok(runs[0].clone())
}

/// The JSON event log, as far as it got.
struct EventLog {
    events: Vec<serde_json::Value>,
}

impl EventLog {
    fn read(path: &Path) -> Result<EventLog, Failed> {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let events = text
            .lines()
            .skip(1)
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(EventLog { events })
    }

    fn finished(&self, id: &str) -> bool {
        self.events
            .iter()
            .any(|e| e["event"] == "test_finished" && e["id"] == id)
    }

    fn phase(&self) -> Phase {
        let count = |event: &str| self.events.iter().filter(|e| e["event"] == event).count();
        let collected: usize = self
            .events
            .iter()
            .filter(|e| e["event"] == "collected")
            .filter_map(|e| e["tests"].as_array().map(Vec::len))
            .sum();
        if count("test_started") == 0 {
            Phase::BeforeTests
        } else if count("test_finished") >= collected {
            // Every test had its result: the signal came while the reports were written.
            Phase::WritingReports
        } else {
            Phase::MidRun
        }
    }

    /// The log ends with `run_finished` giving the exit code vigil exited with.
    fn ends_with_exit(&self, code: i32) -> TestResult {
        let last = self.events.last();
        check(
            last.is_some_and(|e| e["event"] == "run_finished" && e["exit"] == code),
            || format!("vigil exited {code}, but the event log ends with {last:?}"),
        )
    }
}

/// First Ctrl-C while a test ignores it, then a second: vigil kills everything and leaves at
/// once, without the grace period or the reports a first Ctrl-C alone would wait for.
fn second_interrupt() -> TestResult {
    let python = support::python()?;
    for trial in 0..SECOND_INTERRUPT_TRIALS {
        let dir = support::fixture("interrupts")?;
        let mark = format!("vigil-interrupt-{}", dir.path().display());
        let mut child = start_stubborn(dir.path(), &python, &mark)?;
        wait_for(&dir.path().join("sig/started"), &mut child)?;
        send(&child, libc::SIGINT);
        std::thread::sleep(Duration::from_millis(100 + 100 * trial as u64));
        send(&child, libc::SIGINT);
        let (code, text) = wait_guarded(dir.path(), child, GUARD)?;
        check(code == 2 && text.contains("interrupted again"), || {
            format!("trial {trial}: exit {code}\n{text}")
        })?;
        // The graceful path would have written JUnit after the grace period; this one did not wait.
        check(!dir.path().join("junit.xml").exists(), || {
            format!("trial {trial}: a JUnit report was written: vigil waited for the grace period\n{text}")
        })?;
        let left = survivors(&mark);
        check(left.is_empty(), || {
            format!("trial {trial}: processes survived: {left:?}")
        })?;
        let db = dir.path().join(".vigil/history.db");
        if db.exists() {
            let runs = history_db::check(&db)?;
            check(runs.is_empty(), || {
                format!("trial {trial}: history holds {runs:?}")
            })?;
        }
    }
    Ok(())
}

/// One Ctrl-C while a test ignores it: vigil says it is stopping, waits out the grace
/// period, kills the worker and says so, then writes its reports as for any interrupt.
fn past_the_grace() -> TestResult {
    let python = support::python()?;
    let dir = support::fixture("interrupts")?;
    let mark = format!("vigil-interrupt-{}", dir.path().display());
    let mut child = start_stubborn(dir.path(), &python, &mark)?;
    wait_for(&dir.path().join("sig/started"), &mut child)?;
    send(&child, libc::SIGINT);
    let (code, text) = wait_guarded(dir.path(), child, GUARD)?;
    check(code == 2, || format!("exit {code}\n{text}"))?;
    for said in [
        "vigil: interrupted: stopping the tests (interrupt again to kill them now)",
        "1 test process still running 5 s after the interrupt: killed",
    ] {
        check(text.contains(said), || format!("no {said:?} in\n{text}"))?;
    }
    let left = survivors(&mark);
    check(left.is_empty(), || format!("processes survived: {left:?}"))?;
    support::junit_cases(&dir.path().join("junit.xml")).map_err(|e| format!("JUnit: {e}"))?;
    let run = last_run(dir.path())?;
    check(run["interrupted"] == true && run["exit_code"] == 2, || {
        format!("history run {run}")
    })
}

fn start_stubborn(dir: &Path, python: &Path, mark: &str) -> Result<Child, Failed> {
    let mut command = vigil_in(dir, python, mark)?;
    command
        .env("INTERRUPTS_STUBBORN", "1")
        .args(["run", "--junit", "junit.xml"])
        .args(["tests/test_waits.py::test_ignores_interrupts"])
        .args(["--", "-p", "no:cacheprovider"]);
    Ok(command.spawn()?)
}

/// Waits until the test has written `path` (it is running), or vigil has ended.
fn wait_for(path: &Path, child: &mut Child) -> TestResult {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        if child.try_wait()?.is_some() || Instant::now() > deadline {
            let _ = child.kill();
            return Err(format!("the test never started ({})", path.display()).into());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}
