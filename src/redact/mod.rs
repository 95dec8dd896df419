//! Secret redaction: the values of environment variables whose names look secret (`*TOKEN*`,
//! `*PASSWORD*`, ... and the `[redact]` table's own globs) are replaced by `[REDACTED:NAME]`
//! wherever they appear in what a run reports. The workers inherit vigil's environment, so
//! these are the values a test can print. Applied once, where events leave the executor (see
//! `events.rs` and `session::fanout`), so no reporter or history ever sees them.

mod events;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::sync::Once;

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use regex::{Regex, RegexBuilder};

use crate::config::{Loaded, RedactTable};

/// Name globs (case-insensitive) whose values are redacted unless `[redact] exempt` says not.
pub const DEFAULT_PATTERNS: [&str; 11] = [
    "*TOKEN*",
    "*SECRET*",
    "*PASSWORD*",
    "*PASSWD*",
    "*PASSPHRASE*",
    "*KEY*",
    "*CREDENTIAL*",
    "*PRIVATE*",
    "*AUTH*",
    "*COOKIE*",
    // A webhook URL holds its secret in its path.
    "VIGIL_NOTIFY_URL",
];

/// Names the patterns catch that hold no secret, only paths every process sees.
pub const DEFAULT_EXEMPT: [&str; 3] = ["SSH_AUTH_SOCK", "XAUTHORITY", "GPG_AGENT_INFO"];

/// Values shorter than this are not redacted: a 3-letter value would blot out every word
/// that contains it, and a secret that short protects nothing anyway.
pub const MIN_LENGTH: usize = 6;

/// What a secret is replaced with: says which variable's value was there, never the value.
pub fn marker(name: &str) -> String {
    format!("[REDACTED:{name}]")
}

#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    #[error("[redact] {key}: {pattern:?} is not a glob: {error}")]
    Glob {
        key: &'static str,
        pattern: String,
        error: globset::Error,
    },
    #[error("cannot build the redaction matcher for {count} secret values: {error}")]
    Matcher { count: usize, error: regex::Error },
}

/// The secret values of one environment and how to blot them out. Cheap to clone; empty
/// (redacting nothing, at no cost) when no variable matches.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Value → the marker that replaces it.
    markers: BTreeMap<String, String>,
    /// Every value as one alternation: a single pass tells whether a text holds any secret
    /// (most hold none, and stay as they are).
    matcher: Option<Regex>,
    /// Names whose values were too short to redact (empty ones aside), for the one warning.
    pub too_short: Vec<String>,
}

impl std::fmt::Debug for Redactor {
    /// Names only: a debug print of a request must not be the leak.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: std::collections::BTreeSet<&str> =
            self.markers.values().map(String::as_str).collect();
        f.debug_struct("Redactor")
            .field("names", &names)
            .field("too_short", &self.too_short)
            .finish()
    }
}

impl Redactor {
    /// The redactor for vigil's own environment and the project's `[redact]` table.
    pub fn for_project(loaded: &Loaded) -> Result<Redactor, RedactError> {
        Redactor::from_vars(std::env::vars_os(), &loaded.redact())
    }

    /// The redactor for `vars` (name, value) under `table`'s extra patterns and exemptions.
    pub fn from_vars(
        vars: impl IntoIterator<Item = (OsString, OsString)>,
        table: &RedactTable,
    ) -> Result<Redactor, RedactError> {
        let patterns = DEFAULT_PATTERNS.iter().map(|p| p.to_string());
        let patterns = globs("env", patterns.chain(list(&table.env)))?;
        let exempt = DEFAULT_EXEMPT.iter().map(|p| p.to_string());
        let exempt = globs("exempt", exempt.chain(list(&table.exempt)))?;
        let mut secrets: BTreeMap<String, String> = BTreeMap::new();
        let mut too_short = Vec::new();
        for (name, value) in vars {
            let name = name.to_string_lossy().into_owned();
            if !patterns.is_match(&name) || exempt.is_match(&name) {
                continue;
            }
            let value = value.to_string_lossy();
            let pieces = pieces(&value);
            if pieces.is_empty() {
                // An empty value hides nothing; a short one is worth a word.
                if !value.is_empty() {
                    too_short.push(name);
                }
                continue;
            }
            for piece in pieces {
                // Two names with one value: the first name (in sorted order) names it.
                match secrets.get(piece) {
                    Some(other) if *other <= name => {}
                    _ => {
                        secrets.insert(piece.to_string(), name.clone());
                    }
                }
            }
        }
        too_short.sort();
        Redactor::new(secrets, too_short)
    }

    fn new(
        secrets: BTreeMap<String, String>,
        too_short: Vec<String>,
    ) -> Result<Redactor, RedactError> {
        let values: Vec<&String> = secrets.keys().collect();
        let matcher = if values.is_empty() {
            None
        } else {
            let alternation: Vec<String> = values.iter().map(|v| regex::escape(v)).collect();
            let regex = RegexBuilder::new(&alternation.join("|"))
                .size_limit(256 << 20)
                .build()
                .map_err(|error| RedactError::Matcher {
                    count: values.len(),
                    error,
                })?;
            Some(regex)
        };
        let markers = secrets
            .into_iter()
            .map(|(value, name)| (value, marker(&name)))
            .collect();
        Ok(Redactor {
            markers,
            matcher,
            too_short,
        })
    }

