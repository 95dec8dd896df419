//! The hostile fixture (`fixtures/hostile/`): tests that loop, hang in setup, leave processes
//! behind, kill their worker, recurse, flood stdout, write binary, close their streams, move
//! the worker elsewhere and delete themselves. One real run: each gets its right outcome, the
//! run completes, nothing it started survives, and vigil's own memory stays small.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use libtest_mimic::Trial;

use crate::support::guarded_child::{output_to_files, wait_guarded};
use crate::support::process_scan::{processes_marked, PeakMemory};
use crate::support::{self, check, TestResult};

/// vigil's peak resident memory must stay under this while a test prints 100 MiB: holding
/// the output would take at least that much.
const MEMORY_CEILING_MIB: f64 = 80.0;

pub fn trials() -> Vec<Trial> {
    vec![Trial::test(
        "hostile::every_hostile_test_gets_its_outcome_and_nothing_survives",
        hostile_run,
    )]
}

fn expected() -> BTreeMap<String, String> {
    [
        (
            "test_binary_output.py::test_writes_binary_and_invalid_utf8",
            "failed",
        ),
        (
            "test_changes_cwd_and_env.py::test_changes_directory_and_environment",
            "passed",
        ),
        (
            "test_changes_cwd_and_env.py::test_runs_after_the_move",
            "passed",
        ),
        // pytest's capture breaks when the test closes the streams it writes to.
        (
            "test_closes_streams.py::test_closes_python_streams",
            "failed",
        ),
        ("test_closes_streams.py::test_closes_fds_1_and_2", "passed"),
        (
            "test_deletes_itself.py::test_removes_its_own_file_then_fails",
            "failed",
        ),
        (
            "test_grandchildren.py::test_child_in_the_workers_group",
            "passed",
        ),
        (
            "test_grandchildren.py::test_child_in_a_session_of_its_own",
            "passed",
        ),
        ("test_grandchildren.py::test_double_forked_daemon", "passed"),
        ("test_huge_output.py::test_prints_100_megabytes", "failed"),
        ("test_infinite_loop.py::test_spins_forever", "timed_out"),
        ("test_process_deaths.py::test_abort", "crashed"),
        ("test_process_deaths.py::test_exit_zero_mid_test", "crashed"),
        ("test_process_deaths.py::test_segfault", "crashed"),
        ("test_recursion.py::test_recurses_without_end", "failed"),
        ("test_sleep_in_setup.py::test_never_starts", "timed_out"),
    ]
    .into_iter()
    .map(|(id, outcome)| (format!("tests/{id}"), outcome.to_string()))
    .collect()
}

fn hostile_run() -> TestResult {
    let dir = support::fixture("hostile")?;
    let mark = format!("vigil-hostile-{}", std::process::id());
    let mut command = Command::new(support::vigil_bin());
    command
        .current_dir(dir.path())
        .env("VIGIL_PYTHON", support::python()?)
        .env("HOSTILE_MARK", &mark)
        // The timeout ends the loop and the hung fixture; the slowest test that must not reach
        // it (100 MiB of output) takes about 0.5 s on an idle machine, and CI is not idle.
        .args(["run", "-j", "2", "--timeout", "5", "--junit", "junit.xml"])
        .args(["--json", "events.jsonl", "--capture-spool", "spool"])
        .args(["--", "-p", "no:cacheprovider"]);
    output_to_files(&mut command, dir.path())?;
    let child = command.spawn()?;
    let memory = PeakMemory::watch(child.id());
    let (code, text) = wait_guarded(dir.path(), child, Duration::from_secs(180))?;
    let peak = memory.mib();
    check(code == 1, || format!("vigil exited {code}, want 1\n{text}"))?;
    let outcomes = outcomes(&dir.path().join("events.jsonl"))?;
    check(outcomes == expected(), || {
        format!("outcomes: {outcomes:#?}\n{text}")
    })?;
    check(
        support::junit_cases(&dir.path().join("junit.xml"))?.len() == 16,
        || "the JUnit report does not hold the 16 tests".to_string(),
    )?;
    let junit = std::fs::read_to_string(dir.path().join("junit.xml"))?;
    spooled(dir.path(), &junit)?;
    check(
        text.contains("closed the worker's stdout or stderr"),
        || format!("no notice about the closed streams:\n{text}"),
    )?;
    let left = processes_marked(&mark);
    check(left.is_empty(), || format!("processes survived: {left:?}"))?;
    // The two that left the worker's process group are found and named.
    check(
        text.contains("killed 2 processes the tests left running"),
        || format!("leftovers not reported:\n{text}"),
    )?;
    println!("hostile: vigil's peak resident memory {peak:.1} MiB while a test printed 100 MiB");
    check(peak > 0.0 && peak < MEMORY_CEILING_MIB, || {
        format!("vigil's peak memory was {peak:.1} MiB (ceiling {MEMORY_CEILING_MIB} MiB)")
    })?;
    recorded(dir.path())
}

/// The 100 MiB are capped with a marker in the report, and the marker names the file in the
/// spool directory that holds all of them.
fn spooled(dir: &std::path::Path, junit: &str) -> TestResult {
    let marker = "more characters truncated; all of it is in ";
    let at = junit
        .find(marker)
        .ok_or("the 100 MB output has no truncation marker in JUnit")?;
    let rest = &junit[at + marker.len()..];
    let path = std::path::PathBuf::from(&rest[..rest.find(']').unwrap_or(rest.len())]);
    check(path.starts_with(dir.join("spool")), || {
        format!(
            "the marker names {}, not a file in the spool directory",
            path.display()
        )
    })?;
    let size = std::fs::metadata(&path)?.len();
    check(size >= 100 << 20, || {
        format!(
            "{} holds {size} bytes, not the whole 100 MiB",
            path.display()
        )
    })
}

/// Test id → outcome from the event log; a test with two results is an error.
fn outcomes(log: &std::path::Path) -> Result<BTreeMap<String, String>, String> {
    let text = std::fs::read_to_string(log).map_err(|e| e.to_string())?;
    let mut outcomes = BTreeMap::new();
    for line in text.lines().skip(1) {
        let event: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
        if event["event"] != "test_finished" {
            continue;
        }
        let id = event["id"].as_str().unwrap_or_default().to_string();
        let outcome = event["outcome"].as_str().unwrap_or_default().to_string();
        if outcomes.insert(id.clone(), outcome).is_some() {
            return Err(format!("{id} has two results"));
        }
    }
    Ok(outcomes)
}

/// The run is in history, whole, with its 16 results.
fn recorded(dir: &std::path::Path) -> TestResult {
    let runs = support::history_db::check(&dir.join(".vigil/history.db"))?;
    check(runs.len() == 1 && runs[0].total == 16, || {
        format!("history holds {runs:?}")
    })
}
