//! Rules that put a failure in a category: regexes on the exception type, the message and the
//! whole text, like Allure's categories.json and ReportPortal's pattern analysis. The user's
//! rules (from `[[diagnose.rules]]`) come first, then the built-in table; first match wins.

use std::collections::BTreeMap;

use regex::Regex;

use crate::events::Outcome;

use super::builtin_rules::BUILTIN;
use super::category::{Category, Nature};
use super::failure::{ParsedFailure, Raised};

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `builtin:NAME` or `user:NAME`.
    pub id: String,
    pub category: Category,
    pub nature: Nature,
    pub confidence: f32,
    /// Searched in an exception's type as printed (`sqlite3.OperationalError`).
    pub exception: Option<Regex>,
    /// Searched in the same exception's message; named groups fill `{name}` in cause/advice.
    pub message: Option<Regex>,
    /// Searched in the whole failure text.
    pub trace: Option<Regex>,
    /// Only for results with this outcome (vigil's crash and timeout verdicts).
    pub outcome: Option<Outcome>,
    pub cause: String,
    pub advice: Option<String>,
}

/// A rule as written: in the built-in table or in config. Patterns are regexes.
#[derive(Debug, Clone, Default)]
pub struct RuleSpec {
    pub name: String,
    pub category: Option<Category>,
    pub nature: Option<Nature>,
    pub confidence: Option<f32>,
    pub exception: Option<String>,
    pub message: Option<String>,
    pub trace: Option<String>,
    pub outcome: Option<Outcome>,
    pub cause: Option<String>,
    pub advice: Option<String>,
}

/// What a rule is checked against.
pub struct Subject<'a> {
    pub failure: &'a ParsedFailure,
    pub text: &'a str,
    pub outcome: Outcome,
}

/// The rule that matched and the values its patterns captured.
#[derive(Debug, Clone)]
pub struct Match<'r> {
    pub rule: &'r Rule,
    pub captures: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("rule `{rule}`: `{field}` is not a valid regex: {error}")]
    Regex {
        rule: String,
        field: &'static str,
        error: regex::Error,
    },
    #[error("rule `{rule}` matches nothing: give at least one of `exception`, `message`, `trace`")]
    Empty { rule: String },
}

/// User rules, then the built-in ones.
#[derive(Debug, Clone)]
pub struct Rules {
    rules: Vec<Rule>,
}

impl Rules {
    /// The built-in table alone.
    pub fn builtin() -> Rules {
        Rules::with_user(Vec::new())
    }

    /// `user` (already compiled, in config order) ahead of the built-in table.
    pub fn with_user(user: Vec<Rule>) -> Rules {
        Rules {
            rules: user.into_iter().chain(BUILTIN.iter().cloned()).collect(),
        }
    }

    /// The first rule that matches; the last built-in rule matches everything.
    pub fn first_match<'r>(&'r self, subject: &Subject<'_>) -> Option<Match<'r>> {
        self.rules
            .iter()
            .find_map(|rule| matches(rule, subject).map(|captures| Match { rule, captures }))
    }
}

/// Compiles one rule; `origin` is `builtin` or `user`.
pub fn compile(origin: &str, spec: &RuleSpec) -> Result<Rule, RuleError> {
    let regex = |field: &'static str, pattern: &Option<String>| {
        pattern
            .as_deref()
            .map(Regex::new)
            .transpose()
            .map_err(|error| RuleError::Regex {
                rule: spec.name.clone(),
                field,
                error,
            })
    };
    let rule = Rule {
        id: format!("{origin}:{}", spec.name),
        category: spec.category.unwrap_or(Category::Unknown),
        nature: spec.nature.unwrap_or(Nature::Deterministic),
        confidence: spec.confidence.unwrap_or(0.8).clamp(0.0, 1.0),
        exception: regex("exception", &spec.exception)?,
        message: regex("message", &spec.message)?,
        trace: regex("trace", &spec.trace)?,
        outcome: spec.outcome,
        cause: spec.cause.clone().unwrap_or_else(|| spec.name.clone()),
        advice: spec.advice.clone(),
    };
    let empty = rule.exception.is_none()
        && rule.message.is_none()
        && rule.trace.is_none()
        && rule.outcome.is_none();
    if empty && origin != "builtin" {
        return Err(RuleError::Empty {
            rule: spec.name.clone(),
        });
    }
    Ok(rule)
}

