//! pytest's own traceback styles (`--tb=auto`, `long`, `short`, `line`), one traceback of a
//! chain at a time.
//!
//! A long entry shows the function's source with `>` at the failing line, then `E   ` lines
//! with the exception, then its location `path:lineno: ` (the last entry's ends with the
//! exception's class name, `path:12: AssertionError`); entries are separated by `_ _ _` lines.
//! A short entry starts with `path:lineno: in func` and shows only the failing line. `--tb=line`
//! stores only the exception: its first line behind `E   `, the others indented. `auto` is
//! long for the first and last entries and short in between.

use std::sync::LazyLock;

use regex::Regex;

use crate::diagnose::failure::{Frame, ParsedFailure, Source};

use super::pytest_exception::{self, exception_line};
use super::{fixture_error, origin};

/// `tests/test_x.py:12: ` (long), `tests/test_x.py:12: ValueError` (long, last), or
/// `tests/test_x.py:12: in helper` (short). Paths may be `<frozen importlib._bootstrap>`.
static LOCATION_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<path><[^>]+>|[^\s<].*?):(?P<line>\d+):(?: (?:in (?P<func>\S.*)|(?P<type>[A-Za-z_][\w.]*))?)?\s*$")
        .expect("valid regex")
});

/// A `def` line of the source a long entry shows.
static DEF_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<indent>\s*)(?:async\s+)?def\s+(?P<name>[A-Za-z_]\w*)").expect("valid regex")
});

/// What one traceback (chain piece) in pytest's form says.
#[derive(Default)]
struct Entries<'a> {
    frames: Vec<Frame>,
    /// The `E` lines, without the `E`.
    exception_lines: Vec<&'a str>,
    /// The class name on the last long entry's location line.
    crash_type: Option<&'a str>,
}

/// Reads one traceback in pytest's form; `None` when the lines show none of its marks.
pub(super) fn parse_section(lines: &[&str], root: Option<&str>) -> Option<ParsedFailure> {
    if fixture_error::is_fixture_error(lines) {
        return fixture_error::parse(lines, root);
    }
    let entries = read_entries(lines, root).or_else(|| read_line_style(lines))?;
    let mut frames = entries.frames;
    let (exception, message, syntax_frame) =
        pytest_exception::read(&entries.exception_lines, entries.crash_type, root);
    frames.extend(syntax_frame);
    Some(super::raised_at_innermost(
        Source::PytestLongrepr,
        exception,
        message,
        frames,
    ))
}

/// The long and short styles: frames from the location lines, the `E` lines wherever they are.
fn read_entries<'a>(lines: &[&'a str], root: Option<&str>) -> Option<Entries<'a>> {
    let mut entries = Entries::default();
    // The lines of the entry being read, since the last location line: a long entry's
    // source, whose `def` names the function the location line does not.
    let mut source: Vec<&str> = Vec::new();
    for line in lines {
        if let Some(rest) = exception_line(line) {
            entries.exception_lines.push(rest);
        } else if let Some(c) = location_line(line) {
            let line_no = c["line"].parse().ok();
            let function = match c.name("func") {
                Some(f) => Some(f.as_str()),
                None => enclosing_def(&source),
            };
            entries
                .frames
                .push(origin::frame(&c["path"], line_no, function, root));
            entries.crash_type = c.name("type").map(|t| t.as_str());
            source.clear();
        } else {
            source.push(line);
        }
    }
    (!entries.frames.is_empty()).then_some(entries)
}

/// `--tb=line`: no location lines; the exception's first line has the `E`, the others are
/// indented to match.
fn read_line_style<'a>(lines: &[&'a str]) -> Option<Entries<'a>> {
    let start = lines.iter().position(|l| exception_line(l).is_some())?;
    let exception_lines = lines[start..]
        .iter()
        .map(|l| l.get(1..).unwrap_or(""))
        .collect();
    Some(Entries {
        exception_lines,
        ..Entries::default()
    })
}

/// Source lines, `E` lines and funcargs (`port = 1`) never look like a location line.
fn location_line(line: &str) -> Option<regex::Captures<'_>> {
    let c = LOCATION_LINE.captures(line)?;
    (!c["path"].contains(" = ")).then_some(c)
}

