//! Native suites through `vigil run`: real cargo builds of the fixture crates, one process per
//! test, timeouts and crashes like Python tests, and a mixed Python + Rust project reported in
//! one JUnit file.

use libtest_mimic::{Failed, Trial};

use crate::support::{self, check, Case, TestResult};

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test(
            "native::every_outcome_with_timeout_and_crash",
            every_outcome,
        ),
        Trial::test(
            "native::include_ignored_runs_ignored_tests",
            include_ignored,
        ),
        Trial::test("native::mixed_project_one_junit_for_both", mixed),
        Trial::test("native::native_ids_select_native_tests", select_by_id),
        Trial::test(
            "native::build_failure_is_an_error_and_python_still_runs",
            build_failure,
        ),
    ]
}

/// A copy of `native_crate` with a vigil.toml that runs it (its hanging test needs a timeout).
fn native_project() -> Result<tempfile::TempDir, Failed> {
    let dir = support::fixture("native_crate")?;
    std::fs::write(dir.path().join("vigil.toml"), "[native]\n")?;
    Ok(dir)
}

fn case<'a>(
    cases: &'a std::collections::BTreeMap<String, Case>,
    key: &str,
    text: &str,
) -> Result<&'a Case, Failed> {
    cases
        .get(key)
        .ok_or_else(|| Failed::from(format!("no case {key} in {:?}\n{text}", cases.keys())))
}

fn every_outcome() -> TestResult {
    let dir = native_project()?;
    let (cases, text) = support::run_junit(dir.path(), &[], &["--timeout", "3"], 1)?;
    for binary in ["native_crate::native_crate", "native_crate::api"] {
        let prefix = if binary.ends_with("api") {
            ""
        } else {
            "tests::"
        };
        let get = |name: &str| case(&cases, &format!("{binary}::{prefix}{name}"), &text);
        for name in ["adds", "prints_and_passes", "should_panic_passes"] {
            check(get(name)?.outcome == "passed", || {
                format!("{binary} {name}: {:?}", get(name))
            })?;
        }
        let failed = get("assert_fails")?;
        check(
            failed.outcome == "failed" && failed.message.contains("left == right"),
            || format!("{binary} assert_fails: {failed:?}"),
        )?;
        let panicked = get("panics_with_message")?;
        check(panicked.outcome == "failed", || format!("{panicked:?}"))?;
        let ignored = get("ignored_with_reason")?;
        check(
            *ignored
                == Case {
                    outcome: "skipped".into(),
                    message: "needs hardware".into(),
                },
            || format!("{binary} ignored_with_reason: {ignored:?}"),
        )?;
        let aborted = get("aborts")?;
        check(
            aborted.outcome == "failed" && aborted.message.contains("SIGABRT"),
            || format!("{binary} aborts: {aborted:?}"),
        )?;
        let hung = get("hanging")?;
        check(
            hung.outcome == "failed" && hung.message.starts_with("Timeout"),
            || format!("{binary} hanging: {hung:?}"),
        )?;
    }
    let left = support::processes_in(dir.path());
    check(left.is_empty(), || format!("processes survived: {left:?}"))
}

fn include_ignored() -> TestResult {
    let dir = native_project()?;
    let (cases, text) = support::run_junit(
        dir.path(),
        &[],
        &["--include-ignored", "native:native_crate::api::ignored"],
        0,
    )?;
    let want = [
        "native_crate::api::ignored_with_reason",
        "native_crate::api::ignored_without_reason",
    ];
    check(
        cases.len() == 2
            && want
                .iter()
                .all(|k| cases.get(*k).is_some_and(|c| c.outcome == "passed")),
        || format!("{cases:?}\n{text}"),
    )
}

fn mixed() -> TestResult {
    let dir = support::fixture("mixed")?;
    let (cases, text) = support::run_junit(dir.path(), &[], &[], 1)?;
    let want = [
        ("tests.unit.test_pricing::test_total", "passed"),
        ("tests.unit.test_pricing::test_discount", "passed"),
        ("pricing::pricing::tests::rounds_to_cents", "passed"),
        ("pricing::pricing::tests::truncation_bug", "failed"),
        ("pricing::pricing::tests::charges_card", "skipped"),
        ("pricing::e2e::whole_order", "passed"),
    ];
    for (key, outcome) in want {
        let got = case(&cases, key, &text)?;
        check(got.outcome == outcome, || {
            format!("{key}: want {outcome}, got {got:?}\n{text}")
        })?;
    }
    check(cases.len() == want.len(), || {
        format!("extra cases: {cases:?}")
    })?;
    let bug = case(&cases, "pricing::pricing::tests::truncation_bug", &text)?;
    check(bug.message.contains("0.1 + 0.2 in cents"), || {
        format!("panic message: {bug:?}")
    })?;
    let xml = std::fs::read_to_string(dir.path().join("junit.xml"))?;
    check(
        xml.contains("<testsuite name=\"native:pricing::e2e\"")
            && xml.contains("<testsuite name=\"tests/unit/test_pricing.py\""),
        || format!("one suite per Python file and per native binary:\n{xml}"),
    )
}

fn select_by_id() -> TestResult {
    let dir = support::fixture("mixed")?;
    let (cases, text) = support::run_junit(dir.path(), &[], &["native:pricing::e2e"], 0)?;
    check(
        cases.keys().collect::<Vec<_>>() == ["pricing::e2e::whole_order"],
        || format!("only the e2e binary's test, got {cases:?}\n{text}"),
    )
}

fn build_failure() -> TestResult {
    let dir = support::fixture("mixed")?;
    std::fs::write(
        dir.path().join("rust/src/lib.rs"),
        "pub fn broken() -> u8 { \"no\" }\n",
    )?;
    let (cases, text) = support::run_junit(dir.path(), &[], &[], 1)?;
    let python_ran = cases
        .iter()
        .filter(|(k, c)| k.starts_with("tests.") && c.outcome == "passed")
        .count();
    let errors: Vec<&Case> = cases.values().filter(|c| c.outcome == "error").collect();
    check(python_ran == 2 && errors.len() == 1, || {
        format!("{cases:?}\n{text}")
    })?;
    check(
        text.contains("mismatched types") || text.contains("E0308"),
        || format!("the compiler's message must be shown:\n{text}"),
    )
}
