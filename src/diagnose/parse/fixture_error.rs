//! pytest's report of a fixture that does not exist. It is the same in every `--tb` style and
//! names no exception class:
//!
//! ```text
//! file /abs/tests/test_x.py, line 42
//!   def test_x(database):
//! E       fixture 'database' not found
//! >       available fixtures: cache, capfd, ...
//! >       use 'pytest --fixtures [testpath]' for help on them.
//!
//! /abs/tests/test_x.py:42
//! ```
//!
//! pytest raises `FixtureLookupError` for it and prints that error's own representation, so
//! the exception is reported as `FixtureLookupError`; the message is the `E` lines (the list
//! of available fixtures is left out: it changes with every installed plugin).

use std::sync::LazyLock;

use regex::Regex;

use crate::diagnose::failure::{ParsedFailure, Raised, Source};

use super::{origin, python_traceback};

static HEADER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^file (?P<path>.+), line (?P<line>\d+)$").expect("valid regex"));

/// The `def` (or `async def`) line of the test or fixture that asked for it.
static DEF_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:async\s+)?def\s+(?P<name>[A-Za-z_]\w*)").expect("valid regex")
});

/// `path:lineno` closing the report.
static LAST_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?P<path>\S.*):(?P<line>\d+)$").expect("valid regex"));

pub(super) fn is_fixture_error(lines: &[&str]) -> bool {
    lines
        .iter()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| HEADER.is_match(l.trim()))
}

/// The test (or fixture) that requested the missing fixture is the one frame; its location
/// comes from the closing `path:lineno` line.
pub(super) fn parse(lines: &[&str], root: Option<&str>) -> Option<ParsedFailure> {
    let header = lines.iter().find_map(|l| HEADER.captures(l.trim()))?;
    let function = lines
        .iter()
        .find_map(|l| DEF_LINE.captures(l))
        .and_then(|c| c.name("name"))
        .map(|m| m.as_str());
    let (path, line) = match lines
        .iter()
        .rev()
        .find_map(|l| LAST_LINE.captures(l.trim()))
    {
        Some(last) => (last.name("path"), last["line"].parse().ok()),
        None => (header.name("path"), header["line"].parse().ok()),
    };
    let frame = origin::frame(path.map_or("", |m| m.as_str()), line, function, root);
    let message: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("E "))
        .map(str::trim)
        .collect();
    Some(ParsedFailure {
        source: Source::PytestLongrepr,
        location: Some(origin::location_of(&frame)),
        raised: Raised {
            exception: Some("FixtureLookupError".to_string()),
            message: python_traceback::join_message(&message),
            frames: vec![frame],
        },
        chain: vec![],
        group: vec![],
    })
}

#[cfg(test)]
mod tests {
    use crate::diagnose::failure::{Origin, Source};
    use crate::diagnose::parse::{parse, FailureText};

    #[test]
    fn a_missing_fixture_is_a_fixture_lookup_error_at_the_test() {
        let p = parse(FailureText {
            text: include_str!("samples/pytest_auto_missing_fixture.txt"),
            message: "",
            hint: Some(Source::PytestLongrepr),
            root: Some("/tmp/vparse/proj"),
        });
        assert_eq!(p.source, Source::PytestLongrepr);
        assert_eq!(p.raised.exception.as_deref(), Some("FixtureLookupError"));
        assert_eq!(p.raised.message, "fixture 'database' not found");
        let frame = &p.raised.frames[0];
        assert_eq!(frame.function.as_deref(), Some("test_missing_fixture"));
        assert_eq!(
            (frame.path.as_str(), frame.line, frame.origin),
            ("tests/test_forms.py", Some(42), Origin::Project)
        );
        assert_eq!(
            p.location.map(|l| l.path),
            Some("tests/test_forms.py".to_string())
        );
    }
}
