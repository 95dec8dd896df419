//! One native (libtest) test in its own process, as nextest runs them: `<binary> --exact <name>
//! --nocapture` started with duct in its own process group, its output spooled to a log file,
//! a waiter thread reporting its exit; and that output turned into a [`TestResult`].

use std::io::{BufReader, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use super::process_group::GroupLeader;
use crate::discover::native::NativeTest;
use crate::events::{Location, Outcome, Phase, Problem, SkipInfo, TestResult};

/// How much of the end of a log is searched for libtest's verdict and the panic. libtest
/// prints both after the test's own output, so a test that prints megabytes does not hide them.
const PARSE_WINDOW: u64 = 1 << 20;

/// A running test process.
pub struct NativeProcess {
    group: GroupLeader,
    pub pid: u32,
    /// The test's stdout and stderr, interleaved as written.
    pub log: PathBuf,
}

impl NativeProcess {
    /// Sends `signal` to the process's whole group (the test binary and anything it started).
    pub fn signal_group(&self, signal: i32) {
        self.group.signal_group(signal);
    }

    /// Kills the process group, then reaps the test binary itself.
    pub fn kill(&self) {
        self.group.kill();
        let _ = self.group.handle.wait();
    }
}

/// Starts one test; `on_exit` is called from a waiter thread with its exit status.
/// `include_ignored` runs an `#[ignore]`d test instead of reporting it ignored.
pub fn spawn(
    test: &NativeTest,
    include_ignored: bool,
    scratch: &Path,
    on_exit: impl FnOnce(std::io::Result<ExitStatus>) + Send + 'static,
) -> std::io::Result<NativeProcess> {
    let (file, log) = tempfile::Builder::new()
        .prefix("native-")
        .suffix(".log")
        .tempfile_in(scratch)?
        .keep()?;
    let mut args = vec!["--exact", test.name.as_str(), "--nocapture"];
    if include_ignored && test.ignored {
        args.push("--include-ignored");
    }
    let handle = duct::cmd(&test.binary.path, args)
        .dir(&test.binary.cwd)
        .stdin_null()
        // duct applies the outer redirection first: stdout goes to the log, then stderr joins it.
        .stderr_to_stdout()
        .stdout_file(file)
        .unchecked()
        .before_spawn(|cmd| {
            cmd.process_group(0);
            Ok(())
        })
        .start()?;
    let handle = Arc::new(handle);
    let waiter = Arc::clone(&handle);
    std::thread::spawn(move || on_exit(waiter.wait().map(|output| output.status)));
    let group = GroupLeader::new(handle);
    Ok(NativeProcess {
        pid: group.pid,
        group,
        log,
    })
}

/// What libtest's summary says happened to the one test it was asked to run.
#[derive(Debug, PartialEq)]
enum Verdict {
    Passed,
    Failed,
    Ignored,
    /// `0 passed; 0 failed; 0 ignored`: the binary has no test of that name.
    NotRun,
}

/// The result of a finished test process, from its exit status and its log.
pub fn result(
    test: &NativeTest,
    status: &std::io::Result<ExitStatus>,
    log: &Path,
    elapsed: Duration,
    worker: usize,
    capture_cap: usize,
) -> TestResult {
    let shown = shown_log(log, capture_cap);
    let text = super::worker::tail(log, PARSE_WINDOW);
    let (outcome, problems, skip) = match judge(test, status, &text) {
        Judgement::Clean(outcome, skip) => (outcome, vec![], skip),
        Judgement::Problem(outcome, message, location) => {
            let problem = Problem {
                phase: Phase::Call,
                is_error: outcome == Outcome::Error,
                message: cap_text(&message, capture_cap),
                location,
                longrepr: shown.clone(),
            };
            (outcome, vec![problem], None)
        }
    };
    // A failure already carries the output as its longrepr; keep it once.
    let sections = if problems.is_empty() {
        vec![("Captured stdout call".to_string(), shown)]
    } else {
        vec![]
    };
    TestResult {
        id: test.id.clone(),
        outcome,
        duration: elapsed,
        problems,
        skip,
        sections,
        markers: vec![],
        tier: None,
        worker,
    }
}

/// A test's outcome, with what went wrong when something did.
enum Judgement {
    Clean(Outcome, Option<SkipInfo>),
    Problem(Outcome, String, Option<Location>),
}

/// A signal always means a crash, even after libtest's verdict (a destructor can abort);
/// otherwise libtest's verdict decides, as long as the exit status agrees with it.
fn judge(test: &NativeTest, status: &std::io::Result<ExitStatus>, text: &str) -> Judgement {
    let status = match status {
        Err(error) => {
            let message = format!("could not wait for the test process: {error}");
            return Judgement::Problem(Outcome::Error, message, None);
        }
        Ok(status) => status,
    };
    match verdict(text) {
        _ if status.signal().is_some() => {
            Judgement::Problem(Outcome::Crashed, describe_exit(status), None)
        }
        Some(Verdict::Failed) => {
            let (message, location) = failure_cause(text, &test.name);
            Judgement::Problem(Outcome::Failed, message, location)
        }
        Some(Verdict::Passed) if status.success() => Judgement::Clean(Outcome::Passed, None),
        Some(Verdict::Ignored) if status.success() => {
            Judgement::Clean(Outcome::Skipped, Some(ignore_reason(text, &test.name)))
        }
        Some(Verdict::NotRun) if status.success() => {
            let message = format!(
                "{} has no test named {:?}; was it rebuilt since its tests were listed?",
                test.binary.path.display(),
                test.name
            );
            Judgement::Problem(Outcome::Error, message, None)
        }
        _ => {
            let message = format!("{} without a libtest result", describe_exit(status));
            Judgement::Problem(Outcome::Crashed, message, None)
        }
    }
}

fn describe_exit(status: &ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (_, Some(sig)) => format!(
            "test process killed by signal {sig} ({})",
            super::pool::signal_name(sig)
        ),
        (Some(code), _) => format!("test process exited with code {code}"),
        _ => "test process ended".to_string(),
    }
}

