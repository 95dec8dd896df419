//! Bad input, end to end. Malformed `vigil.toml`, `[tool.vigil]` and pytest config files stop
//! a run with exit 4, naming file:line(:col) and the key, never a panic. A project whose tests
//! write garbage to the plugin's event pipe, whose ids and output hold characters XML cannot,
//! with a 100 KB id, 2000 ids of 1 KB and a file whose name is not UTF-8, runs to the end: every
//! test has its result, bad lines are notices naming the test, the terminal stays readable,
//! JUnit is valid XML, and the JSON log and history hold the same ids.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use libtest_mimic::{Failed, Trial};

use crate::support::{self, check, exited, text, TestResult};

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test(
            "bad_input::config::malformed_vigil_config_names_file_line_column_and_key",
            malformed_vigil_config,
        ),
        Trial::test(
            "bad_input::config::malformed_pytest_config_names_file_and_line_like_pytest_fails",
            malformed_pytest_config,
        ),
        Trial::test(
            "bad_input::run::a_hostile_project_keeps_every_test_and_valid_reports",
            hostile_run,
        ),
        Trial::test(
            "bad_input::run::a_non_utf8_file_name_survives_retries_and_partitions",
            non_utf8_retries_and_partitions,
        ),
    ]
}

/// A file name that is not UTF-8 (created at run time: git and editors dislike such files).
fn non_utf8(name: &[u8]) -> &OsStr {
    OsStr::from_bytes(name)
}

/// A config file, its bytes, extra flags, and what the error must say: `file:line:col:`, key.
type ConfigCase = (
    &'static str,
    &'static [u8],
    &'static [&'static str],
    &'static str,
    &'static str,
);

const CONFIGS: &[ConfigCase] = &[
    (
        "vigil.toml",
        b"jobs = 2\n[profiles.ci\ntimeout = 3\n",
        &[],
        "vigil.toml:2:13:",
        "`profiles.ci`",
    ),
    (
        "vigil.toml",
        b"jobs = \"two\"\n",
        &[],
        "vigil.toml:1:8:",
        "`jobs`",
    ),
    (
        "vigil.toml",
        b"jobs = 2\npyhton = \"py\"\n",
        &[],
        "vigil.toml:2:1:",
        "`pyhton`",
    ),
    (
        "vigil.toml",
        b"timeout = 1e300\n",
        &[],
        "vigil.toml:1:11:",
        "`timeout`",
    ),
    (
        "vigil.toml",
        b"jobs = 1\n[retry]\nbackoff = \"sideways\"\n",
        &[],
        "vigil.toml:3:11:",
        "`retry.backoff`",
    ),
    (
        "vigil.toml",
        b"[retry]\nonly_rerun = [\n  \"ok\",\n  \"(unclosed\",\n]\n",
        &[],
        "vigil.toml:4:3:",
        "`retry.only_rerun`",
    ),
    (
        "vigil.toml",
        b"[watch]\nignore = [\"ok/**\", \"a/[\"]\n",
        &[],
        "vigil.toml:2:20:",
        "`watch.ignore`",
    ),
    (
        "vigil.toml",
        b"[[diagnose.rules]]\nmessage = \"x\"\n\n[[diagnose.rules]]\nnature = \"sometimes\"\n",
        &[],
        "vigil.toml:5:10:",
        "`diagnose.rules.nature`",
    ),
    (
        "vigil.toml",
        b"[profiles.ci]\ninherit = \"nightly\"\n",
        &["--profile", "ci"],
        "vigil.toml:2:11:",
        "`profiles.ci.inherit`",
    ),
    (
        "vigil.toml",
        b"[profiles.quick]\nselect_tiers = [\"unti\"]\n",
        &[],
        "vigil.toml:2:16:",
        "`profiles.quick.select_tiers`",
    ),
    (
        "vigil.toml",
        b"junit = \"\"\n",
        &[],
        "vigil.toml:1:9:",
        "`junit`",
    ),
    (
        "vigil.toml",
        b"jobs = 1\n# caf\xe9\n",
        &[],
        "vigil.toml:2:6:",
        "not UTF-8",
    ),
    (
        "pyproject.toml",
        b"[project]\nname = \"x\"\n\n[tool.vigil]\njobs = 2\n\n[tool.vigil.retry]\ndelay = -1\n",
        &[],
        "pyproject.toml:8:9:",
        "`retry.delay`",
    ),
    (
        "pyproject.toml",
        b"[project]\nname = \"x\"\n[tool.vigil]\nwatch = { map = { \"a/[\" = \"t\" } }\n",
        &[],
        "pyproject.toml:4:17:",
        "`watch.map`",
    ),
    (
        "pyproject.toml",
        b"[tool.vigil]\njobs = [1,\n",
        &[],
        "pyproject.toml:2:11:",
        "`jobs`",
    ),
];

