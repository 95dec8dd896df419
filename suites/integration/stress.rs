//! Stress repeats against real pytest: `vigil run --repeat N` runs the `stress` fixture N times
//! (a test that always passes, one that always fails, one that alternates pass/fail by a
//! counter file, so the counts are exact), records N runs of one series, sums up the flaky
//! test and the one that failed every time, and `vigil trends` lists the flaky test although
//! the tree is not a clean git checkout. `--until-fail --max N` stops at the first failing
//! repetition or after N; Ctrl-C ends the series after recording the interrupted repetition;
//! and the flags' misuse is a usage error.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use libtest_mimic::{Failed, Trial};
use serde_json::Value;

use crate::support::{self, check, exited, TestResult};

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test(
            "stress::repeat::four_runs_in_one_series_find_the_flaky_test",
            repeat_four,
        ),
        Trial::test(
            "stress::repeat::a_series_is_evidence_in_a_dirty_git_tree",
            dirty_git_tree,
        ),
        Trial::test(
            "stress::until_fail::stops_at_the_first_failing_repetition",
            until_fail_stops,
        ),
        Trial::test(
            "stress::until_fail::an_all_passing_selection_runs_max_times",
            until_fail_passes,
        ),
        Trial::test("stress::usage::misused_flags_exit_4", misused_flags),
        Trial::test(
            "stress::interrupt::ctrl_c_records_the_repetition_and_ends_the_series",
            interrupted_series,
        ),
    ]
}

const ALTERNATES: &str = "tests/test_stress.py::test_alternates";
const ALWAYS_FAILS: &str = "tests/test_stress.py::test_always_fails";
const ALWAYS_PASSES: &str = "tests/test_stress.py::test_always_passes";

fn repeat_four() -> TestResult {
    let dir = support::fixture("stress")?;
    let out = support::vigil(dir.path(), &["run", "--repeat", "4"])?;
    exited(&out, 1)?;
    let text = support::text(&out);
    let runs = series_of_runs(dir.path())?;
    check(
        runs.len() == 4 && runs.iter().all(|s| s == &runs[0]) && runs[0].starts_with("repeat-"),
        || format!("want 4 runs of one series, got {runs:?}"),
    )?;
    for n in 1..=4 {
        check(text.contains(&format!("== repeat {n}/4 ==")), || {
            text.clone()
        })?;
    }
    let summary = text.split("== stress:").nth(1).unwrap_or_default();
    check(summary.starts_with(" 4 repetitions"), || text.clone())?;
    let flaky_line = line_with(summary, ALTERNATES);
    check(flaky_line.contains("2/4"), || text.clone())?;
    let every_time = summary
        .split("failed every time")
        .nth(1)
        .unwrap_or_default();
    check(line_with(every_time, ALWAYS_FAILS).contains("4/4"), || {
        text.clone()
    })?;
    check(
        !summary.contains(ALWAYS_PASSES) && !flaky_line.contains(ALWAYS_FAILS),
        || text.clone(),
    )?;
    // The fixture copy is not a git repository: only the series makes the runs evidence.
    let flaky = flaky_from_trends(dir.path())?;
    check(
        flaky.len() == 1
            && flaky[0]["test"] == ALTERNATES
            && flaky[0]["failures"] == 2
            && flaky[0]["series"][0] == runs[0].as_str(),
        || format!("{flaky:#?}"),
    )
}

fn dirty_git_tree() -> TestResult {
    let dir = support::fixture("stress")?;
    support::git_repo(dir.path())?;
    std::fs::write(
        dir.path().join("pytest.ini"),
        "[pytest]\ntestpaths = tests\n# edited\n",
    )?;
    // Two plain runs of a dirty tree, a pass then a fail: they may be an edit apart.
    for code in [0, 1] {
        exited(&support::vigil(dir.path(), &["run", ALTERNATES])?, code)?;
    }
    let before = flaky_from_trends(dir.path())?;
    check(before.is_empty(), || format!("{before:#?}"))?;
    exited(
        &support::vigil(dir.path(), &["run", "--repeat", "2", ALTERNATES])?,
        1,
    )?;
    let after = flaky_from_trends(dir.path())?;
    check(
        after.len() == 1 && after[0]["test"] == ALTERNATES && after[0]["series"].is_array(),
        || format!("{after:#?}"),
    )
}

