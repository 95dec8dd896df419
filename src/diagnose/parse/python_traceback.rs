//! Python's native traceback: `Traceback (most recent call last):`, `File "path", line N, in
//! func` frames with their source lines, then the exception line and the rest of its message;
//! SyntaxError blocks; exception groups are handed to [`super::exception_group`]. pytest's
//! `--tb=native` longreprs and its rendering of exception groups are this form too.

use std::sync::LazyLock;

use regex::Regex;

use crate::diagnose::failure::{ParsedFailure, Source};

use super::{exception_group, origin};

const HEADER: &str = "Traceback (most recent call last):";

/// A frame line. SyntaxError blocks print one without `, in func`.
static FILE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*File "(?P<path>.*)", line (?P<line>\d+)(?:, in (?P<func>.+))?$"#)
        .expect("valid regex")
});

/// `Type`, `Type: message` or `pkg.mod.Type: message`, as `traceback` prints an exception;
/// classes defined in functions print as `mod.func.<locals>.Type`.
static EXCEPTION_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<type>(?:[A-Za-z_]\w*|<locals>)(?:\.(?:[A-Za-z_]\w*|<locals>))*)(?::(?: (?P<message>.*))?)?$")
        .expect("valid regex")
});

/// Whether these lines are a native traceback (or exception group, or bare SyntaxError).
pub(super) fn is_native(lines: &[&str]) -> bool {
    lines.iter().any(|l| l.trim_end() == HEADER)
        || exception_group::starts(lines)
        || starts_with_frame(lines)
}

/// Whether the first non-blank line is a `File "...", line N` line: a SyntaxError's block.
pub(super) fn starts_with_frame(lines: &[&str]) -> bool {
    let first = lines.iter().find(|l| !l.trim().is_empty());
    first.is_some_and(|l| FILE_LINE.is_match(l))
}

/// Reads one traceback (no chain: see [`super::chain`]). Lines before the header (log output
/// a traceback was cut from) are skipped. Without a header, frames or an exception line may
/// start it: a bare SyntaxError, or an exception group's member that has no traceback.
pub(super) fn parse_block(lines: &[&str], root: Option<&str>) -> Option<ParsedFailure> {
    if exception_group::starts(lines) {
        return exception_group::parse(lines, root);
    }
    let start = lines
        .iter()
        .position(|l| l.trim_end() == HEADER)
        .map_or(0, |i| i + 1);
    let mut frames = Vec::new();
    let mut exception_at = None;
    for (i, line) in lines.iter().enumerate().skip(start) {
        if let Some(c) = FILE_LINE.captures(line) {
            let line_no = c["line"].parse().ok();
            let function = c.name("func").map(|f| f.as_str());
            frames.push(origin::frame(&c["path"], line_no, function, root));
        } else if !line.trim().is_empty() && !line.starts_with(char::is_whitespace) {
            // Source and caret lines are indented; the exception line is not.
            exception_at = Some(i);
            break;
        }
    }
    let (exception, message) = exception_and_message(&lines[exception_at?..]);
    Some(super::raised_at_innermost(
        Source::PythonTraceback,
        exception,
        message,
        frames,
    ))
}

/// The exception's type and full message from its lines as printed: the first line says
/// `Type: first line of message`; the message runs on to the end (multi-line messages,
/// `add_note` notes, assertion diffs). Without a recognisable type, all lines are the message.
pub(super) fn exception_and_message(lines: &[&str]) -> (Option<String>, String) {
    let Some((first, rest)) = lines.split_first() else {
        return (None, String::new());
    };
    match exception_line(first) {
        Some((exception, message)) => {
            let mut all = vec![message];
            all.extend(rest.iter().copied());
            (Some(exception.to_string()), join_message(&all))
        }
        None => (None, join_message(lines)),
    }
}

/// `ValueError: bad value` → (`ValueError`, `bad value`); `KeyboardInterrupt` → (.., ``).
pub(super) fn exception_line(line: &str) -> Option<(&str, &str)> {
    let c = EXCEPTION_LINE.captures(line.trim_end())?;
    let exception = c.name("type")?.as_str();
    let message = c.name("message").map_or("", |m| m.as_str());
    Some((exception, message))
}

