//! Reading a native test's log: libtest's verdict, the panic's message and location,
//! `#[should_panic]` notes, and the log capped as users see it; with the exit status, they
//! decide the test's outcome.

use std::io::{BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::ExitStatus;

use crate::discover::native::NativeTest;
use crate::events::{Location, Outcome, SkipInfo};

/// What libtest's summary says happened to the one test it was asked to run.
#[derive(Debug, PartialEq)]
enum Verdict {
    Passed,
    Failed,
    Ignored,
    /// `0 passed; 0 failed; 0 ignored`: the binary has no test of that name.
    NotRun,
}

/// A test's outcome, with what went wrong when something did.
pub(super) enum Judgement {
    Clean(Outcome, Option<SkipInfo>),
    Problem(Outcome, String, Option<Location>),
}

/// A signal always means a crash, even after libtest's verdict (a destructor can abort);
/// otherwise libtest's verdict decides, as long as the exit status agrees with it.
pub(super) fn judge(
    test: &NativeTest,
    status: &std::io::Result<ExitStatus>,
    text: &str,
) -> Judgement {
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
            crate::execute::pool::signal_name(sig)
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
pub(super) fn shown_log(path: &Path, cap: usize) -> String {
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
pub(super) fn cap_text(text: &str, cap: usize) -> String {
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
    use std::os::unix::process::ExitStatusExt;
    use std::path::PathBuf;
    use std::process::ExitStatus;
    use std::sync::Arc;
    use std::time::Duration;

    use super::super::result;
    use crate::discover::native::{NativeBinary, NativeTest};
    use crate::events::{Outcome, TestResult};

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
