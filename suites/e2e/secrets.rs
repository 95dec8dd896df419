//! Secrets stay out of every artefact: a project whose tests print, log, assert, raise,
//! parametrize, skip, crash and fail to collect with the values of secret-looking variables
//! runs under GitHub Actions with every output on (JUnit, event log, history, step summary,
//! annotations), then its history is imported into, exported, reported as HTML and as
//! metrics, and a log with the secrets planted back is merged. Every file vigil wrote and
//! every line it printed is searched, as bytes: no secret, a marker where each one was, and
//! the values that are not secret still there.

use std::path::{Path, PathBuf};
use std::process::Output;

use libtest_mimic::{Failed, Trial};

use crate::support::{self, check, exited, TestResult};

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test(
            "secrets::no_artefact_holds_a_secret",
            no_artefact_holds_a_secret,
        ),
        Trial::test(
            "secrets::list_and_plan_errors_are_redacted",
            list_and_plan_errors,
        ),
    ]
}

/// Redacted: the built-in patterns and `[redact] env`'s `SHOP_*`.
const SECRETS: [(&str, &str); 4] = [
    ("API_TOKEN", "apitok-Q7x9Z2m4K8"),
    ("DB_PASSWORD", "dbpw-hunter2-Zx81"),
    ("AWS_SECRET_ACCESS_KEY", "awssk-wJalrXUtnFEMI-K7MDENG"),
    ("SHOP_DSN", "postgres://shop:dsnpw-Rk29@db/shop"),
];
/// Kept: a name no pattern matches, and one `[redact] exempt` lets through.
const PUBLIC: [(&str, &str); 2] = [
    ("PUBLIC_LABEL", "public-Vq3Lm8Ns"),
    ("PUBLIC_KEY_ID", "pkid-Jr83Hs0Q"),
];
/// Secret-looking but too short to redact: named in one warning, never shown.
const SHORT: (&str, &str) = ("PIN_TOKEN", "p1n9x");

const CONFIG: &str = r#"[redact]
env = ["shop_*"]
exempt = ["PUBLIC_KEY_*"]
"#;

/// pytest-rerunfailures' marker, declared so pytest does not warn about it.
const CONFTEST: &str = r#"def pytest_configure(config):
    config.addinivalue_line("markers", "flaky(reruns): retried by vigil")
"#;

const LEAKS: &str = r#"import logging, os, sys
from pathlib import Path

import pytest

TOKEN = os.environ["API_TOKEN"]
PASSWORD = os.environ["DB_PASSWORD"]
AWS = os.environ["AWS_SECRET_ACCESS_KEY"]
DSN = os.environ["SHOP_DSN"]
PUBLIC = os.environ["PUBLIC_LABEL"]
KEY_ID = os.environ["PUBLIC_KEY_ID"]


def test_prints_logs_and_asserts():
    print(f"stdout token={TOKEN} public={PUBLIC} key_id={KEY_ID}")
    print(f"stderr password={PASSWORD}", file=sys.stderr)
    logging.getLogger("shop").warning("connecting to %s", DSN)
    assert TOKEN == "expected", f"bad token {TOKEN} next to {PUBLIC}"


def test_raises():
    raise RuntimeError(f"aws secret {AWS} rejected by {DSN}")


@pytest.mark.parametrize("value", [TOKEN], ids=[TOKEN])
def test_secret_id(value):
    assert value == PASSWORD


@pytest.mark.flaky(reruns=1)
@pytest.mark.parametrize("value", [AWS], ids=[AWS])
def test_secret_id_passes_on_retry(value):
    # A retry finds the test by its real id, whatever the reports call it.
    marker = Path(__file__).with_name(".attempted")
    if not marker.exists():
        marker.write_text("1")
        assert False, f"first attempt with {value}"


@pytest.mark.skip(reason=f"skipped for {PASSWORD}")
def test_skipped():
    pass


@pytest.mark.xfail(reason=f"xfail for {TOKEN}")
def test_xfails():
    assert False
"#;

/// Output outside pytest's capture lands in the worker's log: faulthandler's report of the
/// abort, or the log's last lines when a worker just exits, is what the crash result quotes.
const CRASH: &str = r#"import os

