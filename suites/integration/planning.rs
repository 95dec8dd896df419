//! Planning against real pytest runs: tiers by path and marker, tier selection, gates in the
//! `ci` profile, capabilities present and missing, test dependencies across files and workers,
//! and the usage errors for dependency cycles and unknown names. Outcomes and reasons exact.

use std::collections::BTreeMap;

use libtest_mimic::Trial;

use crate::support::{self, check, Case, TestResult};

pub fn trials() -> Vec<Trial> {
    let mut trials = vec![
        Trial::test(
            "planning::tiers::selection_runs_only_those_tiers",
            tier_selection,
        ),
        Trial::test(
            "planning::tiers::profile_from_config_selects_tiers",
            profile_selection,
        ),
        Trial::test(
            "planning::gates::ci_runs_every_tier_when_all_pass",
            gates_all_pass,
        ),
        Trial::test(
            "planning::gates::failed_integration_skips_e2e",
            gate_integration_fails,
        ),
        Trial::test(
            "planning::gates::failed_unit_skips_the_layers_above",
            gate_unit_fails,
        ),
        Trial::test(
            "planning::gates::default_profile_and_no_tier_gates_run_all",
            no_gates,
        ),
        Trial::test(
            "planning::capabilities::missing_ones_skip_before_running",
            capabilities,
        ),
        Trial::test(
            "planning::dependencies::prerequisites_first_dependents_skipped",
            dependencies,
        ),
        Trial::test(
            "planning::dependencies::cycle_is_a_usage_error",
            dependency_cycle,
        ),
        Trial::test(
            "planning::dependencies::unknown_name_is_a_usage_error",
            dependency_unknown,
        ),
        Trial::test(
            "planning::dependencies::cycle_built_at_run_time_stops_the_run",
            runtime_cycle,
        ),
        Trial::test(
            "planning::dependencies::prerequisite_in_a_file_without_markers",
            unmarked_prerequisite,
        ),
    ];
    for jobs in ["1", "2"] {
        trials.push(Trial::test(
            format!("planning::dependencies::same_outcomes_at_j{jobs}"),
            move || dependencies_at(jobs),
        ));
    }
    trials
}

fn passed() -> Case {
    Case {
        outcome: "passed".into(),
        message: String::new(),
    }
}

fn outcome(word: &str, message: &str) -> Case {
    Case {
        outcome: word.into(),
        message: message.into(),
    }
}

/// A case as expected: same outcome, and a message that starts with the expected one (JUnit
/// messages go on with pytest's assertion detail); a pass has no message.
fn matches(got: &Case, want: &Case) -> bool {
    got.outcome == want.outcome
        && got.message.starts_with(&want.message)
        && got.message.is_empty() == want.message.is_empty()
}

/// The cases a run must report, exactly (no more, no fewer).
fn expect(actual: &BTreeMap<String, Case>, expected: &[(&str, Case)], output: &str) -> TestResult {
    let expected: BTreeMap<String, Case> = expected
        .iter()
        .map(|(k, c)| (k.to_string(), c.clone()))
        .collect();
    let same = actual.len() == expected.len()
        && expected
            .iter()
            .all(|(k, want)| actual.get(k).is_some_and(|got| matches(got, want)));
    check(same, || {
        let mut diff = Vec::new();
        for (key, want) in &expected {
            match actual.get(key) {
                Some(got) if matches(got, want) => {}
                got => diff.push(format!("{key}: want {want:?}, got {got:?}")),
            }
        }
        for key in actual.keys().filter(|k| !expected.contains_key(*k)) {
            diff.push(format!("{key}: not expected, got {:?}", actual[key]));
        }
        format!("{}\n--- output ---\n{output}", diff.join("\n"))
    })
}

const UNIT: [&str; 3] = [
    "tests.unit.test_math::test_add",
    "tests.unit.test_math::test_unit_gate",
    "tests.test_marked.TestUnitClass::test_in_class",
];
const INTEGRATION: [&str; 3] = [
    "tests.integration.test_db::test_roundtrip",
    "tests.integration.test_db::test_integration_gate",
    "tests.test_marked::test_marked_integration",
];
const E2E: [&str; 4] = [
    "tests.e2e.test_flow::test_signup",
    "tests.e2e.test_flow::test_checkout",
    "tests.test_marked::test_marked_e2e",
    "tests.unit.test_override::test_marked_e2e_in_unit_dir",
];
const OTHERS: [&str; 4] = [
    "tests.performance.test_speed::test_fast_enough",
    "tests.stress.test_load::test_many",
    "tests.smoke.test_smoke::test_alive",
    "tests.test_marked::test_untiered",
];

