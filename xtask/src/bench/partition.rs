//! The partition figure: on each real suite's history (three vigil runs), max-shard /
//! mean-shard expected time for `--partition duration|hash|slice` at 2, 4 and 8 shards, as
//! `vigil plan --partition` reports it, beside pytest-split's `least_duration` (run in its own
//! venv) on the same tests and durations; then four `duration` shards run in parallel on this
//! machine and merged with `vigil merge`.

use super::diagnosis::markdown_table;
use super::suites::Suite;
use super::table::padded;
use crate::{cmd, paths};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::cmp::Ordering;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const SHARDS: [usize; 3] = [2, 4, 8];
const KINDS: [&str; 3] = ["duration", "hash", "slice"];
const GOAL: f64 = 1.05;
const HISTORY_RUNS: usize = 3;
const PEER: &str = "pytest-split==0.10.0";
const SPLIT_PY: &str = include_str!("partition_split.py");
/// Shards run side by side for the merge demonstration.
const PARALLEL: usize = 4;

pub struct Section {
    rows: Vec<Row>,
    merges: Vec<MergeRun>,
    notes: Vec<String>,
}

/// One suite at one shard count: max/mean per partition kind, and pytest-split's.
struct Row {
    suite: String,
    tests: usize,
    files: usize,
    /// Files the `duration` deal split between shards.
    split: usize,
    /// The best max/mean any deal of whole tests could reach: the longest test over the mean.
    bound: f64,
    shards: usize,
    ratios: Vec<f64>,
    peer: Option<f64>,
}

/// Four shards of a suite run at once, then merged.
struct MergeRun {
    suite: String,
    shard_secs: Vec<f64>,
    expected: Vec<f64>,
    merged_tests: usize,
    single_tests: usize,
    summary: String,
}

pub fn measure(vigil: &Path, suites: &[&Suite]) -> Result<Section> {
    let peer = peer_venv();
    let mut section = Section {
        rows: vec![],
        merges: vec![],
        notes: vec![],
    };
    if let Err(e) = &peer {
        section
            .notes
            .push(format!("pytest-split not measured: {e:#}"));
    }
    for suite in suites {
        let work = paths::target_dir()
            .join("bench")
            .join("partition")
            .join(&suite.name);
        let _ = fs::remove_dir_all(&work);
        fs::create_dir_all(&work)?;
        let db = work.join("history.db");
        let single_tests = record_history(vigil, suite, &db)?;
        for shards in SHARDS {
            let row = balance_row(vigil, suite, &db, shards, peer.as_deref().ok())?;
            eprintln!(
                "partition: {} at {shards} shards: {:?}",
                suite.name, row.ratios
            );
            section.rows.push(row);
        }
        match run_parallel(vigil, suite, &db, &work, single_tests) {
            Ok(merge) => section.merges.push(merge),
            Err(e) => section
                .notes
                .push(format!("{}: parallel shards: {e:#}", suite.name)),
        }
    }
    Ok(section)
}

fn vigil_cmd(vigil: &Path, suite: &Suite, db: &Path) -> Command {
    let mut cmd = Command::new(vigil);
    cmd.current_dir(&suite.dir)
        .env("VIGIL_PYTHON", &suite.python)
        .env("VIGIL_HISTORY", db)
        .env_remove("CI");
    cmd
}

/// Three whole runs recorded in `db`; returns how many tests the last one had.
fn record_history(vigil: &Path, suite: &Suite, db: &Path) -> Result<usize> {
    let mut tests = 0;
    for round in 1..=HISTORY_RUNS {
        eprintln!(
            "partition: {} history run {round}/{HISTORY_RUNS}",
            suite.name
        );
        let json = db.with_file_name(format!("run-{round}.jsonl"));
        let status = vigil_cmd(vigil, suite, db)
            .args(["run", "-j", "2", "--json"])
            .arg(&json)
            .args(["--", "-p", "no:cacheprovider"])
            .stdout(Stdio::null())
            .status()?;
        if !matches!(status.code(), Some(0 | 1)) {
            bail!("vigil run on {} ended with {status}", suite.name);
        }
        tests = count_results(&json)?;
    }
    Ok(tests)
}

/// Final results in an event log (each test once, whatever its attempts).
fn count_results(log: &Path) -> Result<usize> {
    let text = fs::read_to_string(log).with_context(|| format!("reading {}", log.display()))?;
    let ids: std::collections::BTreeSet<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["event"] == "test_finished")
        .filter_map(|v| v["id"].as_str().map(String::from))
        .collect();
    Ok(ids.len())
}