fn malformed_vigil_config() -> TestResult {
    let mut wrong = Vec::new();
    for (file, bytes, flags, place, key) in CONFIGS {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join(file), bytes)?;
        let mut args = vec!["run", "--no-history"];
        args.extend(*flags);
        let out = support::vigil(dir.path(), &args)?;
        let said = text(&out);
        let located = said.contains(&format!("{}/{place}", dir.path().display()));
        if out.status.code() != Some(4)
            || !located
            || !said.contains(key)
            || said.contains("panicked")
        {
            let shown = String::from_utf8_lossy(bytes);
            wrong.push(format!(
                "{file} {shown:?}: want exit 4, {place} {key}; got {:?}: {said}",
                out.status.code()
            ));
        }
    }
    check(wrong.is_empty(), || wrong.join("\n"))
}

/// Pytest config files vigil's discovery reads, and what the error must say; pytest itself
/// stops on each of them too (exit 4, or a traceback for the bytes that are not UTF-8).
const PYTEST_CONFIGS: &[(&str, &[u8], &str)] = &[
    (
        "pytest.ini",
        b"[pytest]\ngarbage\n",
        "pytest.ini:2: unexpected line",
    ),
    (
        "pytest.ini",
        b"[pytest]\ntestpaths = \"tests\n",
        "pytest.ini:2: `testpaths`: no closing quotation",
    ),
    (
        "setup.cfg",
        b"[tool:pytest]\npython_files = 'a\n",
        "setup.cfg:2: `python_files`",
    ),
    (
        "tox.ini",
        b"[pytest]\n# caf\xe9\n",
        "tox.ini:2: byte 0xe9 is not UTF-8",
    ),
    (
        "pyproject.toml",
        b"[tool.pytest.ini_options]\ntestpaths = [\"tests\"\n",
        "pyproject.toml:2:21:",
    ),
];

fn malformed_pytest_config() -> TestResult {
    let mut wrong = Vec::new();
    for (file, bytes, said) in PYTEST_CONFIGS {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir(dir.path().join("tests"))?;
        std::fs::write(
            dir.path().join("tests/test_a.py"),
            "def test_a():\n    pass\n",
        )?;
        std::fs::write(dir.path().join(file), bytes)?;
        let out = support::vigil(dir.path(), &["run", "--no-history"])?;
        let got = text(&out);
        let pytest = support::pytest(dir.path(), &["-q"])?;
        let pytest_stops = !pytest.status.success();
        if out.status.code() != Some(4)
            || !got.contains(said)
            || got.contains("panicked")
            || !pytest_stops
        {
            wrong.push(format!(
                "{file}: want exit 4 and {said:?} (pytest exit {:?}); got {:?}: {got}",
                pytest.status.code(),
                out.status.code()
            ));
        }
    }
    check(wrong.is_empty(), || wrong.join("\n"))
}

