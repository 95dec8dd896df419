//! Process hygiene: Ctrl-C (a real SIGINT) stops a run with exit 2 and a well-formed JUnit
//! file, and no process started by a run outlives it — after crashes, timeouts or interrupts.

use std::time::Duration;

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
        Trial::test(
            "processes::a_file_with_several_crashes_and_hangs_runs_each_test_once",
            several_crashes_in_one_file,
        ),
    ]
}

/// One worker meets two crashes and a hang in one file: each restart goes on after the tests
/// every earlier generation finished (it once started over after the first of them, for ever).
fn several_crashes_in_one_file() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("pytest.ini"), "[pytest]\n")?;
    std::fs::create_dir(dir.path().join("tests"))?;
    std::fs::write(
        dir.path().join("tests/test_hostile.py"),
        "import os\n\n\
         def test_ok_before():\n    pass\n\n\
         def test_abort():\n    os.abort()\n\n\
         def test_spins():\n    while True:\n        pass\n\n\
         def test_exits():\n    os._exit(0)\n\n\
         def test_ok_after():\n    pass\n",
    )?;
    let log = dir.path().join("events.jsonl");
    let log_arg = log.to_string_lossy().into_owned();
    let args = [
        "run",
        "--no-history",
        "-j",
        "1",
        "--timeout",
        "2",
        "--json",
        &log_arg,
    ];
    let mut child = std::process::Command::new(support::vigil_bin())
        .current_dir(dir.path())
        .env("VIGIL_PYTHON", support::python()?)
        .args(args)
        .stdout(std::process::Stdio::null())
        .spawn()?;
    // A guard, not a measurement: the loop this test is about never ends on its own.
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            return Err("vigil did not finish: it keeps rerunning the crashed tests".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    check(status.code() == Some(1), || {
        format!("vigil exited {status}")
    })?;
    let text = std::fs::read_to_string(&log)?;
    let mut outcomes = std::collections::BTreeMap::new();
    for line in text.lines().skip(1) {
        let event: serde_json::Value = serde_json::from_str(line)?;
        if event["event"] == "test_finished" {
            let id = event["id"].as_str().unwrap_or_default().to_string();
            let outcome = event["outcome"].as_str().unwrap_or_default().to_string();
            let previous = outcomes.insert(id.clone(), outcome);
            check(previous.is_none(), || format!("{id} has two results"))?;
        }
    }
    let expected: std::collections::BTreeMap<String, String> = [
        ("test_ok_before", "passed"),
        ("test_abort", "crashed"),
        ("test_spins", "timed_out"),
        ("test_exits", "crashed"),
        ("test_ok_after", "passed"),
    ]
    .iter()
    .map(|(name, o)| (format!("tests/test_hostile.py::{name}"), o.to_string()))
    .collect();
    check(outcomes == expected, || format!("{outcomes:#?}"))
}

fn sigint() -> TestResult {
    support::interrupt_run("hanging", Duration::from_millis(1500))
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
        .flat_map(|d| support::processes_in(d))
        .collect();
    check(left.is_empty(), || format!("processes survived: {left:?}"))
}