fn balance_row(
    vigil: &Path,
    suite: &Suite,
    db: &Path,
    shards: usize,
    peer: Option<&Path>,
) -> Result<Row> {
    let mut row = Row {
        suite: suite.name.clone(),
        tests: 0,
        files: 0,
        split: 0,
        bound: 1.0,
        shards,
        ratios: vec![],
        peer: None,
    };
    for kind in KINDS {
        let plan = plan(vigil, suite, db, &format!("{kind}:1/{shards}"))?;
        let partition = &plan["partition"];
        row.ratios.push(ratio(&expected(partition)));
        if kind == "duration" {
            row.tests = partition["known_tests"].as_u64().unwrap_or(0) as usize;
            row.files = partition["files"].as_u64().unwrap_or(0) as usize;
            row.split = partition["split_files"].as_u64().unwrap_or(0) as usize;
            row.bound = bound(partition, shards);
            if let Some(python) = peer {
                row.peer = Some(ratio(&least_duration(python, partition, shards)?));
            }
        }
    }
    Ok(row)
}

fn plan(vigil: &Path, suite: &Suite, db: &Path, spec: &str) -> Result<Value> {
    let out = vigil_cmd(vigil, suite, db)
        .args(["plan", "--format", "json", "--partition", spec])
        .args(["--", "-p", "no:cacheprovider"])
        .output()?;
    if !out.status.success() {
        bail!(
            "vigil plan --partition {spec} on {}: {}",
            suite.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// max(1, the longest test / the mean shard): no deal of whole tests does better.
fn bound(partition: &Value, shards: usize) -> f64 {
    let tests = partition["tests"].as_array().cloned().unwrap_or_default();
    let times: Vec<f64> = tests
        .iter()
        .filter_map(|t| t["expected_secs"].as_f64())
        .collect();
    let mean = times.iter().sum::<f64>() / shards as f64;
    let longest = times.iter().copied().fold(0.0, f64::max);
    if mean > 0.0 {
        (longest / mean).max(1.0)
    } else {
        1.0
    }
}

fn expected(partition: &Value) -> Vec<f64> {
    let shards = partition["shards"].as_array().cloned().unwrap_or_default();
    shards
        .iter()
        .map(|s| s["expected_secs"].as_f64().unwrap_or(0.0))
        .collect()
}

/// Slowest shard over the mean shard.
fn ratio(times: &[f64]) -> f64 {
    let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
    let max = times.iter().copied().fold(0.0, f64::max);
    if mean > 0.0 {
        max / mean
    } else {
        f64::NAN
    }
}

/// pytest-split's groups for the plan's tests, with the durations vigil had from history.
fn least_duration(python: &Path, partition: &Value, shards: usize) -> Result<Vec<f64>> {
    let tests = partition["tests"].as_array().cloned().unwrap_or_default();
    let ids: Vec<&str> = tests.iter().filter_map(|t| t["id"].as_str()).collect();
    let durations: serde_json::Map<String, Value> = tests
        .iter()
        .filter(|t| t["measured"] == true)
        .filter_map(|t| Some((t["id"].as_str()?.to_string(), t["expected_secs"].clone())))
        .collect();
    let input = serde_json::json!({"splits": shards, "ids": ids, "durations": durations});
    let mut child = Command::new(python)
        .args(["-c", SPLIT_PY])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .context("pytest-split's stdin")?
        .write_all(input.to_string().as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("pytest-split's least_duration failed ({})", out.status);
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Four `duration` shards at once (one worker each, each with its own copy of the history as
/// a CI job would have), then `vigil merge` of their directories.
fn run_parallel(
    vigil: &Path,
    suite: &Suite,
    db: &Path,
    work: &Path,
    single_tests: usize,
) -> Result<MergeRun> {
    let plan = plan(vigil, suite, db, &format!("duration:1/{PARALLEL}"))?;
    let expected = expected(&plan["partition"]);
    let mut children = Vec::new();
    for index in 1..=PARALLEL {
        let dir = work.join(format!("shard-{index}"));
        fs::create_dir_all(&dir)?;
        let shard_db = dir.join("history.db");
        fs::copy(db, &shard_db)?;
        let child = vigil_cmd(vigil, suite, &shard_db)
            .args([
                "run",
                "-j",
                "1",
                "--partition",
                &format!("duration:{index}/{PARALLEL}"),
            ])
            .arg("--json")
            .arg(dir.join("events.jsonl"))
            .arg("--junit")
            .arg(dir.join("junit.xml"))
            .args(["--", "-p", "no:cacheprovider"])
            .stdout(Stdio::null())
            .spawn()?;
        children.push((Instant::now(), child));
    }
    let mut shard_secs = Vec::new();
    for (started, mut child) in children {
        child.wait()?;
        shard_secs.push(started.elapsed().as_secs_f64());
    }
    let merged_db = work.join("merged.db");
    fs::copy(db, &merged_db)?;
    let dirs: Vec<PathBuf> = (1..=PARALLEL)
        .map(|i| work.join(format!("shard-{i}")))
        .collect();
    let out = vigil_cmd(vigil, suite, &merged_db)
        .arg("merge")
        .args(&dirs)
        .arg("--json")
        .arg(work.join("merged.jsonl"))
        .arg("--junit")
        .arg(work.join("merged.xml"))
        .args(["--color", "never"])
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary = stdout
        .lines()
        .rev()
        .find(|l| l.contains(" in "))
        .unwrap_or("")
        .to_string();
    Ok(MergeRun {
        suite: suite.name.clone(),
        shard_secs,
        expected,
        merged_tests: count_results(&work.join("merged.jsonl"))?,
        single_tests,
        summary: summary.trim_matches(|c| c == '=' || c == ' ').to_string(),
    })
}

/// target/bench/partition/peer-venv with pytest-split.
fn peer_venv() -> Result<PathBuf> {
    let venv = paths::target_dir()
        .join("bench")
        .join("partition")
        .join("peer-venv");
    let python = venv.join("bin").join("python");
    let ready = |p: &Path| {
        Command::new(p)
            .args(["-c", "import pytest_split.algorithms"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !ready(&python) {
        cmd::run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
        cmd::run(Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            PEER,
        ]))
        .with_context(|| format!("pip could not install {PEER}"))?;
    }
    Ok(python)
}

const LEGEND: &str = "max/mean: the slowest shard's expected time over the mean shard's \
    (1.000 is a perfect split), from history's per-test medians over three whole runs, as \
    `vigil plan --partition KIND:1/N --format json` reports them. vigil deals test files whole \
    (a file is then collected on one machine only) and splits the fewest files it must into \
    their tests (split: how many, for duration); hash and slice deal whole files. bound: the \
    longest single test over the mean shard, which no split of whole tests can beat. \
    pytest-split: its `least_duration` on the same tests and durations, test by test (each of \
    its shards collects every file). goal: duration <= 1.05, or within 2 % of the bound where \
    one test is longer than that (MISS marks one not reached)";

impl Section {
    fn table(&self) -> Vec<Vec<String>> {
        let mut rows = vec![[
            "suite",
            "tests",
            "files",
            "shards",
            "split",
            "bound",
            "duration",
            "hash",
            "slice",
            "pytest-split",
        ]
        .map(String::from)
        .to_vec()];
        for row in &self.rows {
            let mut cells = vec![
                row.suite.clone(),
                row.tests.to_string(),
                row.files.to_string(),
                row.shards.to_string(),
                row.split.to_string(),
                format!("{:.3}", row.bound),
            ];
            let goal = GOAL.max(row.bound * 1.02);
            for (k, r) in row.ratios.iter().enumerate() {
                // A NaN ratio (no time at all) is a miss too.
                let reached =
                    matches!(r.partial_cmp(&goal), Some(Ordering::Less | Ordering::Equal));
                let miss = if k == 0 && !reached { " MISS" } else { "" };
                cells.push(format!("{r:.3}{miss}"));
            }
            cells.push(row.peer.map_or("-".to_string(), |r| format!("{r:.3}")));
            rows.push(cells);
        }
        rows
    }

    fn merge_lines(&self) -> Vec<String> {
        self.merges
            .iter()
            .map(|m| {
                let secs: Vec<String> = m.shard_secs.iter().map(|s| format!("{s:.1}")).collect();
                let expected: Vec<String> = m.expected.iter().map(|s| format!("{s:.2}")).collect();
                format!(
                    "{}: {PARALLEL} duration shards at once, wall {} s (expected {} s of test time); \
                     merged: {} tests (a whole run: {}); `vigil merge` says: {}",
                    m.suite,
                    secs.join(" / "),
                    expected.join(" / "),
                    m.merged_tests,
                    m.single_tests,
                    m.summary
                )
            })
            .collect()
    }

    pub fn text(&self) -> String {
        let mut out = format!("partition balance\n{}", padded(&self.table()));
        out += &format!("\n{LEGEND}\n");
        for line in self.merge_lines().iter().chain(&self.notes) {
            out += &format!("{line}\n");
        }
        out
    }

    pub fn markdown(&self) -> String {
        let mut out = format!(
            "\n## Partition balance\n\n{}\n{LEGEND}\n\n",
            markdown_table(&self.table())
        );
        for line in self.merge_lines().iter().chain(&self.notes) {
            out += &format!("- {line}\n");
        }
        out
    }
}
