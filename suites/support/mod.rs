//! Shared helpers for vigil's own suites: the vigil binary, a Python with pytest, fixture
//! projects copied into temp dirs, and JUnit outcome maps for comparing runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use libtest_mimic::Failed;

pub mod chromium;
pub mod guarded_child;
pub mod history_db;
mod interrupt;
pub mod process_scan;
pub mod random_moments;

pub use interrupt::interrupt_run;
pub use process_scan::processes_in;

pub type TestResult = Result<(), Failed>;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn vigil_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_vigil"))
}

/// The interpreter the suites drive pytest with: `VIGIL_TEST_PYTHON`, else the repo's `.venv`.
/// Fails loudly (never skips) when it cannot import pytest.
pub fn python() -> Result<PathBuf, Failed> {
    static CHECKED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    CHECKED
        .get_or_init(|| {
            let python = std::env::var_os("VIGIL_TEST_PYTHON")
                .map(PathBuf::from)
                .unwrap_or_else(|| repo_root().join(".venv/bin/python"));
            let ok = Command::new(&python)
                .args(["-c", "import pytest"])
                .output()
                .is_ok_and(|o| o.status.success());
            if ok {
                Ok(python)
            } else {
                Err(format!(
                    "{} cannot import pytest: run `cargo xtask setup` (or use `cargo xtask test`)",
                    python.display()
                ))
            }
        })
        .clone()
        .map_err(Failed::from)
}

/// A fresh copy of `fixtures/NAME` in a temp dir (tests never write into the repo).
pub fn fixture(name: &str) -> Result<tempfile::TempDir, Failed> {
    let dir = tempfile::Builder::new()
        .prefix(&format!("vigil-{name}-"))
        .tempdir()?;
    copy_tree(&repo_root().join("fixtures").join(name), dir.path())?;
    Ok(dir)
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        // Caches and the history a `cargo xtask demo` run leaves in a fixture are not the fixture.
        if name == "__pycache__" || name == ".pytest_cache" || name == ".vigil" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Environment every child gets: no bytecode files, no colour.
fn quiet_env(cmd: &mut Command) -> &mut Command {
    cmd.env("PYTHONDONTWRITEBYTECODE", "1")
        .env("NO_COLOR", "1")
        .env_remove("VIGIL_PYTHON")
        .env_remove("PYTEST_ADDOPTS")
}

/// Runs vigil in `dir` with the suites' Python.
pub fn vigil(dir: &Path, args: &[&str]) -> Result<Output, Failed> {
    vigil_with_python(dir, &python()?, args)
}

/// Runs vigil in `dir` with another interpreter than the suites' own.
pub fn vigil_with_python(dir: &Path, python: &Path, args: &[&str]) -> Result<Output, Failed> {
    let mut cmd = Command::new(vigil_bin());
    quiet_env(&mut cmd)
        .current_dir(dir)
        .env("VIGIL_PYTHON", python)
        .args(args);
    Ok(cmd.output()?)
}

/// Runs vigil in `dir` with the suites' Python and extra environment variables.
pub fn vigil_env(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Result<Output, Failed> {
    let mut cmd = Command::new(vigil_bin());
    quiet_env(&mut cmd)
        .current_dir(dir)
        .env("VIGIL_PYTHON", python()?)
        .envs(env.iter().copied())
        .args(args);
    Ok(cmd.output()?)
}

/// One test case of a JUnit file: its outcome word and the message of its failure, error or
/// skip element (empty when it passed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub outcome: String,
    pub message: String,
}

/// Test key (`classname::name`) → outcome and message, from a JUnit file.
pub fn junit_cases(path: &Path) -> Result<BTreeMap<String, Case>, String> {
    let mut map = BTreeMap::new();
    each_case(path, |key, case| {
        let message = case
            .children()
            .find(|c| {
                ["failure", "error", "skipped"]
                    .iter()
                    .any(|t| c.has_tag_name(*t))
            })
            .and_then(|c| c.attribute("message"))
            .unwrap_or("")
            .to_string();
        let outcome = case_outcome(case).to_string();
        map.insert(key, Case { outcome, message });
    })?;
    Ok(map)
}

/// Runs `vigil run --junit` in `dir` (with `-j 2` unless `args` say otherwise, and pytest's
/// cache off), checks the exit code, and returns the JUnit cases and the combined output.
pub fn run_junit(
    dir: &Path,
    env: &[(&str, &str)],
    args: &[&str],
    code: i32,
) -> Result<(BTreeMap<String, Case>, String), Failed> {
    let xml = dir.join("junit.xml");
    let xml_arg = xml.to_string_lossy().into_owned();
    let mut full = vec!["run", "--junit", &xml_arg];
    if !args.contains(&"-j") {
        full.extend(["-j", "2"]);
    }
    full.extend(args);
    full.extend(["--", "-p", "no:cacheprovider"]);
    let out = vigil_env(dir, env, &full)?;
    let text = text(&out);
    exited(&out, code)?;
    let cases = junit_cases(&xml).map_err(|e| format!("{e}\n{text}"))?;
    Ok((cases, text))
}

/// Runs `python -m pytest` in `dir`.
pub fn pytest(dir: &Path, args: &[&str]) -> Result<Output, Failed> {
    let mut cmd = Command::new(python()?);
    quiet_env(&mut cmd)
        .current_dir(dir)
        .args(["-m", "pytest", "-p", "no:cacheprovider"])
        .args(args);
    Ok(cmd.output()?)
}

/// Calls `f` with each test case of a JUnit file and its key (`classname::name`).
fn each_case(path: &Path, mut f: impl FnMut(String, roxmltree::Node)) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc = roxmltree::Document::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    for case in doc.descendants().filter(|n| n.has_tag_name("testcase")) {
        let key = format!(
            "{}::{}",
            case.attribute("classname").unwrap_or(""),
            case.attribute("name").unwrap_or("")
        );
        f(key, case);
    }
    Ok(())
}

