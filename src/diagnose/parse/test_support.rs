//! What the parsers' tests share: parsing a captured sample with a hint and a root, and
//! reading back the exception, the frames' functions and the location.

use crate::diagnose::failure::{ParsedFailure, Source};
use crate::diagnose::parse::{parse, FailureText};

/// `text` parsed with `hint` (or recognised, without one) and `root` as the project root.
pub fn parsed_as(text: &str, hint: Option<Source>, root: &str) -> ParsedFailure {
    parse(FailureText {
        text,
        message: "",
        hint,
        root: Some(root),
    })
}

/// The raised exception's type and message.
pub fn exception(p: &ParsedFailure) -> (Option<&str>, &str) {
    (p.raised.exception.as_deref(), p.raised.message.as_str())
}

/// The raised exception's frames' functions, outermost first (`?` for none).
pub fn functions(p: &ParsedFailure) -> Vec<&str> {
    p.raised
        .frames
        .iter()
        .map(|f| f.function.as_deref().unwrap_or("?"))
        .collect()
}

/// Where the failure surfaced; panics when it has no location.
pub fn location(p: &ParsedFailure) -> (&str, Option<u32>) {
    let l = p.location.as_ref().expect("a location");
    (l.path.as_str(), l.line)
}
