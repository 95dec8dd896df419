//! Diagnosis: every failure is parsed ([`parse`]), fingerprinted so the same bug groups across
//! tests and runs, put in a [`Category`] with a [`Nature`] and a confidence by the first rule
//! that matches, and later matched against history and turned into recommendations.

mod address;
mod builtin_rules;
pub mod category;
pub mod failure;
mod fingerprint;
pub mod groups;
mod normalize;
pub mod parse;
mod recommend;
pub mod rules;
pub mod score;
mod source_line;

use serde::{Deserialize, Serialize};

use crate::events::{Location, Outcome, Phase, Problem, TestResult};

pub use category::{Category, Nature};
pub use failure::{Frame, Origin, ParsedFailure, Raised, Source};
pub use normalize::normalize;
pub use recommend::Recommendation;
pub use rules::{Rule, RuleError, RuleSpec, Rules};

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
    /// The rule that decided the category (`builtin:connection-refused`, `user:NAME`).
    pub rule: String,
    /// The likely cause, in a sentence.
    pub cause: String,
    /// What to do about it, when the rule knows.
    pub advice: Option<String>,
    /// Error lines the test's run wrote to the `[diagnose] logs` files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<LogExcerpt>,
}

/// The error lines one log file got while a failing test ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogExcerpt {
    /// The file, relative to the rootdir when below it.
    pub file: String,
    pub lines: Vec<String>,
}

/// The title prefix of the captured sections the executor adds for `[diagnose] logs`.
pub const LOG_SECTION: &str = "vigil log ";

/// The log excerpts among a result's captured sections.
fn log_excerpts(sections: &[(String, String)]) -> Vec<LogExcerpt> {
    sections
        .iter()
        .filter_map(|(title, text)| {
            let file = title.strip_prefix(LOG_SECTION)?;
            Some(LogExcerpt {
                file: file.to_string(),
                lines: text.lines().map(str::to_string).collect(),
            })
        })
        .collect()
}

/// Diagnoses the failures of one project: the rules to apply and the root paths are
/// relative to.
#[derive(Debug, Clone)]
pub struct Diagnoser {
    rules: Rules,
    root: String,
}

impl Diagnoser {
    pub fn new(rules: Rules, root: &std::path::Path) -> Diagnoser {
        Diagnoser {
            rules,
            root: root.to_string_lossy().into_owned(),
        }
    }

    /// The diagnosis of a failing result (`None` for results that did not fail).
    pub fn diagnose(&self, result: &TestResult) -> Option<Box<Diagnosis>> {
        if !result.outcome.is_failure() {
            return None;
        }
        let problem = result.problems.first()?;
        let mut diagnosis = self.diagnose_text(&result.id, result.outcome, problem);
        diagnosis.logs = log_excerpts(&result.sections);
        Some(Box::new(diagnosis))
    }

    /// The diagnosis of one problem of test `test_id`.
    pub fn diagnose_text(&self, test_id: &str, outcome: Outcome, problem: &Problem) -> Diagnosis {
        let mut parsed = parse::parse(parse::FailureText {
            text: &problem.longrepr,
            message: &problem.message,
            hint: hint(test_id, outcome, problem.phase),
            root: Some(&self.root),
        });
        fingerprint::relativize(&mut parsed, &self.root);
        if parsed.location.is_none() {
            parsed.location = problem.location.clone();
        }
        let source_line = source_line::failing_line(&problem.longrepr);
        let message_key = fingerprint::message_key(&parsed, source_line.as_deref());
        let key = fingerprint::key(&parsed, test_id, message_key);
        let subject = rules::Subject {
            failure: &parsed,
            text: &problem.longrepr,
            outcome,
        };
        let verdict = self.verdict(&subject);
        let message = first_line(&parsed.raised.message, &problem.message);
        Diagnosis {
            fingerprint: key.hash(),
            source: parsed.source,
            exception: parsed.raised.exception.clone(),
            normalized: normalize(&message),
            message,
            location: parsed.location.clone(),
            frames: key.frames,
            category: verdict.category,
            nature: verdict.nature,
            confidence: verdict.confidence,
            rule: verdict.rule,
            cause: verdict.cause,
            advice: verdict.advice,
            logs: Vec::new(),
        }
    }

    fn verdict(&self, subject: &rules::Subject<'_>) -> Verdict {
        let Some(found) = self.rules.first_match(subject) else {
            return Verdict::unknown();
        };
        let values = template_values(subject, found.captures.clone());
        let rule = found.rule;
        Verdict {
            category: rule.category,
            nature: rule.nature,
            confidence: rule.confidence,
            rule: rule.id.clone(),
            cause: rules::fill(&rule.cause, &values),
            advice: rule.advice.as_ref().map(|a| rules::fill(a, &values)),
        }
    }
}

/// What a rule's cause and advice may name: its captures, plus `{addr}` (the address the
/// failure names), `{at}` (where it surfaced) and `{exception}`.
fn template_values(
    subject: &rules::Subject<'_>,
    mut values: std::collections::BTreeMap<String, String>,
) -> std::collections::BTreeMap<String, String> {
    let failure = subject.failure;
    let addr = address::find(&failure.raised.message)
        .or_else(|| address::find(subject.text))
        .unwrap_or_else(|| "the address the test connects to".to_string());
    values.entry("addr".to_string()).or_insert(addr);
    let at = failure.location.as_ref().map_or_else(
        || "the failing line".to_string(),
        |l| match l.line {
            Some(n) => format!("{}:{n}", l.path),
            None => l.path.clone(),
        },
    );
    values.entry("at".to_string()).or_insert(at);
    let exception = failure.raised.exception.as_deref().unwrap_or("the error");
    values
        .entry("exception".to_string())
        .or_insert_with(|| exception.to_string());
    values
}

/// A rule's decision with its templates filled in.
struct Verdict {
    category: Category,
    nature: Nature,
    confidence: f32,
    rule: String,
    cause: String,
    advice: Option<String>,
}

impl Verdict {
    fn unknown() -> Verdict {
        Verdict {
            category: Category::Unknown,
            nature: Nature::Deterministic,
            confidence: 0.0,
            rule: "none".to_string(),
            cause: "no rule recognises this failure".to_string(),
            advice: None,
        }
    }
}

/// What produced the text, as far as the result says.
fn hint(test_id: &str, outcome: Outcome, phase: Phase) -> Option<Source> {
    match (outcome, phase) {
        (Outcome::Crashed | Outcome::TimedOut, _) => Some(Source::Executor),
        (_, Phase::Collect) => Some(Source::CollectionError),
        _ if test_id.starts_with("native:") => Some(Source::RustPanic),
        _ => None,
    }
}

fn first_line(parsed: &str, fallback: &str) -> String {
    let line = parsed.lines().map(str::trim).find(|l| !l.is_empty());
    line.unwrap_or(fallback.lines().next().unwrap_or(""))
        .to_string()
}