/// Test key (`classname::name`) → outcome word, from a JUnit file. When pytest writes one test
/// twice (a failed call plus a teardown error), the worse outcome wins.
pub fn junit_outcomes(path: &Path) -> Result<BTreeMap<String, String>, String> {
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    each_case(path, |key, case| {
        let outcome = case_outcome(case);
        if map.get(&key).is_none_or(|old| rank(outcome) > rank(old)) {
            map.insert(key, outcome.to_string());
        }
    })?;
    Ok(map)
}

fn case_outcome(case: roxmltree::Node) -> &'static str {
    let has = |tag: &str| case.children().any(|c| c.has_tag_name(tag));
    if has("failure") {
        "failed"
    } else if has("error") {
        "error"
    } else if has("skipped") {
        "skipped"
    } else {
        "passed"
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

/// Differences between two outcome maps, one line each; empty when they agree.
pub fn mismatches(
    expected: &BTreeMap<String, String>,
    actual: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (key, want) in expected {
        match actual.get(key) {
            Some(got) if got == want => {}
            Some(got) => out.push(format!("{key}: pytest {want}, vigil {got}")),
            None => out.push(format!("{key}: pytest {want}, missing from vigil")),
        }
    }
    for key in actual.keys().filter(|k| !expected.contains_key(*k)) {
        out.push(format!("{key}: only in vigil ({})", actual[key]));
    }
    out
}

/// Asserts with a message; the suites' one way to fail with context.
pub fn check(condition: bool, message: impl FnOnce() -> String) -> TestResult {
    if condition {
        Ok(())
    } else {
        Err(message().into())
    }
}

/// The command exited with `code`; otherwise the failure shows the code and the output.
pub fn exited(output: &Output, code: i32) -> TestResult {
    check(output.status.code() == Some(code), || {
        format!(
            "exit {:?}, want {code}\n{}",
            output.status.code(),
            text(output)
        )
    })
}

pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs git in `dir` with a fixed identity: its trimmed stdout, or a failure with its output.
pub fn git(dir: &Path, args: &[&str]) -> Result<String, Failed> {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=vigil",
            "-c",
            "user.email=vigil@example.invalid",
        ])
        .args(args)
        .output()?;
    check(out.status.success(), || {
        format!("git {args:?}: {}", text(&out))
    })?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `git init` (branch `main`) + one commit of everything but `.vigil/`, so runs record a clean
/// commit; returns the commit.
pub fn git_repo(dir: &Path) -> Result<String, Failed> {
    let git = |args: &[&str]| git(dir, args);
    git(&["init", "-q", "-b", "main"])?;
    std::fs::write(dir.join(".gitignore"), ".vigil/\n__pycache__/\n")?;
    git(&["add", "-A"])?;
    git(&["commit", "-q", "-m", "fixture"])?;
    git(&["rev-parse", "HEAD"])
}
