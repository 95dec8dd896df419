//! Diagnosis: every failure is parsed ([`parse`]), fingerprinted so the same bug groups across
//! tests and runs, put in a [`Category`] with a [`Nature`] and a confidence by the first rule
//! that matches, and later matched against history and turned into recommendations.

pub mod category;
pub mod failure;
pub mod parse;

use serde::{Deserialize, Serialize};

use crate::events::Location;

pub use category::{Category, Nature};
pub use failure::{Frame, Origin, ParsedFailure, Raised, Source};

/// The verdict on one failing test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// 16 hex digits; equal for the same bug wherever it shows up.
    pub fingerprint: String,
    pub source: Source,
    /// The exception type the test saw (`ConnectionRefusedError`), if the text names one.
    pub exception: Option<String>,
    /// The first line of its message.
    pub message: String,
    /// The message with its volatile parts (numbers, paths, ids, quoted values) replaced.
    pub normalized: String,
    pub location: Option<Location>,
    /// The project frames the fingerprint was taken from, innermost first.
    pub frames: Vec<Frame>,
    pub category: Category,
    pub nature: Nature,
    /// 0–1: how sure the matching rule is.
    pub confidence: f32,
    /// The rule that decided the category (`builtin:connection-refused`, `user:3`).
    pub rule: String,
    /// The likely cause, in a sentence.
    pub cause: String,
    /// What to do about it, when the rule knows.
    pub advice: Option<String>,
}