/// `fixtures/bad_input` plus `tests/test_\xff.py`, whose worker crashes once.
fn hostile_project() -> Result<tempfile::TempDir, Failed> {
    let dir = support::fixture("bad_input")?;
    let name = dir.path().join("tests").join(non_utf8(b"test_\xff.py"));
    std::fs::write(
        name,
        "import os\n\ndef test_ok():\n    pass\n\ndef test_crash():\n    os._exit(3)\n\n\
         def test_after_crash():\n    pass\n\ndef test_fails():\n    assert 0\n",
    )?;
    Ok(dir)
}

/// The ids and outcomes the run must end with, besides the 2000 passing `test_many`.
fn expected() -> BTreeMap<String, &'static str> {
    let mut want = BTreeMap::new();
    let wire = [
        "test_not_json",
        "test_wrong_shape",
        "test_unknown_event",
        "test_invalid_utf8",
        "test_no_newline",
        "test_huge_line",
        "test_forges_results",
        "test_after_the_cut",
    ];
    for name in wire {
        want.insert(format!("tests/test_wire.py::{name}"), "passed");
    }
    want.insert("tests/test_wire.py::test_cut_off".into(), "crashed");
    let bad = [
        "nul\0",
        "bell\x07",
        "vt\x0b",
        "ff\x0c",
        "esc\x1b[2J",
        "us\x1f",
        "del\x7f",
        "csi\u{9b}1m",
        "fffe\u{fffe}",
        "ffff\u{ffff}",
        "plain",
    ];
    for (i, id) in bad.iter().enumerate() {
        want.insert(format!("tests/test_xml.py::test_id[{id}]"), "passed");
        want.insert(format!("tests/test_xml.py::test_message[m{i}]"), "failed");
    }
    want.insert("tests/test_xml.py::test_skip_reason".into(), "skipped");
    want.insert("tests/test_xml.py::test_surrogate_output".into(), "passed");
    let huge = format!("tests/test_huge.py::test_huge_id[{}]", "x".repeat(100_000));
    want.insert(huge, "failed");
    let lossy = "tests/test_\u{FFFD}.py";
    want.insert(format!("{lossy}::test_ok"), "passed");
    want.insert(format!("{lossy}::test_crash"), "crashed");
    want.insert(format!("{lossy}::test_after_crash"), "passed");
    want.insert(format!("{lossy}::test_fails"), "failed");
    want
}

fn hostile_run() -> TestResult {
    let dir = hostile_project()?;
    let out = support::vigil(
        dir.path(),
        &[
            "run",
            "-v",
            "-j",
            "2",
            "--junit",
            "junit.xml",
            "--json",
            "events.jsonl",
        ],
    )?;
    exited(&out, 1)?;
    let said = text(&out);
    check(!said.contains("panicked"), || said.clone())?;
    let outcomes = logged_outcomes(&dir.path().join("events.jsonl"))?;
    check_outcomes(&outcomes)?;
    check_notices(&said)?;
    check_terminal(&String::from_utf8_lossy(&out.stdout))?;
    check_junit(&dir.path().join("junit.xml"), outcomes.len())?;
    let ids: BTreeSet<String> = outcomes.into_keys().collect();
    check_history(&dir.path().join(".vigil/history.db"), &ids)
}

/// Test id → last outcome, from the JSON event log.
fn logged_outcomes(log: &Path) -> Result<BTreeMap<String, String>, Failed> {
    let mut outcomes = BTreeMap::new();
    for line in std::fs::read_to_string(log)?.lines().skip(1) {
        let event: serde_json::Value = serde_json::from_str(line)?;
        if event["event"] == "test_finished" {
            let id = event["id"].as_str().unwrap_or_default().to_string();
            let outcome = event["outcome"].as_str().unwrap_or_default().to_string();
            outcomes.insert(id, outcome);
        }
    }
    Ok(outcomes)
}

