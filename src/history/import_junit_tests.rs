//! Unit tests of the JUnit import, on reports shaped like pytest's, nextest's and vigil's own.

use super::*;
use crate::redact::Redactor;

const PYTEST: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<testsuites name="pytest tests"><testsuite name="pytest" errors="1" failures="1" skipped="2" tests="6" time="0.052" timestamp="2025-03-01T10:00:00.123456+00:00" hostname="ci">
<testcase classname="tests.unit.test_x" name="test_ok" time="0.001" />
<testcase classname="tests.unit.test_x.TestA" name="test_fail[a.b-1]" time="0.250"><failure message="AssertionError: assert 1 == 2&#10; +  where 1 = f()">def test_fail(): ...</failure></testcase>
<testcase classname="tests.unit.test_x" name="test_err" time="0.000"><error message="failed on setup with &quot;ValueError: boom&quot;">setup trace</error></testcase>
<testcase classname="tests.unit.test_x" name="test_skip" time="0.000"><skipped type="pytest.skip" message="no db">tests/unit/test_x.py:10: no db</skipped></testcase>
<testcase classname="tests.unit.test_x" name="test_xfail" time="0.001"><skipped type="pytest.xfail" message="known bug" /></testcase>
<testcase classname="tests.unit.test_x" name="test_err" time="0.000"><error message="failed on teardown with &quot;OSError&quot;">teardown trace</error></testcase>
<testcase classname="tests.e2e.test_gone" name="test_far" time="1.5" />
</testsuite></testsuites>"#;

const NEXTEST: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="nextest-run" tests="3" failures="1" errors="0" uuid="45c50042-482e-477e-88a2-60cfcc3eaf95" timestamp="2024-01-09T07:50:12.664+00:00" time="0.023">
    <testsuite name="nextest-tests::basic" tests="3" disabled="0" errors="0" failures="1">
        <testcase name="test_cwd" classname="nextest-tests::basic" timestamp="2024-01-09T07:50:12.665+00:00" time="0.004">
        </testcase>
        <testcase name="test_failure_assert" classname="nextest-tests::basic" timestamp="2024-01-09T07:50:12.665+00:00" time="0.004">
            <failure type="test failure">thread &apos;test_failure_assert&apos; panicked at tests/basic.rs:19:5:
assertion `left == right` failed: this is an assertion</failure>
            <rerunFailure timestamp="2024-01-09T07:50:12.670+00:00" time="0.005" type="test failure">thread &apos;test_failure_assert&apos; panicked again
                <system-out>running 1 test</system-out>
            </rerunFailure>
        </testcase>
        <testcase name="test_flaky_mod_4" classname="nextest-tests::basic" time="0.003">
            <flakyFailure timestamp="2024-01-09T07:50:12.666+00:00" time="0.002" type="test failure">thread panicked: flaky</flakyFailure>
        </testcase>
    </testsuite>
    <testsuite name="nextest-tests" tests="1" disabled="0" errors="0" failures="1">
        <testcase name="tests::hangs" classname="nextest-tests" time="60.0"><failure type="test timeout"/></testcase>
    </testsuite>
</testsuites>"#;

const VIGIL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="vigil" tests="3" failures="1" errors="0" time="2.500">
    <testsuite name="native:pricing::e2e" tests="1" disabled="0" errors="0" failures="1" skipped="0" time="0.100">
        <testcase name="orders::whole_order" classname="pricing::e2e" time="0.100">
            <failure message="assertion failed: total == 3">panicked at tests/e2e.rs:9</failure>
        </testcase>
    </testsuite>
    <testsuite name="tests/unit/test_x.py" tests="2" disabled="0" errors="0" failures="0" skipped="0" time="0.003">
        <testcase name="test_ok" classname="tests.unit.test_x" time="0.001"/>
        <testcase name="tests.unit.test_x" classname="" time="0.002"/>
    </testsuite>
</testsuites>"#;

struct Project {
    dir: tempfile::TempDir,
    tiers: Tiers,
    redact: Redactor,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("tests/unit")).unwrap();
        std::fs::write(dir.path().join("tests/unit/test_x.py"), "").unwrap();
        Project {
            dir,
            tiers: Tiers::new(&Default::default()),
            redact: Redactor::default(),
        }
    }

    fn options(&self) -> ImportOptions<'_> {
        ImportOptions {
            project_dir: self.dir.path(),
            tiers: &self.tiers,
            git: GitInfo::default(),
            diagnoser: None,
            redact: &self.redact,
        }
    }

    fn parse(&self, xml: &str) -> RunRecord {
        parse_report(xml, Path::new("r.xml"), 42, &self.options()).unwrap()
    }
}