/// The captures of `rule` on `subject`, or `None` when it does not match. Exception and
/// message patterns must hold on one exception of the chain (the raised one, its causes, a
/// group's members), so `raise AppError from ConnectionRefusedError` is a network failure.
fn matches(rule: &Rule, subject: &Subject<'_>) -> Option<BTreeMap<String, String>> {
    if rule.outcome.is_some_and(|o| o != subject.outcome) {
        return None;
    }
    let mut captures = BTreeMap::new();
    if let Some(trace) = &rule.trace {
        collect(trace, subject.text, &mut captures)?;
    }
    if rule.exception.is_none() && rule.message.is_none() {
        return Some(captures);
    }
    let found = subject
        .failure
        .exceptions()
        .find_map(|raised| on_exception(rule, raised))?;
    captures.extend(found);
    Some(captures)
}

fn on_exception(rule: &Rule, raised: &Raised) -> Option<BTreeMap<String, String>> {
    let mut captures = BTreeMap::new();
    if let Some(pattern) = &rule.exception {
        collect(pattern, raised.exception.as_deref()?, &mut captures)?;
    }
    if let Some(pattern) = &rule.message {
        collect(pattern, &raised.message, &mut captures)?;
    }
    Some(captures)
}

/// Searches `text`; on a match, adds its named groups to `into`.
fn collect(pattern: &Regex, text: &str, into: &mut BTreeMap<String, String>) -> Option<()> {
    let found = pattern.captures(text)?;
    for name in pattern.capture_names().flatten() {
        if let Some(value) = found.name(name) {
            into.insert(name.to_string(), value.as_str().to_string());
        }
    }
    Some(())
}

/// Fills `{name}` in a cause or advice with captured values; unknown names stay as written.
pub fn fill(template: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = template.to_string();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::failure::{Link, Source};

    fn raised(exception: &str, message: &str) -> Raised {
        Raised {
            exception: Some(exception.into()),
            message: message.into(),
            frames: vec![],
        }
    }

    fn failure(raised: Raised, chain: Vec<(Raised, Link)>) -> ParsedFailure {
        ParsedFailure {
            source: Source::PytestLongrepr,
            raised,
            chain,
            group: vec![],
            location: None,
        }
    }

    fn rule_of(rules: &Rules, failure: &ParsedFailure, outcome: Outcome) -> String {
        let subject = Subject {
            failure,
            text: "",
            outcome,
        };
        rules
            .first_match(&subject)
            .map(|m| m.rule.id.clone())
            .unwrap_or_default()
    }

    #[test]
    fn a_cause_in_the_chain_decides_for_a_generic_wrapper() {
        let f = failure(
            raised("app.errors.AppError", "payment service unreachable"),
            vec![(
                raised("ConnectionRefusedError", "[Errno 111] Connection refused"),
                Link::Cause,
            )],
        );
        assert_eq!(
            rule_of(&Rules::builtin(), &f, Outcome::Failed),
            "builtin:connection-refused"
        );
    }

    #[test]
    fn user_rules_come_first_and_fill_their_captures() {
        let spec = RuleSpec {
            name: "sandbox".into(),
            category: Some(Category::Network),
            message: Some(r"sandbox (?P<region>\w+) down".into()),
            cause: Some("sandbox {region} is down".into()),
            ..RuleSpec::default()
        };
        let rules = Rules::with_user(vec![compile("user", &spec).expect("compiles")]);
        let f = failure(raised("AssertionError", "sandbox eu down"), vec![]);
        let subject = Subject {
            failure: &f,
            text: "",
            outcome: Outcome::Failed,
        };
        let found = rules.first_match(&subject).expect("match");
        assert_eq!(found.rule.id, "user:sandbox");
        assert_eq!(
            fill(&found.rule.cause, &found.captures),
            "sandbox eu is down"
        );
    }

    #[test]
    fn outcome_rules_only_match_their_outcome() {
        let f = failure(
            raised("", "worker crashed (killed by signal 9 (SIGKILL))"),
            vec![],
        );
        assert_eq!(
            rule_of(&Rules::builtin(), &f, Outcome::Crashed),
            "builtin:killed"
        );
        let g = failure(raised("", "something odd"), vec![]);
        assert_eq!(
            rule_of(&Rules::builtin(), &g, Outcome::Failed),
            "builtin:unknown"
        );
    }

    #[test]
    fn a_user_rule_needs_a_pattern_and_valid_regexes() {
        let empty = RuleSpec {
            name: "nothing".into(),
            ..RuleSpec::default()
        };
        assert!(matches!(
            compile("user", &empty),
            Err(RuleError::Empty { .. })
        ));
        let bad = RuleSpec {
            name: "bad".into(),
            trace: Some("(".into()),
            ..RuleSpec::default()
        };
        assert!(matches!(
            compile("user", &bad),
            Err(RuleError::Regex { field: "trace", .. })
        ));
    }
}
