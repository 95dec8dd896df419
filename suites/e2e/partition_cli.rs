//! `vigil run|list --partition KIND:M/N` and `vigil merge`, as CI jobs use them: the shards of
//! every kind are disjoint and together are the whole selection (ids with unicode, `::` and
//! brackets included), tests joined by dependencies stay on one shard, a collection error is
//! reported by one shard only, and four shards run at once merge into the run a single machine
//! would have made: the same JUnit cases and one history run.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use libtest_mimic::Trial;

use crate::support::{self, check, exited, history_db, junit_cases, text, TestResult};

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test(
            "partition::shards_are_disjoint_and_cover_the_selection",
            cover,
        ),
        Trial::test(
            "partition::dependencies_stay_together_errors_once",
            together,
        ),
        Trial::test(
            "partition::four_shards_at_once_merge_into_one_run",
            merge_four,
        ),
        Trial::test(
            "partition::merge_refuses_mixed_shards_and_flags_missing_ones",
            merge_checks,
        ),
    ]
}

fn lines(out: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

/// Final outcome per test id in a JSON event log.
fn logged(path: &Path) -> Result<BTreeMap<String, String>, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut outcomes = BTreeMap::new();
    for line in text.lines().skip(1) {
        let event: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
        if event["event"] == "test_finished" {
            let id = event["id"].as_str().unwrap_or_default().to_string();
            let outcome = event["outcome"].as_str().unwrap_or_default().to_string();
            outcomes.insert(id, outcome);
        }
    }
    Ok(outcomes)
}

/// Checks that `shards` (ids per shard) are disjoint and their union is `all`.
fn disjoint_cover(all: &[String], shards: &[Vec<String>], what: &str) -> TestResult {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, shard) in shards.iter().enumerate() {
        for id in shard {
            if let Some(other) = seen.insert(id, index + 1) {
                return Err(format!("{what}: {id} is in shards {other} and {}", index + 1).into());
            }
        }
    }
    let union: BTreeSet<&str> = seen.keys().copied().collect();
    let whole: BTreeSet<&str> = all.iter().map(String::as_str).collect();
    check(union == whole, || {
        format!("{what}: the shards hold {union:?}\nthe selection is {whole:?}")
    })
}

fn cover() -> TestResult {
    let dir = support::fixture("parametrize_ids")?;
    // History first: with durations, `duration` splits the one file between shards.
    exited(&support::vigil(dir.path(), &["run"])?, 1)?;
    // A test history has not seen goes with its file's first known test.
    let file = dir.path().join("tests/test_awkward_ids.py");
    let source = fs::read_to_string(&file)?;
    fs::write(
        &file,
        source + "\n\ndef test_added_after_history():\n    pass\n",
    )?;
    let listed = support::vigil(dir.path(), &["list"])?;
    exited(&listed, 0)?;
    let all = lines(&listed);
    check(all.len() > 20, || text(&listed))?;
    for kind in ["hash", "slice", "duration"] {
        let mut shards = Vec::new();
        for index in 1..=3 {
            let spec = format!("{kind}:{index}/3");
            let out = support::vigil(dir.path(), &["list", "--partition", &spec])?;
            check(matches!(out.status.code(), Some(0 | 5)), || text(&out))?;
            shards.push(lines(&out));
        }
        disjoint_cover(&all, &shards, &format!("vigil list --partition {kind}"))?;
        if kind == "duration" {
            let used = shards.iter().filter(|s| !s.is_empty()).count();
            check(used == 3, || format!("the file is not split: {shards:?}"))?;
        }
        // What the workers really run: the plugin keeps its shard by the same deal.
        let mut ran = Vec::new();
        for index in 1..=3 {
            let log = dir.path().join(format!("{kind}-{index}.jsonl"));
            let spec = format!("{kind}:{index}/3");
            let log_arg = log.to_string_lossy().into_owned();
            let args = [
                "run",
                "--no-history",
                "--partition",
                &spec,
                "--json",
                &log_arg,
            ];
            let out = support::vigil(dir.path(), &args)?;
            check(matches!(out.status.code(), Some(0 | 1 | 5)), || text(&out))?;
            ran.push(logged(&log)?.into_keys().collect());
        }
        disjoint_cover(&all, &ran, &format!("vigil run --partition {kind}"))?;
    }
    Ok(())
}

fn together() -> TestResult {
    let dir = support::fixture("dependencies")?;
    let whole = run_logged(dir.path(), None, "whole.jsonl")?;
    let mut merged = BTreeMap::new();
    for index in 1..=4 {
        let spec = format!("slice:{index}/4");
        let shard = run_logged(dir.path(), Some(&spec), &format!("s{index}.jsonl"))?;
        merged.extend(shard);
    }
    // A dependent on another machine than its prerequisite would be skipped as "did not run".
    check(merged == whole, || {
        format!("shards: {merged:?}\nwhole run: {whole:?}")
    })?;
    let dir = support::fixture("syntax_error")?;
    let mut errors = 0;
    for index in 1..=3 {
        let spec = format!("hash:{index}/3");
        let shard = run_logged(dir.path(), Some(&spec), &format!("s{index}.jsonl"))?;
        errors += shard.values().filter(|o| *o == "error").count();
    }
    check(errors == 2, || {
        format!("{errors} collection errors over the shards, not 2")
    })
}