/// Lines joined, trailing spaces and trailing blank lines dropped.
pub(super) fn join_message(lines: &[&str]) -> String {
    let joined: Vec<&str> = lines.iter().map(|l| l.trim_end()).collect();
    joined.join("\n").trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::failure::{Link, Origin, Raised};
    use crate::diagnose::parse::chain;

    const ROOT: Option<&str> = Some("/tmp/vparse/py");

    fn parse(text: &str) -> ParsedFailure {
        chain::parse(text, ROOT).expect("parsed")
    }

    fn functions(raised: &Raised) -> Vec<&str> {
        raised
            .frames
            .iter()
            .filter_map(|f| f.function.as_deref())
            .collect()
    }

    #[test]
    fn dotted_exception_types_and_frames_are_read() {
        let p = parse(include_str!("samples/python_db_locked.txt"));
        assert_eq!(p.source, Source::PythonTraceback);
        assert_eq!(
            p.raised.exception.as_deref(),
            Some("sqlite3.OperationalError")
        );
        assert_eq!(p.raised.message, "database is locked");
        assert_eq!(functions(&p.raised), ["<module>", "write"]);
        let location = p.location.expect("location");
        assert_eq!(
            (location.path.as_str(), location.line),
            ("db_locked.py", Some(14))
        );
    }

    #[test]
    fn stdlib_frames_are_told_from_project_frames() {
        let p = parse(include_str!("samples/python_http_429.txt"));
        assert_eq!(
            p.raised.exception.as_deref(),
            Some("urllib.error.HTTPError")
        );
        assert_eq!(p.raised.message, "HTTP Error 429: Too Many Requests");
        let origins: Vec<Origin> = p.raised.frames.iter().map(|f| f.origin).collect();
        assert_eq!(origins[..2], [Origin::Project, Origin::Project]);
        assert!(origins[2..].iter().all(|o| *o == Origin::Stdlib));
        assert_eq!(
            p.raised.frames.last().and_then(|f| f.function.as_deref()),
            Some("http_error_default")
        );
        assert!(p
            .location
            .is_some_and(|l| l.path.ends_with("urllib/request.py") && l.line == Some(643)));
    }

    #[test]
    fn a_message_may_span_several_lines() {
        let p = parse(include_str!("samples/python_multiline.txt"));
        assert_eq!(p.raised.exception.as_deref(), Some("ConfigError"));
        assert_eq!(
            p.raised.message,
            "invalid configuration:\n  missing key 'url'\n  unknown key 'uri'"
        );
        assert_eq!(functions(&p.raised), ["<module>", "load"]);
    }

    #[test]
    fn a_syntax_error_is_located_at_the_bad_line() {
        let p = parse(include_str!("samples/python_bad_syntax.txt"));
        assert_eq!(p.raised.exception.as_deref(), Some("SyntaxError"));
        assert_eq!(p.raised.message, "invalid syntax");
        assert_eq!(p.raised.frames.len(), 1);
        assert_eq!(p.raised.frames[0].function, None);
        let location = p.location.expect("location");
        assert_eq!(
            (location.path.as_str(), location.line),
            ("bad_syntax.py", Some(1))
        );
    }

    #[test]
    fn both_chain_links_are_read_from_pytest_native_output() {
        let p = parse(include_str!("samples/pytest_native_implicit_chain.txt"));
        assert_eq!(p.source, Source::PythonTraceback);
        assert_eq!(p.raised.exception.as_deref(), Some("ValueError"));
        assert_eq!(p.raised.message, "bad lookup\nsecond line of the message");
        assert_eq!(p.chain.len(), 1);
        assert_eq!(p.chain[0].0.exception.as_deref(), Some("KeyError"));
        assert_eq!(p.chain[0].0.message, "'missing'");
        assert_eq!(p.chain[0].1, Link::Context);
        // pytest's own frames come first: they are third-party, the test's is the project's.
        let last = p.raised.frames.last().expect("frames");
        assert_eq!(last.function.as_deref(), Some("test_implicit_chain"));
        assert_eq!(p.raised.frames[0].origin, Origin::ThirdParty);
    }

    #[test]
    fn an_assertion_rewrite_keeps_its_explanation_lines() {
        let p = parse(include_str!("samples/pytest_native_assert_rewrite.txt"));
        assert_eq!(p.raised.exception.as_deref(), Some("AssertionError"));
        assert_eq!(p.raised.message, "assert 1 == 2\n +  where 1 = compute()");
        let location = p.location.expect("location");
        assert_eq!(
            (location.path.as_str(), location.line),
            ("/tmp/vparse/proj/tests/test_forms.py", Some(7))
        );
    }

    #[test]
    fn exception_lines_name_their_type() {
        assert_eq!(
            exception_line("KeyboardInterrupt"),
            Some(("KeyboardInterrupt", ""))
        );
        assert_eq!(
            exception_line("test_x.f.<locals>.Boom: no"),
            Some(("test_x.f.<locals>.Boom", "no"))
        );
        assert_eq!(exception_line("assert 1 == 2"), None);
    }
}