fn all_with(overrides: &[(&str, Case)]) -> Vec<(&'static str, Case)> {
    UNIT.iter()
        .chain(&INTEGRATION)
        .chain(&E2E)
        .chain(&OTHERS)
        .map(|k| {
            let case = overrides
                .iter()
                .find(|(o, _)| o == k)
                .map_or_else(passed, |(_, c)| c.clone());
            (*k, case)
        })
        .collect()
}

fn tier_selection() -> TestResult {
    let dir = support::fixture("tiers")?;
    let (cases, out) = support::run_junit(dir.path(), &[], &["--tier", "unit,smoke"], 0)?;
    let want: Vec<(&str, Case)> = UNIT
        .iter()
        .chain(&["tests.smoke.test_smoke::test_alive"])
        .map(|k| (*k, passed()))
        .collect();
    expect(&cases, &want, &out)
}

fn profile_selection() -> TestResult {
    let dir = support::fixture("tiers")?;
    let (cases, out) = support::run_junit(dir.path(), &[], &["--profile", "quick"], 0)?;
    check(cases.len() == 4, || {
        format!("want unit + smoke (4), got {cases:?}\n{out}")
    })
}

fn gates_all_pass() -> TestResult {
    let dir = support::fixture("tiers")?;
    let (cases, out) = support::run_junit(dir.path(), &[], &["--profile", "ci"], 0)?;
    expect(&cases, &all_with(&[]), &out)
}

fn gate_integration_fails() -> TestResult {
    let dir = support::fixture("tiers")?;
    let env = [("TIERS_FAIL", "integration")];
    let (cases, out) = support::run_junit(dir.path(), &env, &["--profile", "ci"], 1)?;
    let gate = "tier gate: e2e runs only when integration passes, and integration failed";
    let mut overrides = vec![(
        "tests.integration.test_db::test_integration_gate",
        outcome(
            "failed",
            "AssertionError: assert 'integration' != 'integration'",
        ),
    )];
    overrides.extend(E2E.iter().map(|k| (*k, outcome("skipped", gate))));
    expect(&cases, &all_with(&overrides), &out)
}

fn gate_unit_fails() -> TestResult {
    let dir = support::fixture("tiers")?;
    let (cases, out) = support::run_junit(
        dir.path(),
        &[("TIERS_FAIL", "unit")],
        &["--profile", "ci"],
        1,
    )?;
    let integration = "tier gate: integration runs only when unit passes, and unit failed";
    let e2e = "tier gate: e2e runs only when integration passes, and integration was skipped because unit failed";
    let mut overrides = vec![(
        "tests.unit.test_math::test_unit_gate",
        outcome("failed", "AssertionError: assert 'unit' != 'unit'"),
    )];
    overrides.extend(
        INTEGRATION
            .iter()
            .map(|k| (*k, outcome("skipped", integration))),
    );
    overrides.extend(E2E.iter().map(|k| (*k, outcome("skipped", e2e))));
    expect(&cases, &all_with(&overrides), &out)
}

fn no_gates() -> TestResult {
    for args in [
        &["--profile", "default"][..],
        &["--profile", "ci", "--no-tier-gates"],
    ] {
        let dir = support::fixture("tiers")?;
        let (cases, out) = support::run_junit(dir.path(), &[("TIERS_FAIL", "unit")], args, 1)?;
        let failed = cases.values().filter(|c| c.outcome == "failed").count();
        let ran = cases.values().filter(|c| c.outcome == "passed").count();
        check((failed, ran) == (1, 13), || {
            format!("{args:?}: want 1 failed and 13 passed, got {cases:?}\n{out}")
        })?;
    }
    Ok(())
}

fn capabilities() -> TestResult {
    let dir = support::fixture("capabilities")?;
    let (cases, out) = support::run_junit(dir.path(), &[], &[], 0)?;
    let env = "requires env VIGIL_FIXTURE_UNSET_TOKEN (not set)";
    let fakedb = "the fake database is not running";
    let k = |name: &str| format!("tests.test_requirements::{name}");
    let want = [
        (k("test_env_present"), passed()),
        (k("test_env_missing"), outcome("skipped", env)),
        (k("test_bin_present"), passed()),
        (
            k("test_bin_missing"),
            outcome(
                "skipped",
                "requires bin definitely-not-installed-xyz (not on PATH)",
            ),
        ),
        (
            k("test_service_missing"),
            outcome(
                "skipped",
                "requires service 127.0.0.1:1 (connection refused)",
            ),
        ),
        (k("test_named_missing"), outcome("skipped", fakedb)),
        (k("test_named_marker_missing"), outcome("skipped", fakedb)),
        (k("test_named_marker_present"), passed()),
        (k("test_env_from_a_name"), passed()),
        (
            "tests.test_requirements.TestNeedsEverything::test_inherits_class_requirements".into(),
            outcome("skipped", env),
        ),
    ];
    let want: Vec<(&str, Case)> = want.iter().map(|(k, c)| (k.as_str(), c.clone())).collect();
    expect(&cases, &want, &out)
}