/// From libtest's last `test result: ok. 1 passed; 0 failed; 0 ignored; ...` line. The
/// per-test line is no use here: with one test thread, the test's output lands between
/// `test name ... ` and its verdict.
fn verdict(text: &str) -> Option<Verdict> {
    let summary = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("test result: "))?;
    let count = |word: &str| {
        summary.split(';').find_map(|part| {
            let tokens: Vec<&str> = part.split_whitespace().collect();
            match tokens.as_slice() {
                [.., n, w] if *w == word => n.parse::<u64>().ok(),
                _ => None,
            }
        })
    };
    let (passed, failed, ignored) = (count("passed")?, count("failed")?, count("ignored")?);
    Some(if failed > 0 {
        Verdict::Failed
    } else if passed > 0 {
        Verdict::Passed
    } else if ignored > 0 {
        Verdict::Ignored
    } else {
        Verdict::NotRun
    })
}

/// `test name ... ignored, needs hardware` → `needs hardware`; a bare `#[ignore]` → `ignored`.
fn ignore_reason(text: &str, name: &str) -> SkipInfo {
    let reason = result_lines(text, name)
        .filter_map(|verdict| verdict.strip_prefix("ignored, "))
        .next_back()
        .unwrap_or("ignored");
    SkipInfo {
        message: reason.to_string(),
        location: None,
    }
}

/// What follows `test <name> ... ` (or `test <name> - should panic ... `) on each line.
fn result_lines<'a>(text: &'a str, name: &'a str) -> impl DoubleEndedIterator<Item = &'a str> {
    text.lines().filter_map(move |line| {
        let rest = line.strip_prefix("test ")?.strip_prefix(name)?;
        let rest = rest.strip_prefix(" - should panic").unwrap_or(rest);
        rest.strip_prefix(" ... ")
    })
}

/// Why a test libtest reported as failed failed: a `#[should_panic]` note, else the panic of
/// the test's own thread (else the last panic), else the `Error: ...` of a test returning `Err`.
fn failure_cause(text: &str, name: &str) -> (String, Option<Location>) {
    if let Some(note) = should_panic_note(text) {
        return note;
    }
    let panics = panics(text, name);
    let panic = panics
        .iter()
        .rev()
        .find(|p| p.thread == name)
        .or(panics.last());
    if let Some(p) = panic {
        let location = Location {
            path: p.file.clone(),
            line: p.line,
        };
        return (p.message.clone(), Some(location));
    }
    let message = text
        .lines()
        .rev()
        .find(|l| l.starts_with("Error: "))
        .unwrap_or("the test failed without a panic message");
    (message.to_string(), None)
}