fn check_outcomes(outcomes: &BTreeMap<String, String>) -> TestResult {
    let mut wrong: Vec<String> = expected()
        .into_iter()
        .filter(|(id, want)| outcomes.get(id).map(String::as_str) != Some(*want))
        .map(|(id, want)| format!("{:.120?}: want {want}, got {:?}", id, outcomes.get(&id)))
        .collect();
    let many = outcomes
        .iter()
        .filter(|(id, o)| id.starts_with("tests/test_huge.py::test_many[") && *o == "passed")
        .count();
    if many != 2000 {
        wrong.push(format!("{many} of 2000 test_many passed"));
    }
    let total = expected().len() + 2000;
    if outcomes.len() != total {
        wrong.push(format!("{} results, want {total}", outcomes.len()));
    }
    check(wrong.is_empty(), || wrong.join("\n"))
}

/// Each bad line is a notice naming the worker and the test that wrote it.
fn check_notices(said: &str) -> TestResult {
    let running = |test: &str| format!(" (running tests/test_wire.py::{test}): ");
    let want = [
        (
            running("test_not_json"),
            "malformed event from the pytest plugin",
        ),
        (running("test_wrong_shape"), "missing field `ev`"),
        (
            running("test_unknown_event"),
            "unknown variant `coffee_break`",
        ),
        (running("test_invalid_utf8"), "\\u{1b}[2J"),
        (running("test_no_newline"), "22 bytes that are not an event"),
        (running("test_huge_line"), "xxxxxxxx…"),
        (running("test_cut_off"), "{\"ev\": \"test_do"),
        (
            "an event for tests/test_wire.py::test_not_json was ignored".to_string(),
            "that test already has its result",
        ),
        (
            "an event for tests/test_wire.py::test_ghost was ignored".to_string(),
            "this worker collected no such test",
        ),
    ];
    let notices: Vec<&str> = said
        .lines()
        .filter(|l| l.starts_with("notice: worker "))
        .collect();
    let missing: Vec<String> = want
        .iter()
        .filter(|(test, what)| {
            !notices
                .iter()
                .any(|n| n.contains(test.as_str()) && n.contains(what))
        })
        .map(|(test, what)| format!("no notice{test}... {what}"))
        .collect();
    check(missing.is_empty(), || {
        format!("{}\nnotices:\n{}", missing.join("\n"), notices.join("\n"))
    })
}

/// Result lines print ids with control characters escaped and the 100 KB id cut short.
fn check_terminal(stdout: &str) -> TestResult {
    let results: Vec<&str> = stdout
        .lines()
        .filter(|l| {
            ["PASSED ", "FAILED ", "CRASHED ", "SKIPPED "]
                .iter()
                .any(|w| l.trim_start().starts_with(w))
        })
        .collect();
    check(results.len() >= 2037, || {
        format!("{} result lines", results.len())
    })?;
    let unreadable: Vec<&&str> = results
        .iter()
        .filter(|l| l.chars().count() > 400 || l.chars().any(|c| c.is_control()))
        .collect();
    check(unreadable.is_empty(), || format!("{:.300?}", unreadable))?;
    check(
        stdout.contains("test_id[esc\\x1b[2J]") && stdout.contains("more characters]…"),
        || "escaped and shortened ids not shown".to_string(),
    )
}

/// Valid XML with every test, names escaped as pytest escapes them, the 100 KB name whole.
fn check_junit(path: &Path, total: usize) -> TestResult {
    let cases = support::junit_cases(path).map_err(Failed::from)?;
    check(cases.len() == total, || {
        format!("{} JUnit cases, want {total}", cases.len())
    })?;
    let want = [
        ("tests.test_xml::test_id[nul#x00]", "passed"),
        ("tests.test_xml::test_id[esc#x1B[2J]", "passed"),
        ("tests.test_xml::test_id[csi#x9B1m]", "passed"),
        ("tests.test_xml::test_id[fffe#xFFFE]", "passed"),
        ("tests.test_xml::test_message[m0]", "failed"),
        ("tests.test_xml::test_skip_reason", "skipped"),
        ("tests.test_wire::test_no_newline", "passed"),
        ("tests.test_\u{FFFD}::test_after_crash", "passed"),
        ("tests.test_\u{FFFD}::test_fails", "failed"),
    ];
    for (key, outcome) in want {
        let got = cases.get(key).map(|c| c.outcome.as_str());
        check(got == Some(outcome), || {
            format!("{key}: want {outcome}, got {got:?}")
        })?;
    }
    let message = &cases["tests.test_xml::test_message[m0]"].message;
    check(message.contains("msg:nul#x00"), || {
        format!("message {message:?}")
    })?;
    let huge = cases
        .keys()
        .find(|k| k.starts_with("tests.test_huge::test_huge_id["));
    check(huge.is_some_and(|k| k.len() > 100_000), || {
        "the 100 KB id is not whole".into()
    })
}