/// The function a long entry's failing line (`>`) is in: the nearest `def` above it that is
/// indented less (a nested function defined earlier is not the one running).
fn enclosing_def<'a>(source: &[&'a str]) -> Option<&'a str> {
    let marker = source.iter().rposition(|l| l.starts_with('>'))?;
    let failing = indentation(&source[marker][1..]) + 1;
    source[..marker].iter().rev().find_map(|l| {
        let c = DEF_LINE.captures(l)?;
        let name = c.name("name")?.as_str();
        (c["indent"].len() < failing).then_some(name)
    })
}

pub(super) fn indentation(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

#[cfg(test)]
mod tests {
    use crate::diagnose::failure::{Link, Origin, Source};
    use crate::diagnose::parse::test_support::{exception, functions, location, parsed_as};
    use crate::diagnose::ParsedFailure;

    fn parsed(text: &str) -> ParsedFailure {
        parsed_as(text, Some(Source::PytestLongrepr), "/tmp/vparse/proj")
    }

    #[test]
    fn long_entries_take_the_function_from_the_def_above_the_failing_line() {
        let p = parsed(include_str!("samples/pytest_long_connection_refused.txt"));
        assert_eq!(
            exception(&p),
            (
                Some("ConnectionRefusedError"),
                "[Errno 111] Connection refused"
            )
        );
        assert_eq!(
            functions(&p),
            [
                "test_connection_refused",
                "connect",
                "create_connection",
                "create_connection"
            ]
        );
        let origins: Vec<Origin> = p.raised.frames.iter().map(|f| f.origin).collect();
        assert_eq!(
            origins,
            [
                Origin::Project,
                Origin::Project,
                Origin::Stdlib,
                Origin::Stdlib
            ]
        );
        assert_eq!(
            location(&p),
            (
                "/root/.pyenv/versions/3.11.7/lib/python3.11/socket.py",
                Some(836)
            )
        );
    }

    #[test]
    fn auto_and_short_styles_give_the_same_frames() {
        let auto = parsed(include_str!("samples/pytest_auto_connection_refused.txt"));
        let short = parsed(include_str!("samples/pytest_short_connection_refused.txt"));
        assert_eq!(auto.raised, short.raised);
        assert_eq!(auto.location, short.location);
        let lines: Vec<Option<u32>> = auto.raised.frames.iter().map(|f| f.line).collect();
        assert_eq!(lines, [Some(17), Some(10), Some(851), Some(836)]);
    }

    #[test]
    fn an_explicit_cause_is_chained_in_auto_and_short_styles() {
        for text in [
            include_str!("samples/pytest_auto_raise_from.txt"),
            include_str!("samples/pytest_short_raise_from.txt"),
        ] {
            let p = parsed(text);
            assert_eq!(
                exception(&p),
                (Some("RuntimeError"), "config could not be loaded")
            );
            assert_eq!(location(&p), ("tests/test_forms.py", Some(24)));
            assert_eq!(p.chain.len(), 1);
            let (cause, link) = &p.chain[0];
            assert_eq!(*link, Link::Cause);
            assert_eq!(cause.exception.as_deref(), Some("FileNotFoundError"));
            assert_eq!(
                cause.message,
                "[Errno 2] No such file or directory: '/nonexistent/vigil.toml'"
            );
            let names: Vec<_> = cause
                .frames
                .iter()
                .filter_map(|f| f.function.as_deref())
                .collect();
            assert_eq!(names, ["test_raise_from", "load_config"]);
        }
    }

    #[test]
    fn implicit_chaining_and_multi_line_messages() {
        for text in [
            include_str!("samples/pytest_auto_implicit_chain.txt"),
            include_str!("samples/pytest_line_implicit_chain.txt"),
        ] {
            let p = parsed(text);
            assert_eq!(
                exception(&p),
                (Some("ValueError"), "bad lookup\nsecond line of the message")
            );
            assert_eq!(p.chain.len(), 1);
            assert_eq!(p.chain[0].1, Link::Context);
            assert_eq!(p.chain[0].0.exception.as_deref(), Some("KeyError"));
            assert_eq!(p.chain[0].0.message, "'missing'");
        }
    }
}