/// libtest's notes on a `#[should_panic]` test: `note: test did not panic as expected at
/// src/lib.rs:5:8`, or `note: panic did not contain expected string` with the two strings
/// on the indented lines after it (the panic's own location is the useful one then).
fn should_panic_note(text: &str) -> Option<(String, Option<Location>)> {
    const NO_PANIC: &str = "note: test did not panic as expected";
    const WRONG: &str = "note: panic did not contain expected string";
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix(NO_PANIC) {
            let location = rest.strip_prefix(" at ").and_then(parse_location);
            return Some((NO_PANIC["note: ".len()..].to_string(), location));
        }
        if line.starts_with(WRONG) {
            let mut message = vec![WRONG["note: ".len()..].to_string()];
            message.extend(
                lines
                    .by_ref()
                    .take_while(|l| l.starts_with(' '))
                    .map(|l| l.trim().to_string()),
            );
            let location = panics(text, "").last().map(|p| Location {
                path: p.file.clone(),
                line: p.line,
            });
            return Some((message.join("\n"), location));
        }
    }
    None
}

/// One `thread '<name>' panicked at ...` report.
#[derive(Debug, PartialEq)]
struct Panic {
    thread: String,
    message: String,
    file: String,
    line: Option<u32>,
}

/// Every panic report in the output, in order. Two formats: Rust ≥ 1.73 prints
/// `thread 'x' (tid) panicked at src/lib.rs:3:5:` (the tid since 1.89) with the message on
/// the lines after; older Rust prints `thread 'x' panicked at 'message', src/lib.rs:3:5`,
/// the message possibly spanning lines.
fn panics(text: &str, test_name: &str) -> Vec<Panic> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some((thread, rest)) = panic_header(line) else {
            continue;
        };
        let parsed = match rest.strip_prefix('\'') {
            Some(quoted) => old_format(quoted, &lines[i + 1..]),
            None => new_format(rest, &lines[i + 1..], test_name),
        };
        if let Some((message, (file, line))) = parsed {
            found.push(Panic {
                thread: thread.to_string(),
                message,
                file,
                line,
            });
        }
    }
    found
}

/// `thread 'name' (123) panicked at REST` → (`name`, `REST`).
fn panic_header(line: &str) -> Option<(&str, &str)> {
    let (head, rest) = line.strip_prefix("thread '")?.split_once(" panicked at ")?;
    let thread = match head.rsplit_once("' (") {
        Some((name, tid)) if tid.ends_with(')') => name,
        _ => head.strip_suffix('\'')?,
    };
    Some((thread, rest))
}

fn new_format(
    rest: &str,
    after: &[&str],
    test_name: &str,
) -> Option<(String, (String, Option<u32>))> {
    let location = parse_file_line(rest.strip_suffix(':')?)?;
    let ends_message = |l: &&str| {
        l.starts_with("note: ")
            || l.starts_with("stack backtrace:")
            || l.starts_with("test result: ")
            || *l == "FAILED"
            || panic_header(l).is_some()
            || (!test_name.is_empty() && l.starts_with(&format!("test {test_name} ")))
    };
    let message: Vec<&str> = after
        .iter()
        .take_while(|l| !ends_message(l))
        .copied()
        .collect();
    Some((message.join("\n").trim_end().to_string(), location))
}

fn old_format(quoted: &str, after: &[&str]) -> Option<(String, (String, Option<u32>))> {
    let mut message: Vec<&str> = Vec::new();
    for line in std::iter::once(&quoted).chain(after) {
        if let Some((last, location)) = line.rsplit_once("', ") {
            if let Some(location) = parse_file_line(location) {
                message.push(last);
                return Some((message.join("\n"), location));
            }
        }
        message.push(line);
    }
    None
}

/// `src/lib.rs:27:9` → (`src/lib.rs`, 27).
fn parse_file_line(text: &str) -> Option<(String, Option<u32>)> {
    let mut parts = text.rsplitn(3, ':');
    let (column, line, file) = (parts.next()?, parts.next()?, parts.next()?);
    column.parse::<u32>().ok()?;
    Some((file.to_string(), Some(line.parse().ok()?)))
}