fn find<'a>(run: &'a RunRecord, test: &str, attempt: u32) -> &'a ResultRecord {
    run.results
        .iter()
        .find(|r| r.test == test && r.attempt == attempt)
        .unwrap_or_else(|| panic!("no {test} attempt {attempt} in {:#?}", run.results))
}

#[test]
fn pytest_report() {
    let run = Project::new().parse(PYTEST);
    assert_eq!(run.started_ms, 1_740_823_200_123);
    assert_eq!(run.duration, Duration::from_millis(52));
    assert_eq!(run.ended_ms, run.started_ms + 52);
    let ok = find(&run, "tests/unit/test_x.py::test_ok", 1);
    assert_eq!(
        (ok.outcome, ok.tier.as_deref()),
        (Outcome::Passed, Some("unit"))
    );
    let failed = find(&run, "tests/unit/test_x.py::TestA::test_fail[a.b-1]", 1);
    assert_eq!(failed.outcome, Outcome::Failed);
    assert_eq!(
        failed.message.as_deref(),
        Some("AssertionError: assert 1 == 2")
    );
    assert_eq!(failed.duration, Duration::from_millis(250));
    // Written twice (setup error, then teardown error): one result, the first kept.
    let errors: Vec<_> = run
        .results
        .iter()
        .filter(|r| r.test.ends_with("test_err"))
        .collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].outcome, Outcome::Error);
    let skip = find(&run, "tests/unit/test_x.py::test_skip", 1);
    assert_eq!(
        (skip.outcome, skip.message.as_deref()),
        (Outcome::Skipped, None)
    );
    assert_eq!(
        find(&run, "tests/unit/test_x.py::test_xfail", 1).outcome,
        Outcome::XFailed
    );
    let far = find(&run, "tests.e2e.test_gone::test_far", 1);
    assert_eq!(far.tier.as_deref(), Some("e2e"));
    assert_eq!(run.tally.total(), 7 - 1);
    assert_eq!((run.tally.get(Outcome::Failed), run.exit_code), (1, 1));
    assert_eq!(run.tiers.as_deref(), Some("e2e,unit"));
}

#[test]
fn nextest_report_with_retries() {
    let run = Project::new().parse(NEXTEST);
    assert_eq!(run.started_ms, 1_704_786_612_664);
    let cwd = find(&run, "native:nextest-tests::basic::test_cwd", 1);
    assert_eq!(
        (cwd.outcome, cwd.tier.as_deref()),
        (Outcome::Passed, Some("integration"))
    );
    // Failed, then retried and failed again: two attempts, both failed.
    let id = "native:nextest-tests::basic::test_failure_assert";
    let first = find(&run, id, 1);
    assert_eq!(first.outcome, Outcome::Failed);
    assert_eq!(
        first.message.as_deref(),
        Some("thread 'test_failure_assert' panicked at tests/basic.rs:19:5:")
    );
    let retry = find(&run, id, 2);
    assert_eq!(
        (retry.outcome, retry.duration),
        (Outcome::Failed, Duration::from_millis(5))
    );
    // Flaky: a failed attempt, then the passing one.
    let id = "native:nextest-tests::basic::test_flaky_mod_4";
    assert_eq!(find(&run, id, 1).outcome, Outcome::Failed);
    assert_eq!(find(&run, id, 2).outcome, Outcome::Passed);
    let hang = find(&run, "native:nextest-tests::nextest_tests::tests::hangs", 1);
    assert_eq!(
        (hang.outcome, hang.tier.as_deref()),
        (Outcome::TimedOut, Some("unit"))
    );
    // Tests count once, with their last attempt.
    assert_eq!(run.tally.total(), 4);
    assert_eq!(run.tally.get(Outcome::Passed), 2);
    assert_eq!(run.tally.failures(), 2);
}

#[test]
fn vigil_report_round_trips_its_ids() {
    let run = Project::new().parse(VIGIL);
    assert_eq!(
        run.started_ms, 42,
        "no timestamp: the fallback (file mtime)"
    );
    assert_eq!(run.duration, Duration::from_millis(2500));
    let native = find(&run, "native:pricing::e2e::orders::whole_order", 1);
    assert_eq!(native.outcome, Outcome::Failed);
    assert_eq!(native.tier.as_deref(), Some("e2e"));
    find(&run, "tests/unit/test_x.py::test_ok", 1);
    find(&run, "tests/unit/test_x.py", 1);
}

