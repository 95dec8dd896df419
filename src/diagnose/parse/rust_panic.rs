//! A libtest binary's output with a panic in it. Rust ≥ 1.73 prints the location first and
//! the message on the lines after (since 1.89 with the thread id):
//!
//! ```text
//! thread 'tests::adds' (17345) panicked at src/lib.rs:29:9:
//! assertion `left == right` failed
//!   left: 5
//!  right: 4
//! note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
//! ```
//!
//! Older Rust printed `thread 'x' panicked at 'message', src/lib.rs:29:9`, the quoted message
//! possibly spanning lines. The text is the test process's whole output (`running 1 test`,
//! `---- name stdout ----` sections, the summary), so the panic is looked for in it.
//!
//! A panic has no exception type: `exception` is `None` (the source says it is a panic; a
//! constant type would only repeat that), the message is all the panic's lines.

use std::sync::LazyLock;

use regex::Regex;

use crate::diagnose::failure::{Link, ParsedFailure, Raised, Source};
use crate::events::Location;

use super::{origin, rust_backtrace};

static HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^thread '(?P<thread>[^']*)'(?: \(\d+\))? panicked at (?P<rest>.*)$")
        .expect("valid regex")
});

/// `src/lib.rs:29:9:` ending the header line (≥ 1.73); the path itself may hold colons.
static NEW_LOCATION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?P<path>.+):(?P<line>\d+):\d+:$").expect("valid regex"));

/// `...last message line', src/lib.rs:29:9` closing an old-style quoted message.
static OLD_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<message>.*)', (?P<path>.+):(?P<line>\d+):\d+$").expect("valid regex")
});

/// The tests libtest says failed: `test x ... FAILED`, or a `---- x stdout ----` section.
static FAILED_TEST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:test (?P<a>\S+)(?: - should panic)? \.\.\. FAILED|---- (?P<b>\S+) stdout ----)$",
    )
    .expect("valid regex")
});

/// One panic report: which thread, what it said, where, and the lines after it.
struct Panic<'a> {
    thread: &'a str,
    message: String,
    location: Location,
    after: &'a [&'a str],
}

pub(super) fn looks_like(text: &str) -> bool {
    text.lines().any(|l| HEADER.is_match(l))
}

/// The panic of a failed test's own thread (the last, if several) is the one raised. Panics
/// of other threads printed before it (a helper thread whose panic the test only sees as
/// `Any { .. }` when it joins) are its chain, linked as context: they came first, and the
/// text does not say they caused it. Other failed tests' panics are left out.
pub(super) fn parse(text: &str, root: Option<&str>) -> Option<ParsedFailure> {
    let lines: Vec<&str> = text.lines().collect();
    let panics: Vec<Panic> = (0..lines.len())
        .filter_map(|i| panic_at(&lines, i))
        .collect();
    let failed: Vec<&str> = lines
        .iter()
        .filter_map(|l| FAILED_TEST.captures(l))
        .filter_map(|c| c.name("a").or(c.name("b")).map(|m| m.as_str()))
        .collect();
    let chosen = panics
        .iter()
        .rposition(|p| failed.contains(&p.thread))
        .or(panics.len().checked_sub(1))?;
    let chain = panics[..chosen]
        .iter()
        .filter(|p| !failed.contains(&p.thread))
        .map(|p| (raised(p, root), Link::Context))
        .collect();
    let panic = &panics[chosen];
    Some(ParsedFailure {
        source: Source::RustPanic,
        raised: raised(panic, root),
        chain,
        group: vec![],
        location: Some(Location {
            path: origin::relative(&panic.location.path, root),
            line: panic.location.line,
        }),
    })
}

/// A panic as an exception without a type, with its backtrace when one follows it.
fn raised(panic: &Panic, root: Option<&str>) -> Raised {
    let frames = match panic.after.first() {
        Some(&"stack backtrace:") => rust_backtrace::frames(&panic.after[1..], root),
        _ => vec![],
    };
    Raised {
        exception: None,
        message: panic.message.clone(),
        frames,
    }
}