fn parse_location(text: &str) -> Option<Location> {
    parse_file_line(text).map(|(path, line)| Location { path, line })
}

/// The log as users see it: its first `cap` characters and a marker saying how many more
/// there were, as the pytest plugin caps captured output. The rest is counted, not kept.
fn shown_log(path: &Path, cap: usize) -> String {
    let Ok(file) = std::fs::File::open(path) else {
        return String::new();
    };
    let mut reader = BufReader::new(file);
    let mut head = Vec::new();
    // A character is at most 4 bytes: this reads at least `cap` of them when there are as many.
    let head_bytes = u64::try_from(cap.saturating_mul(4)).unwrap_or(u64::MAX);
    let _ = reader.by_ref().take(head_bytes).read_to_end(&mut head);
    let text = String::from_utf8_lossy(&head);
    let total = text.chars().count() + count_chars(reader);
    if total <= cap {
        return text.into_owned();
    }
    truncated(text.chars().take(cap).collect(), total - cap)
}

/// Characters left in `reader`, counted as UTF-8 lead bytes (continuation bytes skipped).
fn count_chars(mut reader: impl Read) -> usize {
    let mut buf = vec![0u8; 1 << 16];
    let mut count = 0;
    while let Ok(n) = reader.read(&mut buf) {
        if n == 0 {
            break;
        }
        count += buf[..n].iter().filter(|&&b| b & 0xC0 != 0x80).count();
    }
    count
}

/// `text` cut to `cap` characters with the same marker as [`shown_log`].
fn cap_text(text: &str, cap: usize) -> String {
    let total = text.chars().count();
    if total <= cap {
        return text.to_string();
    }
    truncated(text.chars().take(cap).collect(), total - cap)
}