def test_aborts(capfd):
    with capfd.disabled():
        print(f"about to abort with {os.environ['AWS_SECRET_ACCESS_KEY']}", flush=True)
    os.abort()

def test_exits(capfd):
    with capfd.disabled():
        print(f"exiting with {os.environ['SHOP_DSN']}", flush=True)
    os._exit(70)
"#;

const BROKEN: &str = r#"import os

raise ImportError(f"no settings for {os.environ['DB_PASSWORD']}")
"#;

/// The project in a git repository on a branch whose name holds a secret (history keeps it).
fn project() -> Result<tempfile::TempDir, Failed> {
    let dir = tempfile::Builder::new()
        .prefix("vigil-secrets-")
        .tempdir()?;
    let root = dir.path();
    std::fs::create_dir_all(root.join("tests"))?;
    std::fs::write(root.join("vigil.toml"), CONFIG)?;
    std::fs::write(root.join("tests/conftest.py"), CONFTEST)?;
    std::fs::write(root.join("tests/test_leaks.py"), LEAKS)?;
    std::fs::write(root.join("tests/test_crash.py"), CRASH)?;
    std::fs::write(root.join("tests/test_broken.py"), BROKEN)?;
    support::git_repo(root)?;
    support::git(
        root,
        &["checkout", "-q", "-b", &format!("release-{}", SECRETS[0].1)],
    )?;
    Ok(dir)
}

/// Every variable the tests read, the too-short one, and GitHub Actions' own.
fn env(root: &Path) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = SECRETS
        .iter()
        .chain(&PUBLIC)
        .chain([&SHORT])
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    let summary = root.join("step-summary.md").display().to_string();
    env.push(("GITHUB_ACTIONS".into(), "true".into()));
    env.push(("GITHUB_STEP_SUMMARY".into(), summary));
    env.push(("GITHUB_WORKSPACE".into(), root.display().to_string()));
    env
}

/// What one command printed, to be searched with the files.
struct Printed {
    what: String,
    output: Output,
}

/// Runs vigil in `root` with [`env`]; `what` names it among the artefacts.
fn run(root: &Path, what: &str, args: &[&str]) -> Result<Printed, Failed> {
    let env = env(root);
    let env: Vec<(&str, &str)> = env.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    Ok(Printed {
        what: what.to_string(),
        output: support::vigil_env(root, &env, args)?,
    })
}

fn no_artefact_holds_a_secret() -> TestResult {
    let dir = project()?;
    let root = dir.path();
    let mut printed = Vec::new();
    let deselect = format!("--deselect=tests/test_leaks.py::nothing_{}", SECRETS[1].1);
    let first = run(
        root,
        "vigil run",
        &[
            "run",
            "-j",
            "2",
            "--junit",
            "out/junit.xml",
            "--json",
            "out/events.jsonl",
            "--",
            "-p",
            "no:cacheprovider",
            &deselect,
        ],
    )?;
    exited(&first.output, 1)?;
    check_run(root, &first)?;
    printed.push(first);
    // What a run would do prints ids, and two of them are secrets' values.
    for args in [vec!["list"], vec!["plan"], vec!["plan", "--format", "json"]] {
        let done = run(root, &format!("vigil {}", args.join(" ")), &args)?;
        printed.push(done);
    }
    let pytest_junit = pytest_junit(root)?;
    // The report and metrics are of the run (the latest run, before the import adds one).
    for args in [
        vec!["report", "--html", "out/report.html"],
        vec!["metrics", "--output", "out/metrics.prom"],
        vec!["history", "import", pytest_junit.as_str()],
        vec!["history", "export", "--output", "out/export.jsonl"],
    ] {
        let done = run(root, &format!("vigil {} {}", args[0], args[1]), &args)?;
        exited(&done.output, 0)?;
        printed.push(done);
    }
    let planted = plant(root)?;
    let merged = run(
        root,
        "vigil merge",
        &[
            "--history",
            "out/merged.db",
            "merge",
            &planted,
            "--junit",
            "out/merged.xml",
        ],
    )?;
    exited(&merged.output, 1)?;
    printed.push(merged);
    check_artefacts(root, &printed)
}

