//! SIGKILL to vigil at random moments, a hundred times, on a project with history, a
//! rollback-state snapshot and a retry (`fixtures/retry_state`): after every kill the history
//! database passes `PRAGMA integrity_check` and holds only whole runs, the snapshot store
//! verifies, no worker is left running, and the next run works.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use libtest_mimic::{Failed, Trial};

use crate::support::guarded_child::output_to_files;
use crate::support::process_scan::survivors;
use crate::support::random_moments::Moments;
use crate::support::{self, check, history_db, TestResult};

const KILLS: usize = 100;
/// Projects killed in parallel, each `KILLS / PROJECTS` times in a row.
const PROJECTS: usize = 2;

pub fn trials() -> Vec<Trial> {
    vec![Trial::test(
        "crash_consistency::sigkill_at_random_moments_leaves_history_and_snapshots_whole",
        sigkill_at_random_moments,
    )]
}

/// What the kills found: runs that were committed before the kill, and kills before.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    kills: usize,
    committed: usize,
}

fn sigkill_at_random_moments() -> TestResult {
    let python = support::python()?;
    let seed = Moments::new().seed;
    let tallies = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..PROJECTS as u64)
            .map(|n| {
                let python = &python;
                scope.spawn(move || one_project(python, seed.wrapping_add(n)))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| Failed::from("a project thread panicked"))?
            })
            .collect::<Result<Vec<Tally>, Failed>>()
    })?;
    let kills: usize = tallies.iter().map(|t| t.kills).sum();
    let committed: usize = tallies.iter().map(|t| t.committed).sum();
    println!("crash consistency: {kills} SIGKILLs (seed {seed}): {committed} runs committed first, {} cut off", kills - committed);
    check(kills == KILLS, || format!("{kills} kills, want {KILLS}"))
}

fn one_project(python: &Path, seed: u64) -> Result<Tally, Failed> {
    let mut moments = Moments::seeded(seed);
    let dir = support::fixture("retry_state")?;
    let created = support::vigil(dir.path(), &["snapshot", "create", "data"])?;
    support::exited(&created, 0)?;
    // "snapshot ID: ..." — the data as the tests expect to find it.
    let baseline = String::from_utf8_lossy(&created.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .trim_end_matches(':')
        .to_string();
    // The span kills are drawn from: the shorter of two whole runs (the first also creates
    // the database, which later runs do not).
    let mut span = Duration::MAX;
    for _ in 0..2 {
        restore(dir.path(), &baseline)?;
        let started = Instant::now();
        let (code, text) = run_killed_after(python, dir.path(), "calibration", None)?;
        check(code == Some(0), || {
            format!("a calibration run: {code:?}\n{text}")
        })?;
        span = span.min(started.elapsed());
    }
    let mut tally = Tally::default();
    let mut runs_before = whole_runs(dir.path())?;
    for kill in 0..KILLS / PROJECTS {
        // Each run starts from the data the test expects, so each has a retry and a restore
        // of its rollback state to be killed in.
        restore(dir.path(), &baseline)?;
        let delay = moments.within(span, 0.0, 1.0);
        let context = |e: Failed| {
            let why = e.message().unwrap_or_default().to_string();
            Failed::from(format!("kill {kill} after {delay:?} (seed {seed}): {why}"))
        };
        let mark = format!("vigil-crash-{}-{kill}", dir.path().display());
        run_killed_after(python, dir.path(), &mark, Some(delay)).map_err(context)?;
        let runs = whole_runs(dir.path()).map_err(context)?;
        tally.kills += 1;
        tally.committed += runs - runs_before;
        runs_before = runs;
        let verified = support::vigil(dir.path(), &["snapshot", "verify"])?;
        support::exited(&verified, 0).map_err(context)?;
        let left = survivors(&mark);
        check(left.is_empty(), || {
            format!("kill {kill}: processes survived: {left:?}")
        })?;
    }
    // And after all that, a run goes through as usual.
    restore(dir.path(), &baseline)?;
    let (code, text) = run_killed_after(python, dir.path(), "after", None)?;
    check(code == Some(0), || {
        format!("the run after the kills: {code:?}\n{text}")
    })?;
    check(whole_runs(dir.path())? == runs_before + 1, || {
        "the last run is not in history".to_string()
    })?;
    Ok(tally)
}

/// Puts the data back as the tests expect it: a passing run keeps the order it adds, and a
/// kill between a test's write and the retry's restore leaves it changed (nothing can restore
/// after a SIGKILL).
fn restore(dir: &Path, snapshot: &str) -> TestResult {
    let restored = support::vigil(dir, &["snapshot", "restore", snapshot])?;
    support::exited(&restored, 0)
}

/// Runs vigil on the project, SIGKILLed after `delay` (or left to finish); its exit code
/// (None when killed) and output.
fn run_killed_after(
    python: &Path,
    dir: &Path,
    mark: &str,
    delay: Option<Duration>,
) -> Result<(Option<i32>, String), Failed> {
    let state = tempfile::tempdir()?;
    let mut command = Command::new(support::vigil_bin());
    command
        .current_dir(dir)
        .env("VIGIL_PYTHON", python)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("RETRY_STATE_DIR", state.path())
        .env("TRIAL_MARK", mark)
        .args(["run", "-j", "1", "--", "-p", "no:cacheprovider"]);
    output_to_files(&mut command, dir)?;
    let mut child = command.spawn()?;
    if let Some(delay) = delay {
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL; an error means it had already exited
    }
    let status = child.wait()?;
    let text = std::fs::read_to_string(dir.join("vigil.out")).unwrap_or_default()
        + &std::fs::read_to_string(dir.join("vigil.err")).unwrap_or_default();
    Ok((status.code(), text))
}

/// The number of runs in history, all whole (an error says what is not).
fn whole_runs(dir: &Path) -> Result<usize, Failed> {
    let db = dir.join(".vigil/history.db");
    Ok(history_db::check(&db)?.len())
}
