//! History against real runs: a fixture whose tests change outcome between runs (driven by
//! HISTORY_STATE and HISTORY_SLEEP_MS) run ten times in a git repository, then `vigil trends`
//! must name the new failure, the fixed test, the test still failing since the first run, the
//! flaky test and the planted duration regression, and not the steady test. Also: what a run
//! records, `--no-history`, retention, and durations from history rebalancing the workers.

use std::path::Path;

use libtest_mimic::Trial;
use serde_json::Value;

use crate::support::{self, check, exited, TestResult};

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test(
            "history::trends::new_failures_fixed_still_failing_flaky_and_a_regression",
            trends_over_ten_runs,
        ),
        Trial::test(
            "history::record::a_run_lands_with_git_facts_counts_and_timeline",
            run_record,
        ),
        Trial::test(
            "history::record::no_history_and_config_retention",
            no_history_and_retention,
        ),
        Trial::test(
            "history::record::an_unusable_default_warns_an_unusable_flag_fails",
            unusable_history,
        ),
        Trial::test(
            "history::import::pytest_junit_lands_under_vigils_own_ids",
            import_pytest_junit,
        ),
        Trial::test(
            "history::durations::history_rebalances_a_small_slow_file",
            durations_rebalance,
        ),
    ]
}

fn json(dir: &Path, args: &[&str]) -> Result<Value, libtest_mimic::Failed> {
    let out = support::vigil(dir, args)?;
    exited(&out, 0)?;
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Test ids listed under `key` in the trends JSON.
fn ids(trends: &Value, key: &str) -> Vec<String> {
    trends[key]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| v["test"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn trends_over_ten_runs() -> TestResult {
    let dir = support::fixture("history")?;
    let commit = support::git_repo(dir.path())?;
    // Runs 1–5 fast (run 3 flakes), 6–10 slow; run 10, on a new commit, breaks one test and
    // fixes another (a change of outcome across commits is a change, not flakiness).
    for run in 1..=10 {
        if run == 10 {
            support::git(
                dir.path(),
                &["commit", "-q", "--allow-empty", "-m", "the change"],
            )?;
        }
        let state = match run {
            3 => "flake",
            10 => "broken,fixed",
            _ => "",
        };
        let sleep = if run <= 5 { "30" } else { "150" };
        let env = [("HISTORY_STATE", state), ("HISTORY_SLEEP_MS", sleep)];
        let out = support::vigil_env(dir.path(), &env, &["run", "-j", "2"])?;
        exited(&out, 1)?;
    }
    let trends = json(dir.path(), &["trends", "--format", "json"])?;
    let unit = |name: &str| format!("tests/unit/test_state.py::{name}");
    check(trends["runs"].as_array().map(Vec::len) == Some(10), || {
        format!("want 10 runs in the window: {trends:#}")
    })?;
    check(
        ids(&trends, "new_failures") == [unit("test_breaks")],
        || format!("new failures: {:?}", ids(&trends, "new_failures")),
    )?;
    check(ids(&trends, "fixed") == [unit("test_gets_fixed")], || {
        format!("fixed: {:?}", ids(&trends, "fixed"))
    })?;
    check(
        ids(&trends, "still_failing") == [unit("test_always_fails")],
        || format!("still failing: {:?}", ids(&trends, "still_failing")),
    )?;
    let still = &trends["still_failing"][0];
    check(
        still["failing_runs"] == 10 && still["first_failing_commit"] == commit.as_str(),
        || format!("streak of 10 from {commit}: {still:#}"),
    )?;
    check(ids(&trends, "flaky") == [unit("test_flaky")], || {
        format!("flaky: {:?}", ids(&trends, "flaky"))
    })?;
    let flaky = &trends["flaky"][0];
    // pass, pass, FAIL, pass ... : two flips over ten results.
    check(flaky["flips"] == 2 && flaky["results"] == 10, || {
        format!("{flaky:#}")
    })?;
    let speed = "tests/performance/test_speed.py::test_speed";
    check(ids(&trends, "regressions") == [speed], || {
        format!(
            "regressions (test_steady must not be one): {:#}",
            trends["regressions"]
        )
    })?;
    let regression = &trends["regressions"][0];
    let after = regression["after_median_ms"].as_f64().unwrap_or(0.0);
    check(after >= 150.0, || {
        format!("after median {after} ms < the 150 ms slept")
    })?;
    // Nightly use: any finding named in --fail-on turns into exit 1, unknown kinds are usage.
    exited(
        &support::vigil(dir.path(), &["trends", "--fail-on", "perf-regression"])?,
        1,
    )?;
    exited(
        &support::vigil(dir.path(), &["trends", "--fail-on", "nonsense"])?,
        4,
    )?;
    let text = support::text(&support::vigil(dir.path(), &["trends"])?);
    check(
        text.contains("new failures\n  test") && text.contains(speed),
        || text.clone(),
    )
}

fn run_record() -> TestResult {
    let dir = support::fixture("history")?;
    let commit = support::git_repo(dir.path())?;
    exited(&support::vigil(dir.path(), &["run", "-j", "2"])?, 1)?;
    let runs = json(dir.path(), &["history", "--format", "json"])?;
    let run = &runs[0];
    let want = [
        ("commit", Value::from(commit.as_str())),
        ("branch", Value::from("main")),
        ("dirty", Value::from(false)),
        ("profile", Value::from("default")),
        ("total", Value::from(7)),
        ("passed", Value::from(5)),
        ("failed", Value::from(2)),
        ("exit_code", Value::from(1)),
        ("interrupted", Value::from(false)),
        ("source", Value::from("vigil")),
    ];
    for (key, value) in want {
        check(run[key] == value, || {
            format!("{key}: want {value}, run is {run:#}")
        })?;
    }
    let id = "tests/unit/test_state.py::test_always_fails";
    let timeline = json(dir.path(), &["history", id, "--format", "json"])?;
    check(
        timeline[0]["outcome"] == "failed"
            && timeline[0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("arithmetic is still broken")),
        || format!("{timeline:#}"),
    )?;
    let unknown = support::vigil(dir.path(), &["history", "test_always"])?;
    exited(&unknown, 4)?;
    check(support::text(&unknown).contains(id), || {
        format!(
            "an unknown id suggests the near ones: {}",
            support::text(&unknown)
        )
    })
}

fn no_history_and_retention() -> TestResult {
    let dir = support::fixture("history")?;
    exited(&support::vigil(dir.path(), &["run", "--no-history"])?, 1)?;
    check(!dir.path().join(".vigil").exists(), || {
        "--no-history must not create .vigil/".into()
    })?;
    std::fs::write(
        dir.path().join("vigil.toml"),
        "[history]\npath = \"ci-history.db\"\nkeep_runs = 2\n",
    )?;
    for _ in 0..3 {
        exited(&support::vigil(dir.path(), &["run", "tests/unit"])?, 1)?;
    }
    let runs = json(dir.path(), &["history", "--format", "json"])?;
    let ids: Vec<i64> = runs
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["id"].as_i64())
        .collect();
    check(ids == [3, 2], || {
        format!("keep_runs = 2 keeps the newest two: {ids:?}")
    })?;
    check(dir.path().join("ci-history.db").is_file(), || {
        "[history] path is relative to vigil.toml".into()
    })?;
    let pruned = support::vigil(dir.path(), &["history", "prune", "--keep-runs", "1"])?;
    exited(&pruned, 0)?;
    check(
        support::text(&pruned).contains("pruned 1 runs, 1 left"),
        || support::text(&pruned),
    )
}

fn unusable_history() -> TestResult {
    let dir = support::fixture("history")?;
    // A file where the .vigil directory should be: unusable even for root.
    std::fs::write(dir.path().join(".vigil"), "not a directory")?;
    let out = support::vigil(dir.path(), &["run", "tests/unit"])?;
    exited(&out, 1)?;
    let text = support::text(&out);
    check(
        text.contains("warning: this run is not recorded in history") && text.contains("2 failed"),
        || format!("the default history may fail, the tests still run: {text}"),
    )?;
    let named = dir.path().join(".vigil").join("h.db");
    let named = named.to_string_lossy();
    let out = support::vigil(dir.path(), &["--history", &named, "run", "tests/unit"])?;
    exited(&out, 4)?;
    check(support::text(&out).contains("cannot create"), || {
        support::text(&out)
    })
}

/// Plain pytest's `--junitxml` imported next to a vigil run of the same project: the same
/// ids, outcomes and counts; a broken file is reported at its line and column and the good
/// one still lands.
fn import_pytest_junit() -> TestResult {
    let dir = support::fixture("example")?;
    let xml = dir.path().join("pytest.xml");
    let junit_arg = format!("--junitxml={}", xml.display());
    exited(&support::pytest(dir.path(), &[&junit_arg])?, 1)?;
    exited(&support::vigil(dir.path(), &["run", "-j", "2"])?, 1)?;
    let broken = dir.path().join("broken.xml");
    std::fs::write(
        &broken,
        "<testsuites>\n  <testsuite name=\"x\">\n</testsuites>\n",
    )?;
    let (xml_s, broken_s) = (xml.to_string_lossy(), broken.to_string_lossy());
    let out = support::vigil(dir.path(), &["history", "import", &broken_s, &xml_s])?;
    exited(&out, 4)?;
    check(support::text(&out).contains("broken.xml:3:"), || {
        format!(
            "the broken file is named with its line: {}",
            support::text(&out)
        )
    })?;
    let runs = json(dir.path(), &["history", "--format", "json"])?;
    let list = runs.as_array().cloned().unwrap_or_default();
    // Runs are listed by start time, and pytest's report carries its own (earlier) one.
    let by_source = |source: &str| list.iter().find(|r| r["source"] == source).cloned();
    let (Some(imported), Some(ran), 2) = (
        by_source("junit:pytest.xml"),
        by_source("vigil"),
        list.len(),
    ) else {
        return Err(format!("the vigil run and the good file only: {runs:#}").into());
    };
    for key in ["total", "passed", "failed", "skipped"] {
        check(imported[key] == ran[key], || {
            format!("{key}: imported {} vs vigil's {}", imported[key], ran[key])
        })?;
    }
    // The failing test's id is vigil's own, so its timeline holds both results.
    let id = "tests/unit/test_money.py::test_round_currency_half_up";
    let timeline = json(dir.path(), &["history", id, "--format", "json"])?;
    check(timeline.as_array().map(Vec::len) == Some(2), || {
        format!("{id} from both sources: {timeline:#}")
    })
}

/// Worker contents of the first wave of `vigil plan -j 2`, as sorted file lists.
fn plan_batches(dir: &Path) -> Result<Vec<Vec<String>>, libtest_mimic::Failed> {
    let plan = json(dir, &["plan", "-j", "2", "--format", "json"])?;
    let mut batches: Vec<Vec<String>> = plan["waves"][0]["workers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| {
            let mut files: Vec<String> = w["tests"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t["id"].as_str()?.split("::").next().map(String::from))
                .collect();
            files.dedup();
            files
        })
        .collect();
    batches.sort();
    Ok(batches)
}

fn durations_rebalance() -> TestResult {
    let dir = support::fixture("balancing")?;
    // By size, the three big quick files outweigh the tiny slow one, which shares a worker.
    let by_size = plan_batches(dir.path())?;
    check(!by_size.contains(&vec!["test_slow.py".to_string()]), || {
        format!("by size, test_slow.py shares a worker: {by_size:?}")
    })?;
    exited(&support::vigil(dir.path(), &["run", "-j", "2"])?, 0)?;
    let by_history = plan_batches(dir.path())?;
    let alone = vec!["test_slow.py".to_string()];
    check(by_history.contains(&alone), || {
        format!("after one run, the 0.5 s file gets a worker to itself: {by_history:?}")
    })
}