fn until_fail_stops() -> TestResult {
    let dir = support::fixture("stress")?;
    let args = [
        "run",
        "--until-fail",
        "--max",
        "5",
        ALWAYS_PASSES,
        ALTERNATES,
    ];
    let out = support::vigil(dir.path(), &args)?;
    exited(&out, 1)?;
    let text = support::text(&out);
    check(
        text.contains("== repeat 2/5 (until a failure) ==") && !text.contains("repeat 3/5"),
        || text.clone(),
    )?;
    let runs = series_of_runs(dir.path())?;
    check(runs.len() == 2, || format!("{runs:?}\n{text}"))?;
    let counted = std::fs::read_to_string(dir.path().join("tests/alternate.count"))?;
    check(counted.trim() == "2", || {
        format!("the test ran {counted} times")
    })
}

fn until_fail_passes() -> TestResult {
    let dir = support::fixture("stress")?;
    let out = support::vigil(
        dir.path(),
        &["run", "--until-fail", "--max", "3", ALWAYS_PASSES],
    )?;
    exited(&out, 0)?;
    let text = support::text(&out);
    check(
        text.contains("== stress: 3 repetitions") && text.contains("no test failed"),
        || text.clone(),
    )?;
    let runs = series_of_runs(dir.path())?;
    check(runs.len() == 3, || format!("{runs:?}"))
}

fn misused_flags() -> TestResult {
    let dir = support::fixture("stress")?;
    for args in [
        &["run", "--repeat", "0"][..],
        &["run", "--max", "3"],
        &["run", "--repeat", "2", "--until-fail"],
        &["run", "--until-fail", "--max", "0"],
    ] {
        exited(&support::vigil(dir.path(), args)?, 4)?;
    }
    check(!dir.path().join(".vigil").exists(), || {
        "a usage error must run nothing".into()
    })
}

fn interrupted_series() -> TestResult {
    let dir = support::fixture("hanging")?;
    let child = Command::new(support::vigil_bin())
        .current_dir(dir.path())
        .env("VIGIL_PYTHON", support::python()?)
        .env("NO_COLOR", "1")
        .args(["run", "--repeat", "3", "--", "-p", "no:cacheprovider"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Long enough for the first repetition to be in `test_hang`, which never ends.
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output()?;
    exited(&out, 2)?;
    let text = support::text(&out);
    check(
        text.contains("== stress: 1 repetition")
            && text.contains("interrupted ==")
            && !text.contains("repeat 2/3"),
        || text.clone(),
    )?;
    let conn = rusqlite::Connection::open(dir.path().join(".vigil/history.db"))?;
    let runs: Vec<(bool, Option<String>)> = conn
        .prepare("SELECT interrupted, series FROM runs")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    check(runs.len() == 1 && runs[0].0 && runs[0].1.is_some(), || {
        format!("want one interrupted run of a series: {runs:?}")
    })
}

/// Each recorded run's series, oldest first, read with rusqlite as any other process would.
fn series_of_runs(dir: &Path) -> Result<Vec<String>, Failed> {
    let conn = rusqlite::Connection::open(dir.join(".vigil/history.db"))?;
    let mut statement = conn.prepare("SELECT COALESCE(series, '') FROM runs ORDER BY id")?;
    let rows = statement.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The flaky tests `vigil trends --format json` lists.
fn flaky_from_trends(dir: &Path) -> Result<Vec<Value>, Failed> {
    let out = support::vigil(dir, &["trends", "--format", "json"])?;
    exited(&out, 0)?;
    let trends: Value = serde_json::from_slice(&out.stdout)?;
    Ok(trends["flaky"].as_array().cloned().unwrap_or_default())
}

fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_default()
}
