//! Diagnosis against real failures: the labeled corpus (fixtures/failures) run under each of
//! pytest's traceback styles must reach 95 % category and nature accuracy and grouping
//! precision and recall, with fingerprints that do not change with the style; history matches
//! a fingerprint across runs and remembers a recorded fix; a project's own rule wins over the
//! built-in ones; error lines from scanned log files reach the diagnosis, from pytest workers
//! and from native test processes.

use std::collections::BTreeMap;
use std::path::Path;

use libtest_mimic::{Failed, Trial};
use serde_json::Value;

use crate::support::{self, check, exited, TestResult};

/// The figure every style must reach.
const MIN_SCORE: f64 = 0.95;

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test(
            "diagnosis::corpus::every_traceback_style_scores_95_percent_with_stable_fingerprints",
            corpus_scores,
        ),
        Trial::test(
            "diagnosis::history::second_run_matches_the_first_and_recalls_a_fix",
            history_match,
        ),
        Trial::test(
            "diagnosis::config::user_rule_wins_and_log_lines_are_attached",
            user_rule_and_logs,
        ),
        Trial::test(
            "diagnosis::config::a_bad_rule_is_a_usage_error_naming_its_line",
            bad_rule,
        ),
    ]
}

fn json(dir: &Path, args: &[&str]) -> Result<Value, Failed> {
    let out = support::vigil(dir, args)?;
    exited(&out, 0)?;
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Test id → fingerprint over the groups of `vigil diagnose --format json`.
fn fingerprints(report: &Value) -> BTreeMap<String, String> {
    let groups = report["groups"].as_array().into_iter().flatten();
    groups
        .flat_map(|g| {
            let fp = g["fingerprint"].as_str().unwrap_or_default().to_string();
            let tests = g["tests"].as_array().cloned().unwrap_or_default();
            tests.into_iter().map(move |t| {
                let id = t["test"].as_str().unwrap_or_default().to_string();
                (id, fp.clone())
            })
        })
        .collect()
}

fn corpus_scores() -> TestResult {
    let dir = support::fixture("failures")?;
    let mut baseline: Option<BTreeMap<String, String>> = None;
    for style in ["auto", "long", "short", "native"] {
        let db = format!("h-{style}.db");
        let tb = format!("--tb={style}");
        let run = support::vigil(dir.path(), &["--history", &db, "run", "-j", "2", "--", &tb])?;
        exited(&run, 1)?;
        let args = ["--history", &db, "diagnose", "--score", "labels.toml"];
        let score = json(dir.path(), &[&args[..], &["--format", "json"]].concat())?;
        for figure in [
            "category_accuracy",
            "nature_accuracy",
            "group_precision",
            "group_recall",
        ] {
            let value = score[figure].as_f64().unwrap_or(0.0);
            check(value >= MIN_SCORE, || {
                format!("--tb={style}: {figure} {value:.3} < {MIN_SCORE}\n{score:#}")
            })?;
        }
        check(score["found"] == score["cases"], || {
            format!("--tb={style}: not every labeled failure was diagnosed\n{score:#}")
        })?;
        let report = json(
            dir.path(),
            &["--history", &db, "diagnose", "--format", "json"],
        )?;
        let prints = fingerprints(&report);
        match &baseline {
            None => baseline = Some(prints),
            Some(auto) => {
                let moved: Vec<&String> = auto
                    .keys()
                    .filter(|t| auto.get(*t) != prints.get(*t))
                    .collect();
                check(moved.is_empty(), || {
                    format!("--tb={style} changed the fingerprint of {moved:?}")
                })?;
            }
        }
    }
    Ok(())
}

/// Two runs of part of the corpus: the second sees each fingerprint's first run; a fix note
/// recorded for one comes back as its first recommendation.
fn history_match() -> TestResult {
    let dir = support::fixture("failures")?;
    let files = ["tests/test_database.py", "tests/test_network.py"];
    let junit = dir.path().join("junit.xml");
    let junit_arg = junit.to_string_lossy().into_owned();
    for _ in 0..2 {
        let args = [&["run", "--junit", &junit_arg][..], &files[..]].concat();
        exited(&support::vigil(dir.path(), &args)?, 1)?;
    }
    let report = json(dir.path(), &["diagnose", "--format", "json"])?;
    let groups = report["groups"].as_array().cloned().unwrap_or_default();
    check(groups.len() >= 5, || format!("few groups: {report:#}"))?;
    for group in &groups {
        let history = &group["history"];
        check(
            history["runs"] == 2 && history["first"]["run_id"] == 1,
            || format!("each group was seen in both runs, first in run 1: {group:#}"),
        )?;
    }
    let locked = groups
        .iter()
        .find(|g| g["diagnosis"]["rule"] == "builtin:database-locked")
        .ok_or_else(|| format!("no database-locked group: {report:#}"))?;
    let fp = locked["fingerprint"].as_str().unwrap_or_default();
    let note = "give each worker its own database file";
    exited(
        &support::vigil(dir.path(), &["diagnose", "--fixed", fp, "--note", note])?,
        0,
    )?;
    let after = json(dir.path(), &["diagnose", "--format", "json"])?;
    let group = after["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|g| g["fingerprint"] == fp)
        .ok_or("the group is gone")?;
    check(
        group["recommendations"][0]["action"]
            .as_str()
            .is_some_and(|a| a.contains(note)),
        || format!("the fix note leads: {group:#}"),
    )?;
    let xml = std::fs::read_to_string(&junit)?;
    check(
        xml.contains(&format!("name=\"vigil.fingerprint\" value=\"{fp}\""))
            && xml.contains("name=\"vigil.category\" value=\"database\""),
        || "JUnit carries fingerprint and category properties".to_string(),
    )
}

fn user_rule_and_logs() -> TestResult {
    let dir = support::fixture("diagnosis")?;
    let run = support::vigil(dir.path(), &["run"])?;
    exited(&run, 1)?;
    let out = support::text(&run);
    check(
        out.contains("diagnosis: 3 groups") && out.contains("the payments sandbox is down"),
        || format!("the run summary shows the groups and the user rule's cause:\n{out}"),
    )?;
    let report = json(dir.path(), &["diagnose", "--format", "json"])?;
    let groups = report["groups"].as_array().cloned().unwrap_or_default();
    let by_rule = |rule: &str| {
        groups
            .iter()
            .find(|g| g["diagnosis"]["rule"] == rule)
            .cloned()
    };
    let sandbox = by_rule("user:payments-sandbox").ok_or_else(|| format!("{report:#}"))?;
    check(
        sandbox["diagnosis"]["category"] == "network"
            && sandbox["diagnosis"]["nature"] == "transient",
        || format!("the user rule beats the built-in server-error rule: {sandbox:#}"),
    )?;
    let declined = by_rule("builtin:assertion").ok_or_else(|| format!("{report:#}"))?;
    let app = log_lines(&declined, "logs/app.log");
    check(
        app == ["ERROR checkout: card declined: amount 25000 over the limit"],
        || format!("only the failing test's own error line is attached: {declined:#}"),
    )?;
    // The native lane watches the logs around each test process the same way.
    let native = by_rule("builtin:rust-assertion").ok_or_else(|| format!("{report:#}"))?;
    let lines = log_lines(&native, "logs/native.log");
    check(
        lines == ["ERROR settlement: batch of 50000 cents rejected"],
        || format!("the native test's error line is attached: {native:#}"),
    )
}

/// The lines a group's diagnosis attached from one log file (tests in other workers may add
/// other files' lines: windows are per worker, not per file).
fn log_lines(group: &Value, file: &str) -> Vec<String> {
    let logs = group["diagnosis"]["logs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    logs.iter()
        .filter(|l| l["file"] == file)
        .flat_map(|l| l["lines"].as_array().cloned().unwrap_or_default())
        .map(|l| l.as_str().unwrap_or_default().to_string())
        .collect()
}

fn bad_rule() -> TestResult {
    let dir = support::fixture("diagnosis")?;
    let config = "[[diagnose.rules]]\nname = \"broken\"\nmessage = \"unclosed (group\"\ncategory = \"network\"\n";
    std::fs::write(dir.path().join("vigil.toml"), config)?;
    let run = support::vigil(dir.path(), &["run"])?;
    exited(&run, 4)?;
    let out = support::text(&run);
    // The pattern's own line and column, with its dotted key.
    check(
        out.contains(
            "vigil.toml:3:11: `diagnose.rules.message`: \"unclosed (group\" is not a valid regex",
        ),
        || format!("the error names the file, line and rule:\n{out}"),
    )
}
