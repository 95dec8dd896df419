//! The native executor against real processes: the fixture crate's tests run and judged.

use std::os::unix::process::ExitStatusExt;
use std::sync::mpsc;

use super::*;
use crate::discover::native::tests::fixture;

/// Runs one fixture test to its end and reads its result.
fn run(binary: &str, name: &str, include_ignored: bool, cap: usize) -> TestResult {
    run_with_log(binary, name, include_ignored, cap).0
}

/// Also returns the whole log, for checks on capping.
fn run_with_log(
    binary: &str,
    name: &str,
    include_ignored: bool,
    cap: usize,
) -> (TestResult, String) {
    let test = fixture().test(binary, name);
    let scratch = tempfile::tempdir().unwrap();
    let (tx, rx) = mpsc::channel();
    let process = spawn(test, include_ignored, scratch.path(), move |status| {
        tx.send(status).unwrap();
    })
    .unwrap();
    let status = rx.recv().unwrap();
    let r = result(
        test,
        &status,
        &process.log,
        Duration::from_millis(7),
        2,
        cap,
    );
    (r, std::fs::read_to_string(&process.log).unwrap())
}

/// The 1-based line of the first line of the fixture's `file` containing `needle`.
fn line_of(file: &str, needle: &str) -> u32 {
    let source = std::fs::read_to_string(fixture().root.join(file)).unwrap();
    let index = source.lines().position(|l| l.contains(needle)).unwrap();
    u32::try_from(index + 1).unwrap()
}

fn output(result: &TestResult) -> &str {
    assert_eq!(result.sections.len(), 1);
    assert_eq!(result.sections[0].0, "Captured stdout call");
    &result.sections[0].1
}

#[test]
fn a_passing_test_passes_with_its_output_captured() {
    let r = run("native_crate", "tests::prints_and_passes", false, 1 << 20);
    assert_eq!(
        r.id,
        "native:native_crate::native_crate::tests::prints_and_passes"
    );
    assert_eq!((r.outcome, r.worker), (Outcome::Passed, 2));
    assert_eq!(r.duration, Duration::from_millis(7));
    assert!(r.problems.is_empty() && r.skip.is_none());
    let out = output(&r);
    assert!(
        out.contains("hello from stdout\nhello from stderr\n"),
        "{out}"
    );
    // With RUST_TEST_THREADS=1 the output comes between `... ` and `ok`.
    assert!(out.contains("test tests::prints_and_passes ... "), "{out}");
}

#[test]
fn a_failed_assert_eq_is_a_failure_at_its_line() {
    for (binary, name, file, needle, message) in [
        (
            "native_crate",
            "tests::assert_fails",
            "src/lib.rs",
            "assert_eq!(add(2, 2), 5)",
            "assertion `left == right` failed\n  left: 4\n right: 5",
        ),
        (
            "api",
            "assert_fails",
            "tests/api.rs",
            "assert_eq!(add(1, 1), 3)",
            "assertion `left == right` failed\n  left: 2\n right: 3",
        ),
    ] {
        let r = run(binary, name, false, 1 << 20);
        assert_eq!(r.outcome, Outcome::Failed);
        let [problem] = r.problems.as_slice() else {
            panic!("one problem expected: {:?}", r.problems);
        };
        assert_eq!((problem.phase, problem.is_error), (Phase::Call, false));
        assert_eq!(problem.message, message);
        let location = problem.location.as_ref().unwrap();
        assert_eq!(location.path, file);
        assert_eq!(location.line, Some(line_of(file, needle)));
        assert!(r.sections.is_empty(), "the output is in the longrepr, once");
        assert!(problem.longrepr.contains(" panicked at "));
    }
}

#[test]
fn a_panic_reports_exactly_its_message() {
    let r = run("api", "panics_with_message", false, 1 << 20);
    assert_eq!(r.outcome, Outcome::Failed);
    let problem = &r.problems[0];
    assert_eq!(problem.message, "the api is on fire");
    let location = problem.location.as_ref().unwrap();
    assert_eq!(location.path, "tests/api.rs");
    assert_eq!(
        location.line,
        Some(line_of("tests/api.rs", "the api is on fire"))
    );
}

#[test]
fn ignored_tests_are_skipped_with_their_reason() {
    let r = run("native_crate", "tests::ignored_with_reason", false, 1 << 20);
    assert_eq!(r.outcome, Outcome::Skipped);
    assert_eq!(r.skip.unwrap().message, "needs hardware");
    let r = run("api", "ignored_without_reason", false, 1 << 20);
    assert_eq!(r.outcome, Outcome::Skipped);
    assert_eq!(r.skip.unwrap().message, "ignored");
}

#[test]
fn included_ignored_tests_run() {
    let r = run("native_crate", "tests::ignored_with_reason", true, 1 << 20);
    assert_eq!(r.outcome, Outcome::Passed);
    assert!(r.skip.is_none());
}

#[test]
fn a_should_panic_test_that_panics_passes() {
    let r = run("native_crate", "tests::should_panic_passes", false, 1 << 20);
    assert_eq!(r.outcome, Outcome::Passed, "{r:?}");
}

#[test]
fn an_abort_is_a_crash_naming_the_signal() {
    let r = run("api", "aborts", false, 1 << 20);
    assert_eq!(r.outcome, Outcome::Crashed);
    assert_eq!(
        r.problems[0].message,
        "test process killed by signal 6 (SIGABRT)"
    );
    assert!(r.problems[0].longrepr.contains("running 1 test"));
}

#[test]
fn output_is_capped_with_a_marker() {
    let (r, log) = run_with_log("native_crate", "tests::prints_and_passes", false, 20);
    let marker = format!(
        "\n[vigil: {} more characters truncated]\n",
        log.chars().count() - 20
    );
    assert_eq!(output(&r), format!("{}{marker}", &log[..20]));
    assert!(
        log.starts_with("\nrunning 1 test\n") && log.contains("hello from stdout"),
        "{log}"
    );
}

#[test]
fn kill_ends_the_whole_process_group() {
    let test = fixture().test("native_crate", "tests::hanging");
    let scratch = tempfile::tempdir().unwrap();
    let (tx, rx) = mpsc::channel();
    let process = spawn(test, false, scratch.path(), move |status| {
        tx.send(status).unwrap();
    })
    .unwrap();
    // SAFETY: getpgid/kill only query and signal processes.
    let pgid = unsafe { libc::getpgid(process.pid as i32) };
    process.kill();
    assert_eq!(
        pgid, process.pid as i32,
        "the test runs in its own process group"
    );
    let status = rx.recv().unwrap();
    assert_eq!(status.as_ref().unwrap().signal(), Some(libc::SIGKILL));
    // SAFETY: signal 0 only checks whether any process of the group still exists.
    let alive = unsafe { libc::kill(-pgid, 0) };
    let errno = std::io::Error::last_os_error().raw_os_error();
    assert_eq!((alive, errno), (-1, Some(libc::ESRCH)));
    let r = result(test, &status, &process.log, Duration::ZERO, 0, 1 << 20);
    assert_eq!(r.outcome, Outcome::Crashed);
    assert_eq!(
        r.problems[0].message,
        "test process killed by signal 9 (SIGKILL)"
    );
}
