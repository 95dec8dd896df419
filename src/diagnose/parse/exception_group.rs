//! Exception groups as Python ≥ 3.11 prints them: the group's own traceback behind `| `, then
//! each member behind a deeper `| ` between `+---- N ----` separators. A member is itself a
//! traceback, possibly chained, possibly a group (printed without a header when it has no
//! traceback of its own).
//!
//! ```text
//!   + Exception Group Traceback (most recent call last):
//!   |   File "t.py", line 35, in test_x
//!   | ExceptionGroup: two failures (2 sub-exceptions)
//!   +-+---------------- 1 ----------------
//!     | ValueError: first
//!     +---------------- 2 ----------------
//!     | TypeError: second
//!     +------------------------------------
//! ```

use std::sync::LazyLock;

use regex::Regex;

use crate::diagnose::failure::ParsedFailure;

use super::{chain, python_traceback};

const HEADER: &str = "+ Exception Group Traceback (most recent call last):";

/// `+---- 3 ----` opens a member; `+---- ... ----` stands for members not printed
/// (`max_group_width`); `+-------` closes the group.
static SEPARATOR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\+-+(?: (?P<label>\S+) -+)?$").expect("valid regex"));

/// Whether the lines are a group: the header, or (for a nested group without a traceback)
/// the first member's separator at the start of a line.
pub(super) fn starts(lines: &[&str]) -> bool {
    let first = lines.iter().find(|l| !l.trim().is_empty());
    first.is_some_and(|l| l.trim() == HEADER) || lines.iter().any(|l| l.starts_with("+-+"))
}

/// The group is the exception raised; its members (and their members, flattened) are the
/// group. A member's own chain is not kept: only the exception it ended with.
pub(super) fn parse(lines: &[&str], root: Option<&str>) -> Option<ParsedFailure> {
    let (own, members, column) = split_own(lines)?;
    let mut group = python_traceback::parse_block(&own, root)?;
    for text in members_of(members, column) {
        if let Some(member) = chain::parse_native(&text, root) {
            group.group.push(member.raised);
            group.group.extend(member.group);
        }
    }
    Some(group)
}