/// History holds exactly the ids the event log has, NUL and all.
fn check_history(db: &Path, ids: &BTreeSet<String>) -> TestResult {
    let conn = rusqlite::Connection::open(db)?;
    let mut stmt = conn.prepare("SELECT name FROM tests")?;
    let names: BTreeSet<String> = stmt
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let differ: Vec<&String> = names.symmetric_difference(ids).collect();
    check(differ.is_empty(), || {
        format!("history and the log differ on {:.200?}", differ)
    })?;
    check(names.contains("tests/test_xml.py::test_id[nul\0]"), || {
        "the NUL id did not round-trip".into()
    })
}

fn non_utf8_retries_and_partitions() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("pytest.ini"), "[pytest]\n")?;
    std::fs::write(
        dir.path().join("vigil.toml"),
        "[retry]\nretries = 1\ndelay = 0\nonly_rerun = [\"first attempt\"]\n",
    )?;
    std::fs::create_dir(dir.path().join("tests"))?;
    std::fs::write(
        dir.path().join("tests/test_plain.py"),
        "def test_plain():\n    pass\n",
    )?;
    std::fs::write(
        dir.path().join("tests").join(non_utf8(b"test_\xff.py")),
        "import pathlib\n\ndef test_ok():\n    pass\n\ndef test_flaky():\n    \
         marker = pathlib.Path(__file__).with_name('attempted')\n    \
         if not marker.exists():\n        marker.touch()\n        \
         raise AssertionError('first attempt')\n",
    )?;
    let out = support::vigil(
        dir.path(),
        &["run", "--no-history", "--json", "retry.jsonl"],
    )?;
    exited(&out, 0)?;
    let retried = logged_attempts(&dir.path().join("retry.jsonl"))?;
    let flaky = "tests/test_\u{FFFD}.py::test_flaky";
    check(
        retried.get(flaky).map(Vec::as_slice) == Some(&["failed".into(), "passed".into()]),
        || {
            format!(
                "the retry by node id did not find the file: {retried:?}\n{}",
                text(&out)
            )
        },
    )?;
    let mut seen = Vec::new();
    for shard in ["hash:1/2", "hash:2/2"] {
        let log = format!("{}.jsonl", &shard[5..6]);
        let out = support::vigil(
            dir.path(),
            &["run", "--no-history", "--partition", shard, "--json", &log],
        )?;
        check(matches!(out.status.code(), Some(0 | 5)), || text(&out))?;
        seen.extend(logged_attempts(&dir.path().join(&log))?.into_keys());
    }
    seen.sort();
    let all = [
        "tests/test_plain.py::test_plain",
        "tests/test_\u{FFFD}.py::test_flaky",
        "tests/test_\u{FFFD}.py::test_ok",
    ];
    check(seen == all, || {
        format!("the shards ran {seen:?}, want each of {all:?} once")
    })
}

/// Test id → its outcomes in order of attempts, from a JSON event log.
fn logged_attempts(log: &Path) -> Result<BTreeMap<String, Vec<String>>, Failed> {
    let mut attempts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in std::fs::read_to_string(log)?.lines().skip(1) {
        let event: serde_json::Value = serde_json::from_str(line)?;
        if event["event"] == "test_finished" {
            let id = event["id"].as_str().unwrap_or_default().to_string();
            let outcome = event["outcome"].as_str().unwrap_or_default().to_string();
            attempts.entry(id).or_default().push(outcome);
        }
    }
    Ok(attempts)
}