/// The pytest plugin's marker after capped text.
fn truncated(shown: String, omitted: usize) -> String {
    format!("{shown}\n[vigil: {omitted} more characters truncated]\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::native::tests::fixture;
    use crate::discover::native::NativeBinary;
    use std::sync::mpsc;

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

    /// A result read from a log written by hand, for formats this toolchain does not print.
    fn from_log(name: &str, log: &str, raw_status: i32) -> TestResult {
        from_log_status(name, log, Ok(ExitStatus::from_raw(raw_status)))
    }

    fn from_log_status(name: &str, log: &str, status: std::io::Result<ExitStatus>) -> TestResult {
        let binary = Arc::new(NativeBinary {
            crate_name: "c".into(),
            binary: "b".into(),
            kind: "lib".into(),
            path: PathBuf::from("/x/b-0123456789abcdef"),
            cwd: PathBuf::from("/x"),
        });
        let test = NativeTest {
            id: format!("native:c::b::{name}"),
            name: name.into(),
            ignored: false,
            binary,
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, log).unwrap();
        result(&test, &status, &path, Duration::ZERO, 0, 1 << 20)
    }

    const FAILED_TAIL: &str = "\nfailures:\n\nfailures:\n    t::x\n\n\
        test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; \
        finished in 0.00s\n\n";
    const EXIT_101: i32 = 101 << 8;

    fn problem(r: &TestResult) -> (&str, Option<(&str, Option<u32>)>) {
        let p = &r.problems[0];
        let location = p.location.as_ref().map(|l| (l.path.as_str(), l.line));
        (p.message.as_str(), location)
    }

    #[test]
    fn the_pre_1_73_panic_format_is_read() {
        let log = format!(
            "\nrunning 1 test\nthread 't::x' panicked at 'assertion failed: `(left == right)`\n  \
             left: `4`,\n right: `5`', src/lib.rs:27:9\nnote: run with `RUST_BACKTRACE=1` \
             environment variable to display a backtrace\ntest t::x ... FAILED\n{FAILED_TAIL}"
        );
        let r = from_log("t::x", &log, EXIT_101);
        assert_eq!(r.outcome, Outcome::Failed);
        assert_eq!(
            problem(&r),
            (
                "assertion failed: `(left == right)`\n  left: `4`,\n right: `5`",
                Some(("src/lib.rs", Some(27)))
            )
        );
    }

    #[test]
    fn the_panic_of_the_tests_own_thread_wins_over_a_helpers() {
        // Rust 1.73..1.88 printed no thread id; a helper thread's panic comes first here.
        let log = format!(
            "\nrunning 1 test\n\nthread 'helper' panicked at src/lib.rs:10:84:\nin helper\n\
             note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n\n\
             thread 't::x' panicked at src/lib.rs:10:121:\ncalled `Result::unwrap()` on an \
             `Err` value: Any {{ .. }}\ntest t::x ... FAILED\n{FAILED_TAIL}"
        );
        let r = from_log("t::x", &log, EXIT_101);
        assert_eq!(
            problem(&r),
            (
                "called `Result::unwrap()` on an `Err` value: Any { .. }",
                Some(("src/lib.rs", Some(10)))
            )
        );
    }

    #[test]
    fn with_one_test_thread_the_verdict_follows_the_output() {
        // RUST_TEST_THREADS=1: `test x ... ` is printed first, the verdict after the output.
        let log = format!(
            "\nrunning 1 test\ntest t::x ... \nthread 't::x' (6286) panicked at src/lib.rs:32:9:\n\
             line one\n\nline three\nFAILED\n{FAILED_TAIL}"
        );
        let r = from_log("t::x", &log, EXIT_101);
        assert_eq!(r.outcome, Outcome::Failed);
        assert_eq!(
            problem(&r),
            ("line one\n\nline three", Some(("src/lib.rs", Some(32))))
        );
    }

    #[test]
    fn should_panic_notes_explain_the_failure() {
        let log = format!(
            "\nrunning 1 test\ntest t::x - should panic ... FAILED\n\nfailures:\n\n\
             ---- t::x stdout ----\nnote: test did not panic as expected at src/lib.rs:5:8\n\
             {FAILED_TAIL}"
        );
        let r = from_log("t::x", &log, EXIT_101);
        assert_eq!(
            problem(&r),
            (
                "test did not panic as expected",
                Some(("src/lib.rs", Some(5)))
            )
        );
        let log = format!(
            "\nrunning 1 test\n\nthread 't::x' (4761) panicked at src/lib.rs:8:21:\nbar\n\
             note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n\
             test t::x - should panic ... FAILED\n\nfailures:\n\n---- t::x stdout ----\n\
             note: panic did not contain expected string\n      panic message: \"bar\"\n \
             expected substring: \"foo\"\n{FAILED_TAIL}"
        );
        let r = from_log("t::x", &log, EXIT_101);
        assert_eq!(
            problem(&r),
            (
                "panic did not contain expected string\npanic message: \"bar\"\n\
                 expected substring: \"foo\"",
                Some(("src/lib.rs", Some(8)))
            )
        );
    }

    #[test]
    fn a_test_returning_err_reports_the_error() {
        let log = format!(
            "\nrunning 1 test\nError: \"it went wrong\"\ntest t::x ... FAILED\n{FAILED_TAIL}"
        );
        let r = from_log("t::x", &log, EXIT_101);
        assert_eq!(problem(&r), ("Error: \"it went wrong\"", None));
    }

    #[test]
    fn an_exit_before_the_verdict_is_a_crash() {
        let r = from_log("t::x", "\nrunning 1 test\n", 3 << 8);
        assert_eq!(r.outcome, Outcome::Crashed);
        assert_eq!(
            problem(&r),
            (
                "test process exited with code 3 without a libtest result",
                None
            )
        );
    }

    #[test]
    fn a_test_the_binary_does_not_have_is_an_error() {
        let log = "\nrunning 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored; \
                   0 measured; 9 filtered out; finished in 0.00s\n\n";
        let r = from_log("t::gone", log, 0);
        assert_eq!(r.outcome, Outcome::Error);
        assert_eq!(
            problem(&r).0,
            "/x/b-0123456789abcdef has no test named \"t::gone\"; \
             was it rebuilt since its tests were listed?"
        );
    }

    #[test]
    fn a_lost_exit_status_is_an_error() {
        let status = Err(std::io::Error::other("no child"));
        let r = from_log_status("t::x", "\nrunning 1 test\n", status);
        assert_eq!(r.outcome, Outcome::Error);
        assert!(r.problems[0].is_error);
        assert_eq!(
            problem(&r),
            ("could not wait for the test process: no child", None)
        );
    }
}