fn dependencies() -> TestResult {
    dependencies_at("2")
}

/// Same outcomes and reasons whatever the worker count: dependent files share a worker.
fn dependencies_at(jobs: &str) -> TestResult {
    let dir = support::fixture("dependencies")?;
    let (cases, out) = support::run_junit(dir.path(), &[], &["-j", jobs], 1)?;
    let c = |name: &str| format!("tests.test_1_consumers::{name}");
    let p = |name: &str| format!("tests.test_2_producers::{name}");
    let want = [
        (
            c("test_query"),
            outcome(
                "skipped",
                "depends on tests/test_2_producers.py::test_migrate, which failed",
            ),
        ),
        (
            c("test_report"),
            outcome("skipped", "depends on test_query, which was skipped"),
        ),
        (c("test_uses_database"), passed()),
        (c("test_independent"), passed()),
        (p("test_fill"), passed()),
        (p("test_create"), passed()),
        (
            p("test_migrate"),
            outcome("failed", "AssertionError: migration 7 fails"),
        ),
    ];
    let want: Vec<(&str, Case)> = want.iter().map(|(k, c)| (k.as_str(), c.clone())).collect();
    expect(&cases, &want, &out)
}

fn dependency_cycle() -> TestResult {
    let dir = support::fixture("dependency_cycle")?;
    let out = support::vigil(dir.path(), &["run", "--", "-p", "no:cacheprovider"])?;
    support::exited(&out, 4)?;
    let text = support::text(&out);
    check(
        text.contains("cycle")
            && text.contains("tests/test_chicken.py::test_chicken")
            && text.contains("tests/test_egg.py::test_egg")
            && !text.contains("test_free"),
        || format!("the error must name the tests in the cycle:\n{text}"),
    )
}

fn dependency_unknown() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("pytest.ini"), "[pytest]\n")?;
    std::fs::write(
        dir.path().join("test_x.py"),
        "import pytest\n\n@pytest.mark.dependency(depends=['test_nope'])\ndef test_x():\n    pass\n",
    )?;
    let out = support::vigil(dir.path(), &["run", "--", "-p", "no:cacheprovider"])?;
    support::exited(&out, 4)?;
    let text = support::text(&out);
    check(
        text.contains("test_x.py::test_x depends on \"test_nope\""),
        || format!("the error must name the test and the unknown name:\n{text}"),
    )
}

/// Names the static reader cannot see (variables) still meet the plugin's cycle check: exit 4
/// and nothing runs.
fn runtime_cycle() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("pytest.ini"), "[pytest]\n")?;
    std::fs::write(
        dir.path().join("test_dyn.py"),
        "import pytest\nA = ['test_b']\nB = ['test_a']\n\n\
         @pytest.mark.dependency(depends=A)\ndef test_a():\n    raise AssertionError('ran')\n\n\
         @pytest.mark.dependency(depends=B)\ndef test_b():\n    raise AssertionError('ran')\n",
    )?;
    let out = support::vigil(dir.path(), &["run", "--", "-p", "no:cacheprovider"])?;
    support::exited(&out, 4)?;
    let text = support::text(&out);
    check(
        text.contains("dependency cycle among: test_dyn.py::test_a, test_dyn.py::test_b")
            && text.contains("no tests ran"),
        || format!("the cycle must be named and nothing run:\n{text}"),
    )
}

/// A prerequisite needs no marker (vigil knows every test's outcome), even in a file that
/// mentions no marker at all and that the static reader would otherwise skip.
fn unmarked_prerequisite() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("pytest.ini"), "[pytest]\n")?;
    std::fs::write(
        dir.path().join("test_a_user.py"),
        "import pytest\n\n@pytest.mark.dependency(depends=['test_b_base.py::test_base'], \
         scope='session')\ndef test_user():\n    assert 1 + 1 == 2\n",
    )?;
    std::fs::write(
        dir.path().join("test_b_base.py"),
        "def test_base():\n    assert 'a' * 2 == 'aa'\n",
    )?;
    let (cases, out) = support::run_junit(dir.path(), &[], &[], 0)?;
    let want = [
        ("test_a_user::test_user", passed()),
        ("test_b_base::test_base", passed()),
    ];
    expect(&cases, &want, &out)
}