fn run_logged(
    dir: &Path,
    partition: Option<&str>,
    log: &str,
) -> Result<BTreeMap<String, String>, libtest_mimic::Failed> {
    let path = dir.join(log);
    let path_arg = path.to_string_lossy().into_owned();
    let mut args = vec!["run", "--no-history", "--json", &path_arg];
    if let Some(spec) = partition {
        args.extend(["--partition", spec]);
    }
    let out = support::vigil(dir, &args)?;
    check(matches!(out.status.code(), Some(0 | 1 | 5)), || text(&out))?;
    Ok(logged(&path)?)
}

/// A shard job: its own copy of the history, its event log and JUnit in `shard-N/`.
fn shard_command(dir: &Path, index: usize) -> Result<Command, libtest_mimic::Failed> {
    let shard = dir.join(format!("shard-{index}"));
    fs::create_dir_all(&shard)?;
    let mut cmd = Command::new(support::vigil_bin());
    cmd.current_dir(dir)
        .env("VIGIL_PYTHON", support::python()?)
        .env_remove("PYTEST_ADDOPTS")
        .env_remove("VIGIL_HISTORY")
        .args([
            "run",
            "-j",
            "1",
            "--partition",
            &format!("duration:{index}/4"),
        ])
        .arg("--json")
        .arg(shard.join("events.jsonl"))
        .arg("--junit")
        .arg(shard.join("junit.xml"))
        .arg("--history")
        .arg(shard.join("history.db"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    Ok(cmd)
}

fn merge_four() -> TestResult {
    let dir = support::fixture("failing")?;
    let single = dir.path().join("single.xml");
    let single_arg = single.to_string_lossy().into_owned();
    let whole = support::vigil(dir.path(), &["run", "--no-history", "--junit", &single_arg])?;
    exited(&whole, 1)?;
    let mut children = Vec::new();
    for index in 1..=4 {
        children.push(shard_command(dir.path(), index)?.spawn()?);
    }
    for mut child in children {
        let status = child.wait()?;
        check(matches!(status.code(), Some(0 | 1 | 5)), || {
            format!("a shard: {status}")
        })?;
    }
    let out = support::vigil(
        dir.path(),
        &[
            "merge",
            "shard-1",
            "shard-2",
            "shard-3",
            "shard-4",
            "--junit",
            "merged.xml",
            "--json",
            "merged.jsonl",
            "--history",
            "merged.db",
        ],
    )?;
    exited(&out, 1)?;
    let shown = text(&out);
    check(shown.contains("9 failed, 3 passed"), || shown.clone())?;
    let merged = junit_cases(&dir.path().join("merged.xml"))?;
    let expected = junit_cases(&single)?;
    check(merged == expected, || {
        format!("merged JUnit: {merged:#?}\nsingle run: {expected:#?}")
    })?;
    check(
        logged(&dir.path().join("merged.jsonl"))?.len() == 12,
        || "the merged event log has 12 results".to_string(),
    )?;
    let runs = history_db::check(&dir.path().join("merged.db"))?;
    check(runs.len() == 1 && runs[0].tests == 12, || {
        format!("{runs:?}")
    })?;
    // The shards' own runs stay out: the merged one stands for them, and says so.
    let listed = support::vigil(
        dir.path(),
        &["history", "--format", "json", "--history", "merged.db"],
    )?;
    let json: serde_json::Value = serde_json::from_slice(&listed.stdout)?;
    let run = &json[0];
    check(run["shards"] == 4 && run["partition"].is_null(), || {
        text(&listed)
    })?;
    let shard = support::vigil(
        dir.path(),
        &[
            "history",
            "--format",
            "json",
            "--history",
            "shard-2/history.db",
        ],
    )?;
    let json: serde_json::Value = serde_json::from_slice(&shard.stdout)?;
    check(json[0]["partition"] == "duration:2/4", || text(&shard))
}

fn merge_checks() -> TestResult {
    let dir = support::fixture("passing")?;
    for index in 1..=3 {
        let status = shard_command(dir.path(), index)?.status()?;
        check(matches!(status.code(), Some(0 | 5)), || {
            format!("shard {index}: {status}")
        })?;
    }
    let missing = support::vigil(
        dir.path(),
        &["merge", "shard-1", "shard-2", "shard-3", "--no-history"],
    )?;
    exited(&missing, 2)?;
    check(text(&missing).contains("shard 4/4 is missing"), || {
        text(&missing)
    })?;
    let twice = support::vigil(
        dir.path(),
        &["merge", "shard-1", "shard-1/events.jsonl", "--no-history"],
    )?;
    exited(&twice, 4)?;
    check(text(&twice).contains("given twice"), || text(&twice))?;
    fs::write(dir.path().join("shard-2/events.jsonl"), "{\"event\":\"format\",\"format\":\"vigil-events\",\"version\":1,\"vigil\":\"x\"}\nnot json\n{}\n")?;
    let bad = support::vigil(dir.path(), &["merge", "shard-2", "--no-history"])?;
    exited(&bad, 4)?;
    check(text(&bad).contains("events.jsonl:2:"), || text(&bad))
}
