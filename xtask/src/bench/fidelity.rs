//! Fidelity: per-test outcomes from each tool's JUnit XML must equal plain pytest's.

use super::tools::{Runner, Tool};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::Path;
use std::process::Stdio;

/// Test key (`classname::name`) to outcome.
pub type Outcomes = BTreeMap<String, &'static str>;

/// Mismatch count against pytest, and how many testcases pytest reported.
#[derive(Clone, Copy, Debug)]
pub struct Count {
    pub mismatches: usize,
    pub total: usize,
}

pub struct Fidelity {
    pub counts: BTreeMap<Tool, Count>,
    pub notes: Vec<String>,
}

#[derive(Debug, PartialEq)]
pub struct Mismatch {
    pub key: String,
    pub expected: Option<&'static str>,
    pub actual: Option<&'static str>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let show = |o: Option<&str>| o.unwrap_or("missing").to_string();
        write!(
            f,
            "{}: pytest {}, got {}",
            self.key,
            show(self.expected),
            show(self.actual)
        )
    }
}

/// Runs each tool once with a JUnit report and compares it with plain pytest's.
/// pytest-xdist is compared too, as a reference for how stable the suite itself is.
pub fn check(runner: &Runner, work: &Path) -> Fidelity {
    let mut fid = Fidelity {
        counts: BTreeMap::new(),
        notes: Vec::new(),
    };
    let expected = match junit_outcomes(runner, Tool::Pytest, work) {
        Ok(outcomes) => outcomes,
        Err(err) => {
            fid.notes.push(format!(
                "fidelity not checked, pytest's report failed: {err:#}"
            ));
            return fid;
        }
    };
    for tool in runner.tools().into_iter().filter(|&t| t != Tool::Pytest) {
        match junit_outcomes(runner, tool, work) {
            Ok(actual) => record(&mut fid, tool, &expected, &actual),
            Err(err) => fid
                .notes
                .push(format!("{} fidelity not checked: {err:#}", tool.label())),
        }
    }
    fid
}

fn record(fid: &mut Fidelity, tool: Tool, expected: &Outcomes, actual: &Outcomes) {
    let mismatches = compare(expected, actual);
    let name = tool.label();
    println!(
        "fidelity {name}: {} mismatches over {} pytest testcases",
        mismatches.len(),
        expected.len()
    );
    for m in mismatches.iter().take(5) {
        println!("  {m}");
        fid.notes.push(format!("{name} mismatch: {m}"));
    }
    fid.counts.insert(
        tool,
        Count {
            mismatches: mismatches.len(),
            total: expected.len(),
        },
    );
}

/// Runs `tool` with a JUnit report into `work/<slug>.xml` and parses it.
fn junit_outcomes(runner: &Runner, tool: Tool, work: &Path) -> Result<Outcomes> {
    let xml = work.join(format!("{}.xml", tool.slug()));
    let _ = fs::remove_file(&xml); // never compare against a stale report
    let mut cmd = runner
        .command(tool, Some(&xml))
        .context("tool not available")?;
    let status = cmd.stdout(Stdio::null()).stderr(Stdio::null()).status()?;
    if !matches!(status.code(), Some(0 | 1)) {
        bail!("`{}` exited with {status}", crate::cmd::show(&cmd));
    }
    read_junit(&xml)
}

pub fn read_junit(path: &Path) -> Result<Outcomes> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse_junit(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Every `<testcase>` anywhere in the document. A key seen twice (pytest can report a
/// teardown error as a second testcase) keeps its worst outcome.
pub fn parse_junit(xml: &str) -> Result<Outcomes> {
    let doc = roxmltree::Document::parse(xml)?;
    let mut outcomes = Outcomes::new();
    for case in doc.descendants().filter(|n| n.has_tag_name("testcase")) {
        let key = format!(
            "{}::{}",
            case.attribute("classname").unwrap_or(""),
            case.attribute("name").unwrap_or("")
        );
        let outcome = outcome(case);
        let slot = outcomes.entry(key).or_insert(outcome);
        if rank(outcome) > rank(slot) {
            *slot = outcome;
        }
    }
    Ok(outcomes)
}

fn outcome(case: roxmltree::Node) -> &'static str {
    let has = |tag: &str| case.children().any(|c| c.has_tag_name(tag));
    match () {
        _ if has("failure") => "failed",
        _ if has("error") => "error",
        _ if has("skipped") => "skipped",
        _ => "passed",
    }
}

fn rank(outcome: &str) -> u8 {
    match outcome {
        "failed" => 3,
        "error" => 2,
        "skipped" => 1,
        _ => 0,
    }
}

/// Keys missing on either side, or present on both with different outcomes.
pub fn compare(expected: &Outcomes, actual: &Outcomes) -> Vec<Mismatch> {
    let mut keys: Vec<&String> = expected.keys().chain(actual.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|key| Mismatch {
            key: key.clone(),
            expected: expected.get(key).copied(),
            actual: actual.get(key).copied(),
        })
        .filter(|m| m.expected != m.actual)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PYTEST: &str = r#"<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
        <testcase classname="tests.test_a" name="test_ok" time="0.001" />
        <testcase classname="tests.test_a" name="test_bad"><failure message="assert 0">x</failure></testcase>
        <testcase classname="tests.test_a.TestC" name="test_p[1]"><skipped type="pytest.skip" message="no" /></testcase>
        <testcase classname="tests.test_a" name="test_td"><error message="teardown">y</error></testcase>
        <testcase classname="tests.test_a" name="test_td"><failure message="call">z</failure></testcase>
    </testsuite></testsuites>"#;

    #[test]
    fn maps_children_to_outcomes() {
        let o = parse_junit(PYTEST).unwrap();
        assert_eq!(o["tests.test_a::test_ok"], "passed");
        assert_eq!(o["tests.test_a::test_bad"], "failed");
        assert_eq!(o["tests.test_a.TestC::test_p[1]"], "skipped");
        assert_eq!(
            o["tests.test_a::test_td"], "failed",
            "duplicate key keeps the worst"
        );
        assert_eq!(o.len(), 4);
    }

    #[test]
    fn counts_missing_and_different() {
        let expected = parse_junit(PYTEST).unwrap();
        let mut actual = expected.clone();
        assert!(compare(&expected, &actual).is_empty());
        actual.remove("tests.test_a::test_ok");
        actual.insert("tests.test_a::test_bad".into(), "passed");
        actual.insert("tests.test_a::extra".into(), "passed");
        let m = compare(&expected, &actual);
        assert_eq!(m.len(), 3);
        assert_eq!(
            m[0].to_string(),
            "tests.test_a::extra: pytest missing, got passed"
        );
    }
}
