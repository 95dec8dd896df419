//! Retries against real pytest: a failure the diagnosis calls transient runs again (and a
//! pass on the retry is flaky: `flakyFailure` in JUnit), one that keeps failing ends with
//! `rerunFailure`s, a deterministic assertion never runs twice, `@pytest.mark.flaky(reruns=N)`
//! asks for retries itself, `--flaky-result fail` fails the run, and history keeps every
//! attempt. The fixture counts each test's attempts in files, so the checks count real runs.
//! And the circuit breaker: a capability whose tests keep failing while its probe says it is
//! down has the rest of its tests skipped as blocked, and not retried.

use std::collections::BTreeMap;
use std::path::Path;

use libtest_mimic::{Failed, Trial};

use crate::support::{self, check, exited, TestResult};

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test(
            "retries::policy::transient_retried_deterministic_not_with_junit_and_history",
            policy,
        ),
        Trial::test(
            "retries::policy::retry_everything_makes_more_attempts_for_nothing",
            retry_everything,
        ),
        Trial::test(
            "retries::flaky::flaky_result_fail_fails_the_run",
            flaky_fails,
        ),
        Trial::test(
            "retries::flaky::without_retries_only_the_marker_asks",
            marker_only,
        ),
        Trial::test(
            "retries::breaker::a_service_down_mid_run_blocks_the_rest_of_its_tests",
            breaker,
        ),
        Trial::test(
            "retries::state::a_retry_passes_only_because_the_database_was_restored",
            restored_state,
        ),
    ]
}

/// What a run left: its exit code, output, each test's attempts, and the project copy.
struct Ran {
    code: Option<i32>,
    out: String,
    attempts: BTreeMap<String, u32>,
    dir: tempfile::TempDir,
}

/// Runs vigil in a fresh copy of the fixture (with `config` as its vigil.toml).
fn run(args: &[&str], config: Option<&str>) -> Result<Ran, Failed> {
    let dir = support::fixture("retries")?;
    if let Some(text) = config {
        std::fs::write(dir.path().join("vigil.toml"), text)?;
    }
    let state = dir.path().join("state");
    let state_arg = state.to_string_lossy().into_owned();
    let out = support::vigil_env(dir.path(), &[("RETRY_STATE_DIR", &state_arg)], args)?;
    Ok(Ran {
        code: out.status.code(),
        out: support::text(&out),
        attempts: counts(&state)?,
        dir,
    })
}

fn counts(state: &Path) -> Result<BTreeMap<String, u32>, Failed> {
    let mut counts = BTreeMap::new();
    for entry in std::fs::read_dir(state)? {
        let entry = entry?;
        let n = std::fs::read_to_string(entry.path())?.trim().parse()?;
        counts.insert(entry.file_name().to_string_lossy().into_owned(), n);
    }
    Ok(counts)
}

fn want(pairs: &[(&str, u32)]) -> BTreeMap<String, u32> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn policy() -> TestResult {
    let Ran {
        code,
        out,
        attempts,
        dir,
    } = run(&["run", "--retries", "2", "--junit", "j.xml"], None)?;
    check(code == Some(1), || format!("exit {code:?}\n{out}"))?;
    let expected = want(&[
        ("down", 3),
        ("marked", 2),
        ("passes", 1),
        ("total", 1),
        ("warms_up", 2),
    ]);
    check(attempts == expected, || {
        format!("attempts {attempts:?}, want {expected:?}\n{out}")
    })?;
    check(out.contains("2 failed, 3 passed (2 flaky)"), || {
        format!("the counts say flaky:\n{out}")
    })?;
    let cases = support::junit_cases(&dir.path().join("j.xml"))?;
    check(cases.len() == 5, || {
        format!("one testcase per test, retries folded in: {cases:?}")
    })?;
    let xml = std::fs::read_to_string(dir.path().join("j.xml"))?;
    let flaky = xml.matches("<flakyFailure").count();
    let reruns = xml.matches("<rerunFailure").count();
    check(flaky == 2 && reruns == 2, || {
        format!("{flaky} flakyFailure, {reruns} rerunFailure:\n{xml}")
    })?;
    let timeline = support::vigil(
        dir.path(),
        &[
            "history",
            "tests/test_retries.py::test_service_down",
            "--format",
            "json",
        ],
    )?;
    exited(&timeline, 0)?;
    let points: serde_json::Value = serde_json::from_slice(&timeline.stdout)?;
    let mut recorded: Vec<u64> = points
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["attempt"].as_u64())
        .collect();
    recorded.sort_unstable();
    check(recorded == [1, 2, 3], || {
        format!("history keeps every attempt: {points:#}")
    })
}

