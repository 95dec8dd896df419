//! Reading failure texts into [`ParsedFailure`]s: pytest's longrepr in its styles, Python's
//! native tracebacks (chained exceptions and exception groups), collection errors, Rust
//! panics and the executor's crash and timeout reports. Parsing never fails: what is not
//! understood is kept as the message.
//!
//! Frame paths are kept as printed, except that paths below the project root are made
//! relative to it (pytest prints them relative in its own styles and absolute in native
//! ones); `location` follows the same rule.

mod chain;
mod collection_error;
mod exception_group;
mod executor;
mod fixture_error;
mod origin;
mod pytest_exception;
mod pytest_longrepr;
mod python_traceback;
mod rust_backtrace;
mod rust_panic;
#[cfg(test)]
mod test_support;

use crate::diagnose::failure::{Frame, ParsedFailure, Raised, Source};

/// What a failure is read from.
#[derive(Debug, Clone, Copy)]
pub struct FailureText<'a> {
    /// The full text (pytest's longrepr, a panic's output, a JUnit failure body).
    pub text: &'a str,
    /// The one-line message vigil already has (pytest's crash message, the panic message).
    pub message: &'a str,
    /// What produced it, when the caller knows (`None`: recognise it from the text).
    pub hint: Option<Source>,
    /// The project's root directory, absolute: absolute paths below it (outside a virtualenv
    /// or `site-packages`) are project frames. Relative paths are always the project's.
    pub root: Option<&'a str>,
}

/// Parses a failure text; see the module doc. A hint decides the reader; without one (or
/// with a Python one, as pytest's longrepr may be in the native form) the text does.
pub fn parse(input: FailureText<'_>) -> ParsedFailure {
    let FailureText {
        text,
        message,
        hint,
        root,
    } = input;
    let parsed = match hint {
        Some(Source::Executor) => Some(executor::parse(text, message, Source::Executor, root)),
        Some(Source::CollectionError) => collection_error::parse(text, message, root),
        Some(Source::RustPanic) => rust_panic::parse(text, root),
        Some(Source::PytestLongrepr | Source::PythonTraceback) => python(text, message, root),
        Some(Source::Plain) | None => recognise(text, message, root),
    };
    let fallback = || fallback_message(text, message);
    match parsed {
        Some(mut parsed) => {
            if parsed.raised.message.is_empty() && parsed.raised.exception.is_none() {
                parsed.raised.message = fallback();
            }
            parsed
        }
        None => typed_message(hint.unwrap_or(Source::Plain), &fallback()),
    }
}

/// One exception (no chain, no group), located at its innermost frame: what a single
/// traceback, a pytest longrepr or a crash dump reads as.
fn raised_at_innermost(
    source: Source,
    exception: Option<String>,
    message: String,
    frames: Vec<Frame>,
) -> ParsedFailure {
    ParsedFailure {
        source,
        location: frames.last().map(origin::location_of),
        raised: Raised {
            exception,
            message,
            frames,
        },
        chain: vec![],
        group: vec![],
    }
}

/// A one-line message of the form `Type: message` (pytest's crash line, a JUnit `message`
/// attribute) read as an exception, so a failure known only by it still has a type.
fn typed_message(source: Source, message: &str) -> ParsedFailure {
    static TYPED: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Group|Timeout|timeout)|Failed): ")
            .expect("typed message pattern")
    });
    let mut parsed = ParsedFailure::plain(source, message);
    if let Some(found) = TYPED.captures(message) {
        parsed.raised.exception = Some(found[1].to_string());
        parsed.raised.message = message[found[0].len()..].to_string();
    }
    parsed
}

/// A text from pytest: a collection error, or a test's failure in any style.
fn python(text: &str, message: &str, root: Option<&str>) -> Option<ParsedFailure> {
    if collection_error::looks_like(text) {
        return collection_error::parse(text, message, root);
    }
    chain::parse(text, root)
}