/// A conftest that fails to import with a secret in its message: `list` and `plan` stop
/// with pytest's own output as their error, and that is redacted as a run's would be.
fn list_and_plan_errors() -> TestResult {
    let dir = tempfile::tempdir()?;
    let root = dir.path();
    std::fs::write(root.join("pytest.ini"), "[pytest]\n")?;
    std::fs::create_dir(root.join("tests"))?;
    std::fs::write(
        root.join("tests/conftest.py"),
        "import os\nraise ImportError('bad ' + os.environ['API_TOKEN'])\n",
    )?;
    std::fs::write(root.join("tests/test_a.py"), "def test_a():\n    pass\n")?;
    let (name, value) = SECRETS[0];
    for args in [&["list"][..], &["plan"]] {
        let out = support::vigil_env(root, &[(name, value)], args)?;
        exited(&out, 4)?;
        let text = support::text(&out);
        check(
            !text.contains(value) && text.contains("ImportError: bad [REDACTED:API_TOKEN]"),
            || format!("vigil {args:?} with a broken conftest:\n{text}"),
        )?;
    }
    Ok(())
}

/// The run itself: the warning about the short value (once, by name), the retried test found
/// by its real id, and every kind of result there.
fn check_run(root: &Path, run: &Printed) -> TestResult {
    let stderr = String::from_utf8_lossy(&run.output.stderr);
    let warnings = stderr.matches("not redacting PIN_TOKEN").count();
    check(warnings == 1, || {
        format!("want one warning naming PIN_TOKEN, got {warnings}:\n{stderr}")
    })?;
    let junit = support::junit_cases(&root.join("out/junit.xml"))?;
    let outcome = |key: &str| junit.get(key).map(|c| c.outcome.as_str());
    let retried =
        "tests.test_leaks::test_secret_id_passes_on_retry[[REDACTED:AWS_SECRET_ACCESS_KEY]]";
    check(outcome(retried) == Some("passed"), || {
        format!("the secret-id test did not pass on its retry: {junit:#?}")
    })?;
    let all = format!("{junit:?}");
    for wanted in [
        "test_aborts",
        "test_exits",
        "test_broken",
        "test_skipped",
        "test_xfails",
    ] {
        check(all.contains(wanted), || {
            format!("{wanted} is missing: {all}")
        })?;
    }
    Ok(())
}

/// Plain pytest's own JUnit (secrets and all, as another tool writes it), for
/// `vigil history import`; the crashing file stays out of it (it would end pytest).
fn pytest_junit(root: &Path) -> Result<String, Failed> {
    let path = root.join("foreign/pytest-junit.xml");
    let mut cmd = std::process::Command::new(support::python()?);
    cmd.current_dir(root)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .envs(env(root))
        .args([
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "tests/test_leaks.py",
        ])
        .arg(format!("--junitxml={}", path.display()));
    let out = cmd.output()?;
    let xml =
        std::fs::read_to_string(&path).map_err(|e| format!("{e}\n{}", support::text(&out)))?;
    check(xml.contains(SECRETS[0].1), || {
        format!("pytest's JUnit holds no secret to redact:\n{xml}")
    })?;
    Ok(path.display().to_string())
}

/// The run's event log with the secrets put back where the markers are: a shard's log from
/// a vigil that did not redact, for `vigil merge`.
fn plant(root: &Path) -> Result<String, Failed> {
    let mut log = std::fs::read_to_string(root.join("out/events.jsonl"))?;
    for (name, value) in SECRETS {
        log = log.replace(&format!("[REDACTED:{name}]"), value);
    }
    check(log.contains(SECRETS[2].1), || "nothing planted".into())?;
    let path = root.join("foreign/planted.jsonl");
    std::fs::write(&path, log)?;
    Ok(path.display().to_string())
}