/// The group's own lines (prefix removed), the lines from the first member's separator on,
/// and the column the members' separators start at.
fn split_own<'a, 'l>(lines: &'l [&'a str]) -> Option<(Vec<&'a str>, &'l [&'a str], usize)> {
    let first = lines.iter().position(|l| !l.trim().is_empty())?;
    if lines[first].trim() != HEADER {
        // A nested group with no traceback: its own lines are plain, members start at `+-+`.
        let at = lines.iter().position(|l| l.starts_with("+-+"))?;
        return Some((lines[..at].to_vec(), &lines[at..], 2));
    }
    let body = &lines[first + 1..];
    // pytest strips the text it stores, so the header may have lost its indentation; the
    // first `|` below it gives the column.
    let column = body.first()?.find('|')?;
    let own_len = body
        .iter()
        .take_while(|l| l.get(column..).is_some_and(|rest| rest.starts_with('|')))
        .count();
    let own = body[..own_len]
        .iter()
        .filter_map(|l| l.get(column + 1..).map(strip_one_space))
        .collect();
    Some((own, &body[own_len..], column + 2))
}

/// Each printed member's text, its `| ` prefix removed.
fn members_of(lines: &[&str], column: usize) -> Vec<String> {
    let mut members: Vec<Vec<&str>> = Vec::new();
    let mut open = false;
    for line in lines {
        let Some(rest) = line.get(column..) else {
            continue;
        };
        if let Some(c) = SEPARATOR.captures(rest) {
            let Some(label) = c.name("label") else {
                break; // the closing separator
            };
            open = label.as_str().parse::<usize>().is_ok();
            if open {
                members.push(Vec::new());
            }
        } else if let (true, Some(member)) = (open, members.last_mut()) {
            // A nested group's own separators and members (`+-+---- 1`, `  | ...`) stay as
            // they are, to be read the same way one level down.
            member.push(rest.strip_prefix('|').map_or(rest, strip_one_space));
        }
    }
    members.into_iter().map(|m| m.join("\n")).collect()
}

fn strip_one_space(text: &str) -> &str {
    text.strip_prefix(' ').unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use crate::diagnose::failure::{Link, Origin, Source};
    use crate::diagnose::parse::chain;

    fn exceptions(raised: &[crate::diagnose::Raised]) -> Vec<(&str, &str)> {
        raised
            .iter()
            .map(|r| (r.exception.as_deref().unwrap_or("-"), r.message.as_str()))
            .collect()
    }

    #[test]
    fn pytest_prints_groups_natively_with_the_header_unindented() {
        let text = include_str!("samples/pytest_auto_exception_group.txt");
        let p = chain::parse(text, Some("/tmp/vparse/proj")).expect("parsed");
        assert_eq!(p.source, Source::PythonTraceback);
        assert_eq!(p.raised.exception.as_deref(), Some("ExceptionGroup"));
        assert_eq!(p.raised.message, "two failures (2 sub-exceptions)");
        assert_eq!(p.raised.frames.len(), 1);
        assert_eq!(
            p.raised.frames[0].function.as_deref(),
            Some("test_exception_group")
        );
        assert_eq!(p.raised.frames[0].path, "tests/test_forms.py");
        assert_eq!(
            exceptions(&p.group),
            [("ValueError", "first"), ("TypeError", "second")]
        );
        assert_eq!(p.location.and_then(|l| l.line), Some(35));
    }

    #[test]
    fn members_keep_their_tracebacks_and_end_in_their_last_exception() {
        let p = chain::parse(
            include_str!("samples/python_group.txt"),
            Some("/tmp/vparse/py"),
        )
        .expect("parsed");
        assert_eq!(p.raised.exception.as_deref(), Some("ExceptionGroup"));
        assert_eq!(
            exceptions(&p.group),
            [
                (
                    "json.decoder.JSONDecodeError",
                    "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
                ),
                ("PermissionError", "no token configured"),
            ]
        );
        let json = &p.group[0].frames;
        let functions: Vec<_> = json.iter().filter_map(|f| f.function.as_deref()).collect();
        assert_eq!(
            functions,
            ["check_all", "parse", "loads", "decode", "raw_decode"]
        );
        assert_eq!(json[0].origin, Origin::Project);
        assert_eq!(json[4].origin, Origin::Stdlib);
        assert!(
            p.chain.is_empty(),
            "a member's cause is not the group's chain"
        );
    }

    #[test]
    fn nested_groups_are_flattened_and_a_group_can_be_a_cause() {
        let p =
            chain::parse(include_str!("samples/python_nested_group.txt"), None).expect("parsed");
        assert_eq!(
            (p.raised.exception.as_deref(), p.raised.message.as_str()),
            (Some("RuntimeError"), "batch failed")
        );
        assert_eq!(p.chain.len(), 1);
        assert_eq!(p.chain[0].0.exception.as_deref(), Some("ExceptionGroup"));
        assert_eq!(p.chain[0].1, Link::Cause);
        assert_eq!(
            exceptions(&p.group),
            [
                ("ExceptionGroup", "writes (2 sub-exceptions)"),
                ("OSError", "a: disk full"),
                ("OSError", "b: disk full"),
                ("TimeoutError", "reader"),
            ]
        );
        assert_eq!(p.group[1].frames.len(), 2);
    }

    #[test]
    fn base_exception_groups_and_bare_members_are_read() {
        let p = chain::parse(include_str!("samples/python_base_group.txt"), None).expect("parsed");
        assert_eq!(p.raised.exception.as_deref(), Some("BaseExceptionGroup"));
        assert_eq!(
            exceptions(&p.group),
            [("KeyboardInterrupt", ""), ("ValueError", "bad value")]
        );
    }
}