/// The panic whose header is line `i`, in either format.
fn panic_at<'a>(lines: &'a [&'a str], i: usize) -> Option<Panic<'a>> {
    let header = HEADER.captures(lines[i])?;
    let thread = header.name("thread")?.as_str();
    let rest = header.name("rest")?.as_str();
    let after = &lines[i + 1..];
    let (message, location, used) = match rest.strip_prefix('\'') {
        Some(quoted) => old_format(quoted, after)?,
        None => new_format(rest, after)?,
    };
    Some(Panic {
        thread,
        message,
        location,
        after: &after[used..],
    })
}

/// The message is every line up to what libtest or the panic hook prints next.
fn new_format(rest: &str, after: &[&str]) -> Option<(String, Location, usize)> {
    let c = NEW_LOCATION.captures(rest)?;
    let used = after.iter().take_while(|l| !ends_message(l)).count();
    let message: Vec<&str> = after[..used].iter().map(|l| l.trim_end()).collect();
    Some((
        message
            .join("\n")
            .trim_end()
            .trim_start_matches('\n')
            .to_string(),
        location(&c),
        used,
    ))
}

fn ends_message(line: &str) -> bool {
    let line = line.trim_end();
    line.starts_with("note: ")
        || line == "stack backtrace:"
        || line.starts_with("test result: ")
        || line == "FAILED"
        || line == "failures:"
        || (line.starts_with("test ") && line.contains(" ... "))
        || (line.starts_with("---- ") && line.ends_with(" ----"))
        || HEADER.is_match(line)
}

/// The quoted message runs to the line that closes the quote with the location.
fn old_format(quoted: &str, after: &[&str]) -> Option<(String, Location, usize)> {
    let mut message = Vec::new();
    for (used, line) in std::iter::once(&quoted).chain(after).enumerate() {
        if let Some(c) = OLD_END.captures(line) {
            message.push(c.name("message").map_or("", |m| m.as_str()));
            return Some((message.join("\n"), location(&c), used));
        }
        message.push(line);
    }
    None
}

fn location(c: &regex::Captures) -> Location {
    Location {
        path: c["path"].to_string(),
        line: c["line"].parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use crate::diagnose::failure::{Link, Origin, Source};
    use crate::diagnose::parse::test_support::{location, parsed_as};
    use crate::diagnose::ParsedFailure;

    fn parsed(text: &str) -> ParsedFailure {
        parsed_as(text, Some(Source::RustPanic), "/tmp/vparse/rcrate")
    }

    #[test]
    fn an_assert_eq_failure_keeps_left_and_right() {
        let p = parsed(include_str!("samples/rust_assert_eq.txt"));
        assert_eq!(p.source, Source::RustPanic);
        assert_eq!(p.raised.exception, None);
        assert_eq!(
            p.raised.message,
            "assertion `left == right` failed\n  left: 5\n right: 4"
        );
        assert_eq!(location(&p), ("src/lib.rs", Some(29)));
        assert!(p.raised.frames.is_empty(), "no backtrace was printed");
    }

    #[test]
    fn an_unwrap_on_err_with_a_backtrace() {
        let p = parsed(include_str!("samples/rust_unwrap_err_backtrace.txt"));
        assert_eq!(
            p.raised.message,
            "called `Result::unwrap()` on an `Err` value: Os { code: 111, kind: ConnectionRefused, message: \"Connection refused\" }"
        );
        assert_eq!(location(&p), ("src/lib.rs", Some(6)));
        let project: Vec<_> = p
            .raised
            .frames
            .iter()
            .filter(|f| f.origin == Origin::Project)
            .filter_map(|f| f.function.as_deref())
            .collect();
        assert_eq!(
            project,
            [
                "parsedemo::tests::connects::{{closure}}",
                "parsedemo::tests::connects",
                "parsedemo::net::connect_service"
            ]
        );
    }

    #[test]
    fn a_multi_line_panic_message_ends_at_the_backtrace() {
        let p = parsed(include_str!("samples/rust_panic_multiline_backtrace.txt"));
        assert_eq!(
            p.raised.message,
            "invalid port \"http\": invalid digit found in string\nexpected a number between 1 and 65535"
        );
        assert_eq!(location(&p), ("src/lib.rs", Some(14)));
        let names: Vec<_> = p
            .raised
            .frames
            .iter()
            .filter_map(|f| f.function.as_deref())
            .collect();
        assert_eq!(names.len(), 7);
        assert_eq!(
            &names[3..],
            [
                "parsedemo::tests::parses_port",
                "parsedemo::config::parse_port",
                "core::panicking::panic_fmt",
                "__rustc::rust_begin_unwind"
            ]
        );
    }

    #[test]
    fn captured_output_sections_end_a_message() {
        let text = include_str!("samples/rust_captured_three_failures.txt");
        let p = parsed(text);
        // Three tests failed: the last panic is reported, the others are not its chain.
        assert_eq!(
            p.raised.message,
            "invalid port \"http\": invalid digit found in string\nexpected a number between 1 and 65535"
        );
        assert!(p.chain.is_empty());
        // Cut before the last test's section, the `connects` panic ends at the blank line.
        let (head, _) = text
            .split_once("---- tests::parses_port")
            .expect("a section");
        let p = parsed(head);
        let refused = "called `Result::unwrap()` on an `Err` value: Os { code: 111, kind: \
                       ConnectionRefused, message: \"Connection refused\" }";
        assert_eq!(p.raised.message, refused);
        assert_eq!(location(&p), ("src/lib.rs", Some(6)));
    }

    #[test]
    fn the_pre_1_73_format_is_read() {
        // The format older Rust printed, as quoted in the executor's own tests.
        let text =
            "running 1 test\nthread 't::x' panicked at 'assertion failed: `(left == right)`\n  \
                    left: `4`,\n right: `5`', src/lib.rs:27:9\nnote: run with `RUST_BACKTRACE=1` \
                    environment variable to display a backtrace\ntest t::x ... FAILED\n";
        let p = parsed(text);
        assert_eq!(
            p.raised.message,
            "assertion failed: `(left == right)`\n  left: `4`,\n right: `5`"
        );
        assert_eq!(location(&p), ("src/lib.rs", Some(27)));
    }

    #[test]
    fn a_helper_thread_s_panic_is_the_context_of_the_test_s() {
        let p = parsed(include_str!("samples/rust_helper_thread_panic.txt"));
        assert_eq!(
            p.raised.message,
            "called `Result::unwrap()` on an `Err` value: Any { .. }"
        );
        assert_eq!(location(&p), ("src/lib.rs", Some(43)));
        assert_eq!(p.chain.len(), 1);
        let (helper, link) = &p.chain[0];
        assert_eq!(*link, Link::Context);
        assert_eq!(
            helper.message,
            "invalid port \"99999\": number too large to fit in target type\nexpected a number between 1 and 65535"
        );
    }
}
