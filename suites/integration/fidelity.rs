//! Fidelity: for every fixture project, vigil's per-test outcomes (and exit code) equal those of
//! `python -m pytest --junitxml` run on the same project, at -j1 and -j2.

use std::collections::BTreeMap;
use std::path::Path;

use libtest_mimic::Trial;

use crate::support::{self, check, TestResult};

/// Fixtures pytest can run to the end by itself.
const WHOLE: [&str; 11] = [
    "passing",
    "failing",
    "setup_teardown",
    "skip_xfail",
    "parametrize_ids",
    "syntax_error",
    "class_based",
    "conftest_nested",
    "markers",
    "big_output",
    "example",
];

pub fn trials() -> Vec<Trial> {
    let mut trials = Vec::new();
    for fixture in WHOLE {
        for jobs in ["1", "2"] {
            trials.push(Trial::test(
                format!("fidelity::{fixture}::j{jobs}"),
                move || same_as_pytest(fixture, jobs, &[]),
            ));
        }
    }
    let selections: [(&str, &[&str]); 3] = [
        ("m_slow", &["-m", "slow"]),
        ("m_not_slow", &["-m", "not slow"]),
        ("k_db", &["-k", "db and not postgres"]),
    ];
    for (name, args) in selections {
        trials.push(Trial::test(
            format!("fidelity::markers::{name}"),
            move || same_as_pytest("markers", "2", args),
        ));
    }
    trials.push(Trial::test(
        "fidelity::crashing::others_match_and_crashers_reported",
        crashing,
    ));
    trials.push(Trial::test(
        "fidelity::hanging::timeout_kills_only_the_hung_test",
        hanging,
    ));
    trials
}

/// Runs pytest and vigil with the same selection arguments and compares outcome maps.
fn same_as_pytest(fixture: &str, jobs: &str, selection: &[&str]) -> TestResult {
    let dir = support::fixture(fixture)?;
    let (expected, pytest_code) = pytest_outcomes(dir.path(), selection)?;
    let (actual, vigil_code, output) = vigil_outcomes(dir.path(), jobs, selection, &[])?;
    check(!expected.is_empty(), || {
        format!("pytest reported no tests for {fixture}: the comparison would be empty")
    })?;
    let diff = support::mismatches(&expected, &actual);
    check(diff.is_empty(), || {
        format!(
            "{} mismatches:\n{}\n--- vigil output ---\n{output}",
            diff.len(),
            diff.join("\n")
        )
    })?;
    check(pytest_code == vigil_code, || {
        format!("exit codes differ: pytest {pytest_code:?}, vigil {vigil_code:?}\n{output}")
    })
}

fn pytest_outcomes(
    dir: &Path,
    extra: &[&str],
) -> Result<(BTreeMap<String, String>, Option<i32>), libtest_mimic::Failed> {
    let xml = dir.join("pytest-junit.xml");
    let junit = format!("--junitxml={}", xml.display());
    let mut args = vec!["--continue-on-collection-errors", junit.as_str()];
    args.extend_from_slice(extra);
    let output = support::pytest(dir, &args)?;
    Ok((support::junit_outcomes(&xml)?, output.status.code()))
}

type VigilRun = (BTreeMap<String, String>, Option<i32>, String);

fn vigil_outcomes(
    dir: &Path,
    jobs: &str,
    selection: &[&str],
    extra: &[&str],
) -> Result<VigilRun, libtest_mimic::Failed> {
    let xml = dir.join("vigil-junit.xml");
    let xml_arg = xml.display().to_string();
    let mut args = vec!["run", "-j", jobs, "--junit", xml_arg.as_str()];
    args.extend_from_slice(extra);
    args.extend_from_slice(selection);
    args.extend(["--", "-p", "no:cacheprovider"]);
    let output = support::vigil(dir, &args)?;
    let text = support::text(&output);
    let outcomes =
        support::junit_outcomes(&xml).map_err(|e| format!("{e}\n--- vigil output ---\n{text}"))?;
    Ok((outcomes, output.status.code(), text))
}

/// pytest dies with the crashing tests, so it runs without them; vigil runs everything, reports
/// each crasher as failed with the signal or exit code, and still runs the tests after them.
fn crashing() -> TestResult {
    let dir = support::fixture("crashing")?;
    let crashers = [
        "tests/test_crash.py::test_abort",
        "tests/test_exit.py::test_exit",
        "tests/test_segfault.py::test_segfault",
    ];
    let deselect: Vec<String> = crashers.iter().map(|c| format!("--deselect={c}")).collect();
    let deselect: Vec<&str> = deselect.iter().map(String::as_str).collect();
    let (expected, _) = pytest_outcomes(dir.path(), &deselect)?;
    for jobs in ["1", "2"] {
        let (mut actual, code, output) = vigil_outcomes(dir.path(), jobs, &[], &[])?;
        for crasher in crashers {
            let (file, name) = crasher.split_once("::").expect("node id");
            let key = format!("{}::{name}", file.trim_end_matches(".py").replace('/', "."));
            let got = actual.remove(&key);
            check(got.as_deref() == Some("failed"), || {
                format!("{crasher}: expected failed (crashed), got {got:?}\n{output}")
            })?;
        }
        check(
            output.contains("SIGABRT")
                && output.contains("SIGSEGV")
                && output.contains("exited with code 3"),
            || format!("crash causes missing from the output:\n{output}"),
        )?;
        let diff = support::mismatches(&expected, &actual);
        check(diff.is_empty(), || {
            format!("-j{jobs}: {}\n{output}", diff.join("\n"))
        })?;
        check(code == Some(1), || {
            format!("-j{jobs}: exit code {code:?}, want 1")
        })?;
    }
    Ok(())
}

fn hanging() -> TestResult {
    let dir = support::fixture("hanging")?;
    let (expected, _) = pytest_outcomes(dir.path(), &["--deselect=tests/test_hang.py::test_hang"])?;
    let (mut actual, code, output) = vigil_outcomes(dir.path(), "2", &[], &["--timeout", "2"])?;
    let hung = actual.remove("tests.test_hang::test_hang");
    check(hung.as_deref() == Some("failed"), || {
        format!("test_hang: {hung:?}\n{output}")
    })?;
    check(
        output.contains("TIMEOUT tests/test_hang.py::test_hang"),
        || format!("no TIMEOUT line:\n{output}"),
    )?;
    let diff = support::mismatches(&expected, &actual);
    check(diff.is_empty(), || format!("{}\n{output}", diff.join("\n")))?;
    check(code == Some(1), || format!("exit code {code:?}, want 1"))
}