#[test]
fn bad_xml_names_file_line_and_column() {
    let project = Project::new();
    let broken = "<testsuites>\n  <testsuite name=\"a\">\n    <testcase name=\"x\"\n</testsuites>";
    let err = parse_report(broken, Path::new("ci/r.xml"), 0, &project.options()).unwrap_err();
    let text = err.to_string();
    assert_eq!(
        text,
        "ci/r.xml:4:1: not well-formed XML: invalid name token"
    );
    let err = parse_report("<html/>", Path::new("r.xml"), 0, &project.options()).unwrap_err();
    assert!(err.to_string().contains("root element is <html>"), "{err}");
}

#[test]
fn files_import_as_runs_and_bad_ones_write_nothing() {
    let project = Project::new();
    let good = project.dir.path().join("pytest.xml");
    let bad = project.dir.path().join("bad.xml");
    std::fs::write(&good, PYTEST).unwrap();
    std::fs::write(&bad, "<testsuites><testsuite>").unwrap();
    let mut store = Store::open(&project.dir.path().join("h.db")).unwrap();
    let options = ImportOptions {
        git: GitInfo {
            commit: Some("abc123".into()),
            branch: Some("main".into()),
            dirty: None,
        },
        ..project.options()
    };
    let imported = import_file(&mut store, &good, &options).unwrap();
    assert_eq!(imported.tests, 6);
    assert!(matches!(
        import_file(&mut store, &bad, &options),
        Err(ImportError::Xml { .. })
    ));
    assert_eq!(store.counts().unwrap(), (1, 6));
    let (source, branch, commit): (String, String, String) = store
        .conn
        .query_row("SELECT source, branch, commit_sha FROM runs", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(
        (source.as_str(), branch.as_str()),
        ("junit:pytest.xml", "main")
    );
    assert_eq!(commit, "abc123");
}

#[test]
fn imported_failures_are_diagnosed_from_their_text() {
    let project = Project::new();
    let diagnoser =
        crate::diagnose::Diagnoser::new(crate::diagnose::Rules::builtin(), project.dir.path());
    let options = ImportOptions {
        diagnoser: Some(&diagnoser),
        ..project.options()
    };
    let run = parse_report(PYTEST, Path::new("r.xml"), 42, &options).unwrap();
    let failed = find(&run, "tests/unit/test_x.py::TestA::test_fail[a.b-1]", 1);
    let diagnosis = failed.diagnosis.as_deref().expect("diagnosed");
    assert_eq!(diagnosis.category, crate::diagnose::Category::Assertion);
    assert_eq!(diagnosis.fingerprint.len(), 16);
    let ok = find(&run, "tests/unit/test_x.py::test_ok", 1);
    assert!(ok.diagnosis.is_none());
    let nextest = parse_report(NEXTEST, Path::new("n.xml"), 42, &options).unwrap();
    let timed_out = nextest
        .results
        .iter()
        .find(|r| r.outcome == Outcome::TimedOut)
        .and_then(|r| r.diagnosis.as_deref())
        .expect("the timeout is diagnosed");
    assert_eq!(timed_out.category, crate::diagnose::Category::Timeout);
}

/// Another tool's report knows nothing of vigil's secrets: the import blots them out of ids,
/// messages and the text diagnosis reads, so nothing of them reaches history.
#[test]
fn secrets_in_an_imported_report_are_redacted_before_diagnosis() {
    let project = Project::new();
    let diagnoser =
        crate::diagnose::Diagnoser::new(crate::diagnose::Rules::builtin(), project.dir.path());
    let vars = [("API_TOKEN".into(), "tok-0123456789".into())];
    let redact = Redactor::from_vars(vars, &Default::default()).unwrap();
    let options = ImportOptions {
        diagnoser: Some(&diagnoser),
        redact: &redact,
        ..project.options()
    };
    let xml = PYTEST
        .replace("a.b-1", "tok-0123456789")
        .replace("assert 1 == 2", "token tok-0123456789 refused")
        .replace("def test_fail(): ...", "E   ValueError: tok-0123456789");
    let run = parse_report(&xml, Path::new("r.xml"), 42, &options).unwrap();
    let text = format!("{run:?}");
    assert!(!text.contains("tok-0123456789"), "{text}");
    let failed = find(
        &run,
        "tests/unit/test_x.py::TestA::test_fail[[REDACTED:API_TOKEN]]",
        1,
    );
    let message = failed.message.as_deref().unwrap_or("");
    assert!(
        message.contains("token [REDACTED:API_TOKEN] refused"),
        "{message}"
    );
}
