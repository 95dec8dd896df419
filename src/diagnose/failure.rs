//! What a failure text says once parsed: the exception, its message, where it was raised, the
//! frames that led there (and whose code each one is), and the exceptions chained to it.

use serde::{Deserialize, Serialize};

use crate::events::Location;

/// Which kind of text a failure was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// pytest's longrepr (`--tb=auto/long/short/line`), assertion rewrites included.
    PytestLongrepr,
    /// Python's own `Traceback (most recent call last):` form (`--tb=native`, logs, JUnit).
    PythonTraceback,
    /// A file pytest could not collect.
    CollectionError,
    /// A Rust panic from a libtest binary.
    RustPanic,
    /// The executor's own verdict: the worker crashed or the test timed out.
    Executor,
    /// Nothing recognisable: the message alone.
    Plain,
}

/// Whose code a frame runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A file of the project under test (tests included).
    Project,
    /// An installed package: site-packages, dist-packages, a cargo registry crate.
    ThirdParty,
    /// Python's standard library or Rust's std/core/alloc.
    Stdlib,
}

/// One stack frame, as the text shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    /// As printed; relative to the project root when below it (pytest's own styles print
    /// project paths relative, native tracebacks absolute). Empty for a Rust frame printed
    /// without a file.
    pub path: String,
    pub line: Option<u32>,
    /// The function (Python) or path (Rust, `crate::module::function`), when the text names it.
    pub function: Option<String>,
    pub origin: Origin,
}

/// One exception: its type as printed (`sqlite3.OperationalError`, `ConnectionRefusedError`)
/// and its message (all lines).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Raised {
    pub exception: Option<String>,
    pub message: String,
    /// The frames of this exception's traceback, outermost first (the order tracebacks print).
    pub frames: Vec<Frame>,
}

/// How an earlier exception in a chain relates to the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    /// "The above exception was the direct cause of the following exception" (`raise ... from`).
    Cause,
    /// "During handling of the above exception, another exception occurred".
    Context,
}

/// A parsed failure. `raised` is the exception the test saw (the last one printed); `chain`
/// holds the exceptions before it, innermost cause first, as Python prints them; `group`
/// holds the sub-exceptions of an `ExceptionGroup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedFailure {
    pub source: Source,
    pub raised: Raised,
    pub chain: Vec<(Raised, Link)>,
    pub group: Vec<Raised>,
    /// Where the failure surfaced (pytest's crash line, a panic's `file:line:col`).
    pub location: Option<Location>,
}

impl ParsedFailure {
    /// A failure known only by a one-line message.
    pub fn plain(source: Source, message: &str) -> ParsedFailure {
        ParsedFailure {
            source,
            raised: Raised {
                exception: None,
                message: message.to_string(),
                frames: vec![],
            },
            chain: vec![],
            group: vec![],
            location: None,
        }
    }

    /// Every exception in it: the raised one, then its chain from the nearest, then a
    /// group's members.
    pub fn exceptions(&self) -> impl Iterator<Item = &Raised> {
        std::iter::once(&self.raised)
            .chain(self.chain.iter().rev().map(|(r, _)| r))
            .chain(&self.group)
    }
}