/// The same run under "retry everything" (`only_rerun = [".*"]`): the assertion runs three
/// times too, and fails three times.
fn retry_everything() -> TestResult {
    let config = "[retry]\nonly_rerun = [\".*\"]\n";
    let Ran {
        code,
        out,
        attempts,
        ..
    } = run(&["run", "--retries", "2"], Some(config))?;
    check(code == Some(1), || format!("exit {code:?}\n{out}"))?;
    let expected = want(&[
        ("down", 3),
        ("marked", 2),
        ("passes", 1),
        ("total", 3),
        ("warms_up", 2),
    ]);
    check(attempts == expected, || {
        format!("attempts {attempts:?}, want {expected:?}\n{out}")
    })?;
    let retries = out.matches("   RETRY ").count();
    check(retries == 6, || {
        format!("{retries} retries, want 6 (the policy alone makes 4)\n{out}")
    })
}

fn flaky_fails() -> TestResult {
    let selection = "tests/test_retries.py::test_service_warms_up";
    let Ran {
        code,
        out,
        attempts,
        ..
    } = run(
        &["run", "--retries", "1", "--flaky-result", "fail", selection],
        None,
    )?;
    check(attempts == want(&[("warms_up", 2)]), || {
        format!("{attempts:?}\n{out}")
    })?;
    check(
        code == Some(1) && out.contains("passed only on a retry"),
        || format!("exit {code:?}: a flaky pass fails the run\n{out}"),
    )?;
    let Ran { code, out, .. } = run(&["run", "--retries", "1", selection], None)?;
    check(code == Some(0), || {
        format!("exit {code:?}: by default a flaky pass passes\n{out}")
    })
}

fn marker_only() -> TestResult {
    let Ran {
        code,
        out,
        attempts,
        ..
    } = run(&["run"], None)?;
    check(code == Some(1), || format!("exit {code:?}\n{out}"))?;
    let expected = want(&[
        ("down", 1),
        ("marked", 2),
        ("passes", 1),
        ("total", 1),
        ("warms_up", 1),
    ]);
    check(attempts == expected, || {
        format!("attempts {attempts:?}, want {expected:?}\n{out}")
    })
}

/// fixtures/breaker: the first test takes the payments service down; two failures later the
/// breaker opens, and the tests after next are skipped as blocked (the one right after may
/// still start before vigil has read the second failure). Nothing blocked is retried.
fn breaker() -> TestResult {
    let dir = support::fixture("breaker")?;
    let out = support::vigil(dir.path(), &["run", "-j", "1", "-v", "--retries", "2"])?;
    let text = support::text(&out);
    exited(&out, 1)?;
    let line = |id: &str| {
        text.lines()
            .find(|l| l.contains(&format!("tests/test_payments.py::{id} ")))
            .unwrap_or("")
            .to_string()
    };
    for id in ["test_0_service_goes_down", "test_charge[1]"] {
        check(line(id).contains("FAILED"), || {
            format!("{id} fails:\n{text}")
        })?;
    }
    for n in 3..=7 {
        let shown = line(&format!("test_charge[{n}]"));
        check(
            shown.contains("SKIPPED")
                && shown.contains("blocked: named:payments failing (2 failures)"),
            || format!("test_charge[{n}] is blocked:\n{text}"),
        )?;
    }
    check(text.contains("circuit open for named:payments"), || {
        format!("a notice says so:\n{text}")
    })?;
    check(!text.contains("RETRY"), || {
        format!("failures behind an open circuit are not retried:\n{text}")
    })
}

/// fixtures/retry_state: the first attempt adds an order and then finds the database locked.
/// With `[retry] state` the retry sees the one order the run started with and passes; without
/// it, the retry sees two and fails its assertion.
fn restored_state() -> TestResult {
    let with_state = state_run(None)?;
    check(
        with_state.0 == Some(0) && with_state.1.contains("1 passed (1 flaky)"),
        || {
            format!(
                "with the state restored the retry passes:\n{}",
                with_state.1
            )
        },
    )?;
    let without = state_run(Some("[retry]\nretries = 1\ndelay = 0.1\n"))?;
    check(
        without.0 == Some(1) && without.1.contains("starts with one order"),
        || {
            format!(
                "without the restore the retry sees the first attempt's order:\n{}",
                without.1
            )
        },
    )
}

/// Runs fixtures/retry_state (with `config` as its vigil.toml); exit code, output, and
/// whether the run's snapshot is gone afterwards.
fn state_run(config: Option<&str>) -> Result<(Option<i32>, String), Failed> {
    let dir = support::fixture("retry_state")?;
    if let Some(text) = config {
        std::fs::write(dir.path().join("vigil.toml"), text)?;
    }
    let state = dir.path().join("state").to_string_lossy().into_owned();
    let out = support::vigil_env(dir.path(), &[("RETRY_STATE_DIR", &state)], &["run"])?;
    let manifests = dir.path().join(".vigil/snapshots/manifests");
    let left = std::fs::read_dir(&manifests).map_or(0, |d| d.count());
    check(left == 0, || {
        format!("the run's snapshot is forgotten ({left} manifests left)")
    })?;
    Ok((out.status.code(), support::text(&out)))
}