/// Every file under the project but its sources, git's own files and the foreign inputs,
/// and everything printed: no secret; each secret's marker where the artefact shows
/// failures; the values that are not secret where output is kept.
fn check_artefacts(root: &Path, printed: &[Printed]) -> TestResult {
    let mut found: Vec<(String, Vec<u8>)> = Vec::new();
    for p in printed {
        found.push((format!("{}: stdout", p.what), p.output.stdout.clone()));
        found.push((format!("{}: stderr", p.what), p.output.stderr.clone()));
    }
    for path in files(root)? {
        found.push((path.display().to_string(), std::fs::read(&path)?));
    }
    let mut leaks = Vec::new();
    for (what, bytes) in &found {
        for (name, value) in SECRETS {
            if contains(bytes, value.as_bytes()) {
                leaks.push(format!("{what}: {name}'s value"));
            }
        }
        if contains(bytes, SHORT.1.as_bytes()) && what.contains("stderr") {
            leaks.push(format!("{what}: the short value"));
        }
    }
    check(leaks.is_empty(), || {
        format!("secrets leaked:\n{}", leaks.join("\n"))
    })?;
    let all: Vec<&str> = SECRETS.iter().map(|(n, _)| *n).collect();
    let label = [PUBLIC[0].1];
    let both = [PUBLIC[0].1, PUBLIC[1].1];
    // The parametrize ids `list` and `plan` print.
    let ids: &[&str] = &["API_TOKEN", "AWS_SECRET_ACCESS_KEY"];
    // Where each secret was shown, its marker is; what is not secret is still there.
    let expected: [(&str, &[&str], &[&str]); 11] = [
        ("vigil run: stdout", &all, &label),
        ("vigil list: stdout", ids, &[]),
        ("vigil plan: stdout", ids, &[]),
        ("vigil plan --format json: stdout", ids, &[]),
        ("out/junit.xml", &all, &both),
        ("out/events.jsonl", &all, &both),
        ("out/export.jsonl", &all, &label),
        ("out/report.html", &all, &label),
        ("out/merged.xml", &all, &both),
        ("out/metrics.prom", &["API_TOKEN"], &[]),
        (".vigil/history.db", &all, &label),
    ];
    for (what, markers, kept) in expected {
        let bytes = artefact(&found, what)?;
        for name in markers {
            let marker = format!("[REDACTED:{name}]");
            check(contains(bytes, marker.as_bytes()), || {
                format!(
                    "{what} has no {marker}:\n{}",
                    String::from_utf8_lossy(bytes)
                )
            })?;
        }
        for value in kept {
            check(contains(bytes, value.as_bytes()), || {
                format!("{what} lost {value}, which is not secret")
            })?;
        }
    }
    // The crash reports quote the worker's own output, and the log section the log record.
    let events = artefact(&found, "out/events.jsonl")?;
    for quoted in [
        "exiting with [REDACTED:SHOP_DSN]",
        "connecting to [REDACTED:SHOP_DSN]",
    ] {
        check(contains(events, quoted.as_bytes()), || {
            format!("the event log does not quote {quoted:?}")
        })?;
    }
    // Markdown escapes the marker's brackets and underscores.
    let summary = artefact(&found, "step-summary.md")?;
    for name in all {
        let marker = format!("\\[REDACTED:{}\\]", name.replace('_', "\\_"));
        check(contains(summary, marker.as_bytes()), || {
            format!("the step summary has no {marker}")
        })?;
    }
    Ok(())
}

/// The bytes of the artefact whose label (a command's stream, a file's path) ends with `what`.
fn artefact<'a>(found: &'a [(String, Vec<u8>)], what: &str) -> Result<&'a [u8], Failed> {
    found
        .iter()
        .find(|(label, _)| label.ends_with(what))
        .map(|(_, bytes)| bytes.as_slice())
        .ok_or_else(|| {
            let labels: Vec<&str> = found.iter().map(|(l, _)| l.as_str()).collect();
            format!("no {what} among {labels:#?}").into()
        })
}

/// Every file below `root` but git's, the test sources and the foreign inputs.
fn files(root: &Path) -> Result<Vec<PathBuf>, Failed> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if [".git", "foreign"].contains(&name) || name.ends_with(".py") {
                continue;
            }
            if path.is_dir() {
                dirs.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
