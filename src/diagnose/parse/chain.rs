//! Chained exceptions: a text printed as several tracebacks joined by Python's two link
//! phrases is cut at them, each piece is read in its own form (pytest's or Python's native),
//! and the pieces are put back together as one failure with a chain.

use crate::diagnose::failure::{Link, ParsedFailure, Source};

use super::{pytest_longrepr, python_traceback};

/// `raise ... from ...`.
const CAUSE: &str = "The above exception was the direct cause of the following exception:";
/// An exception raised while another was being handled.
const CONTEXT: &str = "During handling of the above exception, another exception occurred:";

/// One traceback of a chain, with the link from the traceback before it.
struct Piece<'a> {
    link: Option<Link>,
    lines: Vec<&'a str>,
}

/// Reads a Python failure text, chained or not, in pytest's forms or the native one.
pub(super) fn parse(text: &str, root: Option<&str>) -> Option<ParsedFailure> {
    parse_with(text, root, parse_piece)
}

/// Reads a text known to be native: an exception group's member, which may be no more than
/// its exception line (`ValueError: first`).
pub(super) fn parse_native(text: &str, root: Option<&str>) -> Option<ParsedFailure> {
    parse_with(text, root, python_traceback::parse_block)
}

type Reader = fn(&[&str], Option<&str>) -> Option<ParsedFailure>;

fn parse_with(text: &str, root: Option<&str>, read: Reader) -> Option<ParsedFailure> {
    let parsed: Vec<(ParsedFailure, Option<Link>)> = split(text)
        .into_iter()
        .filter_map(|piece| Some((read(&piece.lines, root)?, piece.link)))
        .collect();
    assemble(parsed)
}

/// A piece is native when Python printed it: pytest uses the native form for `--tb=native`
/// and for every exception group, whatever the style.
fn parse_piece(lines: &[&str], root: Option<&str>) -> Option<ParsedFailure> {
    if python_traceback::is_native(lines) {
        python_traceback::parse_block(lines, root)
    } else {
        pytest_longrepr::parse_section(lines, root)
    }
}

/// Cuts the text at the link phrases. Only a phrase starting its line counts: inside an
/// exception group the members' own chains are printed behind `|` and stay whole.
fn split(text: &str) -> Vec<Piece<'_>> {
    let mut pieces = vec![Piece {
        link: None,
        lines: vec![],
    }];
    for line in text.lines() {
        let link = match line.trim_end() {
            CAUSE => Some(Link::Cause),
            CONTEXT => Some(Link::Context),
            _ => None,
        };
        match (link, pieces.last_mut()) {
            (Some(_), _) | (None, None) => pieces.push(Piece {
                link,
                lines: vec![],
            }),
            (None, Some(piece)) => piece.lines.push(line),
        }
    }
    pieces
}

/// The last piece is the exception raised; each earlier one joins the chain with the link
/// printed after it. Exception-group members of every piece are kept.
fn assemble(mut parsed: Vec<(ParsedFailure, Option<Link>)>) -> Option<ParsedFailure> {
    let any_pytest = parsed
        .iter()
        .any(|(p, _)| p.source == Source::PytestLongrepr);
    // Only the first piece has no link; a piece dropped as unreadable shifts none of them.
    let links: Vec<Link> = parsed
        .iter()
        .skip(1)
        .map(|(_, link)| link.unwrap_or(Link::Context))
        .collect();
    let (mut last, _) = parsed.pop()?;
    let mut group = Vec::new();
    for ((piece, _), link) in parsed.into_iter().zip(links) {
        last.chain.push((piece.raised, link));
        group.extend(piece.group);
    }
    group.append(&mut last.group);
    last.group = group;
    if any_pytest {
        last.source = Source::PytestLongrepr;
    }
    Some(last)
}