/// Without a hint: vigil's own messages and panics are unmistakable; anything else is tried
/// as Python.
fn recognise(text: &str, message: &str, root: Option<&str>) -> Option<ParsedFailure> {
    if executor::looks_like(text) {
        let source = match collection_error::looks_like(text) {
            true => Source::CollectionError,
            false => Source::Executor,
        };
        return Some(executor::parse(text, message, source, root));
    }
    if rust_panic::looks_like(text) {
        return rust_panic::parse(text, root);
    }
    python(text, message, root)
}

/// The message vigil already has, or else the text's first non-blank line.
fn fallback_message(text: &str, message: &str) -> String {
    match message.trim() {
        "" => text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
            .to_string(),
        _ => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhinted(text: &str, message: &str) -> ParsedFailure {
        parse(FailureText {
            text,
            message,
            hint: None,
            root: None,
        })
    }

    #[test]
    fn a_typed_message_alone_names_its_exception() {
        let p = unhinted(
            "def test_fail(): ...",
            "AssertionError: assert 1 == 2\n +  where 1 = f()",
        );
        assert_eq!(p.raised.exception.as_deref(), Some("AssertionError"));
        assert_eq!(p.raised.message, "assert 1 == 2\n +  where 1 = f()");
        let p = unhinted("", "sqlite3.OperationalError: database is locked");
        assert_eq!(
            p.raised.exception.as_deref(),
            Some("sqlite3.OperationalError")
        );
    }

    #[test]
    fn unknown_text_keeps_the_message() {
        let p = unhinted("something odd happened\nand more", "the crash message");
        assert_eq!(p, ParsedFailure::plain(Source::Plain, "the crash message"));
        let p = unhinted("\n  first line  \nsecond", "");
        assert_eq!(p.raised.message, "first line");
    }

    #[test]
    fn a_hint_that_does_not_fit_falls_back_to_plain_with_its_source() {
        let p = parse(FailureText {
            text: "test process killed by signal 11 (SIGSEGV)",
            message: "test process killed by signal 11 (SIGSEGV)",
            hint: Some(Source::RustPanic),
            root: None,
        });
        assert_eq!(p.source, Source::RustPanic);
        assert_eq!(
            p.raised.message,
            "test process killed by signal 11 (SIGSEGV)"
        );
        assert_eq!(p.location, None);
    }

    #[test]
    fn each_form_is_recognised_without_a_hint() {
        let cases = [
            (
                include_str!("samples/pytest_auto_assert_rewrite.txt"),
                Source::PytestLongrepr,
            ),
            (
                include_str!("samples/pytest_native_connection_refused.txt"),
                Source::PythonTraceback,
            ),
            (
                include_str!("samples/pytest_collect_missing_module.txt"),
                Source::CollectionError,
            ),
            (
                include_str!("samples/rust_assert_eq.txt"),
                Source::RustPanic,
            ),
            (
                include_str!("samples/executor_segfault.txt"),
                Source::Executor,
            ),
        ];
        for (text, source) in cases {
            assert_eq!(unhinted(text, "").source, source, "{text}");
        }
    }

    #[test]
    fn a_collecting_worker_s_crash_is_a_collection_error_with_the_dump_s_frames() {
        let p = parse(FailureText {
            text: include_str!("samples/executor_collect_crash.txt"),
            message: "",
            hint: None,
            root: Some("/tmp/vparse/ccrash"),
        });
        assert_eq!(p.source, Source::CollectionError);
        assert_eq!(p.raised.exception, None);
        assert_eq!(
            p.raised.message,
            "the worker collecting this file crashed (killed by signal 11 (SIGSEGV))"
        );
        let project: Vec<_> = p
            .raised
            .frames
            .iter()
            .filter(|f| f.origin == crate::diagnose::Origin::Project)
            .map(|f| (f.path.as_str(), f.line, f.function.as_deref()))
            .collect();
        assert_eq!(
            project,
            [("tests/test_import_crash.py", Some(3), Some("<module>"))]
        );
    }

    /// Every sample, whole and cut at every line from either end, under every hint: parsing
    /// never panics, and what it returns always says something.
    #[test]
    fn any_cut_of_any_sample_parses_to_something() {
        let samples = [
            include_str!("samples/executor_collect_crash.txt"),
            include_str!("samples/executor_segfault.txt"),
            include_str!("samples/executor_timeout.txt"),
            include_str!("samples/executor_timeout_dump.txt"),
            include_str!("samples/pytest_auto_assert_diff.txt"),
            include_str!("samples/pytest_auto_assert_message_nested_def.txt"),
            include_str!("samples/pytest_auto_assert_rewrite.txt"),
            include_str!("samples/pytest_auto_connection_refused.txt"),
            include_str!("samples/pytest_auto_exception_group.txt"),
            include_str!("samples/pytest_auto_fixture_db_locked.txt"),
            include_str!("samples/pytest_auto_implicit_chain.txt"),
            include_str!("samples/pytest_auto_missing_fixture.txt"),
            include_str!("samples/pytest_auto_pytest_fail.txt"),
            include_str!("samples/pytest_auto_quoted_traceback.txt"),
            include_str!("samples/pytest_auto_raise_from.txt"),
            include_str!("samples/pytest_collect_missing_module.txt"),
            include_str!("samples/pytest_collect_syntax_error.txt"),
            include_str!("samples/pytest_line_assert_diff.txt"),
            include_str!("samples/pytest_line_assert_rewrite.txt"),
            include_str!("samples/pytest_line_implicit_chain.txt"),
            include_str!("samples/pytest_long_connection_refused.txt"),
            include_str!("samples/pytest_native_assert_rewrite.txt"),
            include_str!("samples/pytest_native_connection_refused.txt"),
            include_str!("samples/pytest_native_implicit_chain.txt"),
            include_str!("samples/pytest_short_assert_rewrite.txt"),
            include_str!("samples/pytest_short_connection_refused.txt"),
            include_str!("samples/pytest_short_fixture_db_locked.txt"),
            include_str!("samples/pytest_short_raise_from.txt"),
            include_str!("samples/python_bad_syntax.txt"),
            include_str!("samples/python_base_group.txt"),
            include_str!("samples/python_db_locked.txt"),
            include_str!("samples/python_group.txt"),
            include_str!("samples/python_http_429.txt"),
            include_str!("samples/python_multiline.txt"),
            include_str!("samples/python_nested_group.txt"),
            include_str!("samples/rust_assert_eq.txt"),
            include_str!("samples/rust_captured_three_failures.txt"),
            include_str!("samples/rust_helper_thread_panic.txt"),
            include_str!("samples/rust_panic_multiline_backtrace.txt"),
            include_str!("samples/rust_unwrap_err_backtrace.txt"),
            include_str!("samples/rust_unwrap_err_backtrace_full.txt"),
        ];
        let hints = [
            None,
            Some(Source::PytestLongrepr),
            Some(Source::PythonTraceback),
            Some(Source::CollectionError),
            Some(Source::RustPanic),
            Some(Source::Executor),
        ];
        for sample in samples {
            let lines: Vec<&str> = sample.lines().collect();
            let cuts =
                (0..=lines.len()).flat_map(|i| [lines[..i].join("\n"), lines[i..].join("\n")]);
            for text in cuts {
                for hint in hints {
                    let p = parse(FailureText {
                        text: &text,
                        message: "",
                        hint,
                        root: Some("/tmp/vparse"),
                    });
                    let says_something =
                        p.raised.exception.is_some() || !p.raised.message.is_empty();
                    assert!(says_something || text.trim().is_empty(), "{hint:?}: {text}");
                }
            }
        }
        // Characters wider than a byte where columns are counted.
        for text in [
            "E\u{e9}\n  |\u{e9}",
            "  + Exception Group Traceback (most recent call last):\n \u{e9}|\n  +-+\u{e9}",
        ] {
            assert!(!parse(FailureText {
                text,
                message: "m",
                hint: None,
                root: None
            })
            .raised
            .message
            .is_empty());
        }
    }
}
