//! pytest's `E` lines: the exception of a traceback in pytest's form. Its type is printed
//! in three places, or none:
//!
//! - `E   Type: message` on the first `E` line (any exception, `Failed` from `pytest.fail`,
//!   dotted for classes outside builtins: `sqlite3.OperationalError`);
//! - the last long entry's location line, `path:12: OperationalError` (the class's bare name);
//! - nowhere, for an assertion rewrite in `--tb=short`/`line` (`E   assert 1 == 2`).
//!
//! An AssertionError's message is all its `E` lines: `assert ...`, the `+  where` lines and
//! the diff, after the assertion's own message when it has one.

use crate::diagnose::failure::Frame;

use super::pytest_longrepr::indentation;
use super::python_traceback;

/// `E       text` → `       text`; the indentation goes in [`dedent`].
pub(super) fn exception_line(line: &str) -> Option<&str> {
    match line.strip_prefix('E')? {
        rest if rest.is_empty() || rest.starts_with(' ') => Some(rest),
        _ => None,
    }
}

/// The exception from its `E` lines. The type comes from `Type: message` on the first line,
/// unless the location line names another class: then (an assertion rewrite, `assert 1 == 2`)
/// that class is the type and every line is the message. Without either, an `assert ...`
/// first line is an AssertionError (`--tb=short`/`line` print no class for a rewrite).
/// An `E` block that is a SyntaxError (`File "x.py", line 2` first) also gives its frame.
pub(super) fn read(
    e_lines: &[&str],
    crash_type: Option<&str>,
    root: Option<&str>,
) -> (Option<String>, String, Option<Frame>) {
    let lines = dedent(e_lines);
    // Only a SyntaxError's block: a message may quote a whole traceback (a subprocess's),
    // which is not the exception raised.
    if python_traceback::starts_with_frame(&lines) {
        if let Some(p) = python_traceback::parse_block(&lines, root) {
            return (
                p.raised.exception,
                p.raised.message,
                p.raised.frames.into_iter().last(),
            );
        }
    }
    let typed = lines
        .first()
        .and_then(|l| python_traceback::exception_line(l));
    let same_class = |printed: &str, class: &str| printed.rsplit('.').next() == Some(class);
    let (exception, message) = match (typed, crash_type) {
        (Some((printed, _)), Some(class)) if !same_class(printed, class) => (
            Some(class.to_string()),
            python_traceback::join_message(&lines),
        ),
        (Some(_), _) => python_traceback::exception_and_message(&lines),
        (None, Some(class)) => (
            Some(class.to_string()),
            python_traceback::join_message(&lines),
        ),
        (None, None) => {
            let assertion = lines.first().is_some_and(|l| l.starts_with("assert "));
            let exception = assertion.then(|| "AssertionError".to_string());
            (exception, python_traceback::join_message(&lines))
        }
    };
    (exception, message, None)
}

/// pytest indents all `E` lines of a block alike (to the source's indentation in long
/// entries); the least indented non-blank line shows how much is pytest's.
fn dedent<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    let common = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| indentation(l))
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| l.get(common..).unwrap_or(""))
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::diagnose::failure::{Origin, Source};
    use crate::diagnose::parse::test_support::{exception, functions, location, parsed_as};
    use crate::diagnose::parse::{parse, FailureText};
    use crate::diagnose::ParsedFailure;

    fn parsed(text: &str) -> ParsedFailure {
        parsed_as(text, Some(Source::PytestLongrepr), "/tmp/vparse/proj")
    }

    #[test]
    fn an_assertion_rewrite_is_an_assertion_error_in_every_style() {
        let rewrite = "assert 1 == 2\n +  where 1 = compute()";
        for text in [
            include_str!("samples/pytest_auto_assert_rewrite.txt"),
            include_str!("samples/pytest_short_assert_rewrite.txt"),
            include_str!("samples/pytest_line_assert_rewrite.txt"),
        ] {
            let p = parsed(text);
            assert_eq!(p.source, Source::PytestLongrepr);
            assert_eq!(exception(&p), (Some("AssertionError"), rewrite), "{text}");
        }
        let p = parsed(include_str!("samples/pytest_auto_assert_rewrite.txt"));
        assert_eq!(functions(&p), ["test_assert_rewrite"]);
        assert_eq!(location(&p), ("tests/test_forms.py", Some(7)));
        assert_eq!(p.raised.frames[0].origin, Origin::Project);
    }

    #[test]
    fn a_diff_keeps_its_lines_under_the_assert_line() {
        let diff = "assert 'alpha\\nbeta-2\\ngamma' == 'alpha\\nbeta\\ngamma'\n\n    alpha\n  - beta\n  + beta-2\n  ?     ++\n    gamma";
        for text in [
            include_str!("samples/pytest_auto_assert_diff.txt"),
            include_str!("samples/pytest_line_assert_diff.txt"),
        ] {
            assert_eq!(exception(&parsed(text)), (Some("AssertionError"), diff));
        }
    }

    #[test]
    fn pytest_fail_is_a_failed_exception() {
        let p = parsed(include_str!("samples/pytest_auto_pytest_fail.txt"));
        assert_eq!(
            exception(&p),
            (Some("Failed"), "the service never became ready")
        );
        assert_eq!(functions(&p), ["test_pytest_fail"]);
        assert_eq!(location(&p), ("tests/test_forms.py", Some(39)));
    }

    #[test]
    fn a_dotted_type_is_kept_as_printed_in_long_and_short_entries() {
        for text in [
            include_str!("samples/pytest_auto_fixture_db_locked.txt"),
            include_str!("samples/pytest_short_fixture_db_locked.txt"),
        ] {
            let p = parsed(text);
            assert_eq!(
                exception(&p),
                (Some("sqlite3.OperationalError"), "database is locked")
            );
            assert_eq!(functions(&p), ["locked_db"]);
            assert_eq!(location(&p), ("tests/test_extra.py", Some(12)));
        }
    }

    #[test]
    fn an_assertion_s_own_message_comes_before_the_rewrite() {
        let p = parsed(include_str!(
            "samples/pytest_auto_assert_message_nested_def.txt"
        ));
        let message = "normalised value differs\nassert 'x' == 'y'\n\n  - y\n  + x";
        assert_eq!(exception(&p), (Some("AssertionError"), message));
        // `normalise` is defined above the failing line, but it is not where it fails.
        assert_eq!(functions(&p), ["test_nested_helper"]);
        assert_eq!(p.raised.frames[0].origin, Origin::Project);
    }

    #[test]
    fn a_traceback_quoted_in_a_message_is_message() {
        let p = parse(FailureText {
            text: include_str!("samples/pytest_auto_quoted_traceback.txt"),
            message: "",
            hint: None,
            root: Some("/tmp/vparse/proj"),
        });
        assert_eq!(p.source, Source::PytestLongrepr);
        assert_eq!(p.raised.exception.as_deref(), Some("RuntimeError"));
        let mut lines = p.raised.message.lines();
        assert_eq!(lines.next(), Some("child failed:"));
        assert_eq!(lines.next(), Some("Traceback (most recent call last):"));
        assert!(p.raised.message.ends_with("line 1 column 2 (char 1)"));
        assert_eq!(functions(&p), ["test_child_script"]);
        assert_eq!(location(&p), ("tests/test_subprocess.py", Some(12)));
    }
}