    /// No secret to look for: redaction is a no-op.
    pub fn is_empty(&self) -> bool {
        self.matcher.is_none()
    }

    /// `text` with every secret value replaced by its marker (borrowed when it has none).
    /// Where occurrences overlap (one secret's tail is another's head, `abab` in `ababab`),
    /// the whole stretch they cover becomes one marker, so no piece of either is left.
    pub fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match &self.matcher {
            Some(matcher) if matcher.is_match(text) => Cow::Owned(self.replace(text)),
            _ => Cow::Borrowed(text),
        }
    }

    fn replace(&self, text: &str) -> String {
        let mut spans = Vec::new();
        for (value, marker) in &self.markers {
            let mut from = 0;
            while let Some(at) = text[from..].find(value.as_str()) {
                let start = from + at;
                spans.push((start, start + value.len(), marker.as_str()));
                // The next occurrence may overlap this one: search again one character on.
                from = start + text[start..].chars().next().map_or(1, char::len_utf8);
            }
        }
        // Leftmost first; at one start, the longest first (it names the stretch).
        spans.sort_by_key(|&(start, end, _)| (start, std::cmp::Reverse(end)));
        let mut out = String::with_capacity(text.len());
        let mut done = 0;
        let mut spans = spans.into_iter().peekable();
        while let Some((start, mut end, marker)) = spans.next() {
            while let Some(&(next, next_end, _)) = spans.peek() {
                if next >= end {
                    break;
                }
                end = end.max(next_end);
                spans.next();
            }
            out.push_str(&text[done..start]);
            out.push_str(marker);
            done = end;
        }
        out.push_str(&text[done..]);
        out
    }

    /// Redacts `text` where it is, allocating only when it holds a secret.
    pub fn redact_string(&self, text: &mut String) {
        if let Cow::Owned(redacted) = self.redact(text) {
            *text = redacted;
        }
    }

    /// Every string in `value` (and every object key) redacted: marker arguments (a
    /// parametrize list can hold the very value a test reads from the environment), and JSON
    /// printed as is, where a secret with a quote or backslash in it would not match in the
    /// serialized text.
    pub fn redact_json(&self, value: &mut serde_json::Value) {
        use serde_json::Value;
        match value {
            Value::String(text) => self.redact_string(text),
            Value::Array(items) => items.iter_mut().for_each(|item| self.redact_json(item)),
            Value::Object(fields) => {
                let taken = std::mem::take(fields);
                for (mut key, mut item) in taken {
                    self.redact_string(&mut key);
                    self.redact_json(&mut item);
                    fields.insert(key, item);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// Once per process, on stderr: which secret-looking variables are not redacted because
    /// their values are too short. Names only.
    pub fn warn_once(&self) {
        static WARNED: Once = Once::new();
        if self.too_short.is_empty() {
            return;
        }
        WARNED.call_once(|| {
            eprintln!(
                "vigil: warning: not redacting {}: values shorter than {MIN_LENGTH} characters \
                 would match everywhere",
                self.too_short.join(", ")
            );
        });
    }
}

/// The parts of a value that are redacted: the value, and each line of a multi-line one
/// (a key file printed line by line) that is long enough on its own. Empty when the value
/// is too short.
fn pieces(value: &str) -> Vec<&str> {
    if value.chars().count() < MIN_LENGTH {
        return vec![];
    }
    let mut pieces = vec![value];
    if value.contains('\n') {
        let lines = value.lines().map(str::trim);
        pieces.extend(lines.filter(|l| l.chars().count() >= MIN_LENGTH));
    }
    pieces
}

fn list(patterns: &Option<toml::Spanned<Vec<String>>>) -> Vec<String> {
    patterns
        .as_ref()
        .map(|p| p.get_ref().clone())
        .unwrap_or_default()
}

/// A set of case-insensitive name globs.
fn globs(
    key: &'static str,
    patterns: impl IntoIterator<Item = String>,
) -> Result<GlobSet, RedactError> {
    let mut set = GlobSetBuilder::new();
    for pattern in patterns {
        set.add(glob(&pattern).map_err(|error| RedactError::Glob {
            key,
            pattern: pattern.clone(),
            error,
        })?);
    }
    set.build().map_err(|error| RedactError::Glob {
        key,
        pattern: String::new(),
        error,
    })
}

/// One name glob: `*` and `?` and `[..]`, any case.
pub fn glob(pattern: &str) -> Result<Glob, globset::Error> {
    GlobBuilder::new(pattern)
        .case_insensitive(true)
        .literal_separator(false)
        .backslash_escape(true)
        .build()
}

#[cfg(test)]
mod tests;
