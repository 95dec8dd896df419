//! `vigil verify` for an automated healer: snapshot what a proposed fix touches, apply it, run
//! the tests that failed before plus the tests near the changed files, keep the fix if they
//! all pass and roll it back (byte for byte, from the rollback store) if any fails. Guards:
//! a fingerprint gets a bounded number of attempts per hour, and failures diagnosed as
//! permission/security problems are not "fixed" without `--allow-security`.

pub mod patch;
pub mod working_tree;

use std::path::PathBuf;

use serde::Serialize;

use crate::affected::Selection;
use crate::diagnose::{Category, Diagnosis};
use crate::events::Outcome;

/// What the healer proposes.
#[derive(Debug, Clone)]
pub enum Fix {
    /// A unified diff, applied with `git apply`.
    Patch(PathBuf),
    /// A shell command that edits the tree.
    Command(String),
    /// The uncommitted changes already in the work tree (a git repository).
    WorkingTree,
}

impl Fix {
    /// How the fix is named in history and the verdict.
    pub fn describe(&self) -> String {
        match self {
            Fix::Patch(path) => format!("patch {}", path.display()),
            Fix::Command(command) => format!("command {command}"),
            Fix::WorkingTree => "the working tree's changes".to_string(),
        }
    }
}

/// The verdict `vigil verify` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// `kept`, `rolled_back` or `refused`.
    pub verdict: &'static str,
    pub reason: String,
    pub fix: String,
    /// Project-relative files the fix changed.
    pub touched: Vec<String>,
    /// What ran: the previously failing tests and the paths near the change.
    pub selection: Vec<String>,
    pub results: Vec<TestOutcome>,
    /// The snapshot taken before the fix (kept: the way back; rolled back: what was restored).
    pub snapshot: Option<String>,
    /// After a rollback: nothing differs from the snapshot.
    pub restored: Option<bool>,
}

/// One test's final outcome in the verification run, with its diagnosis when it failed.
#[derive(Debug, Clone, Serialize)]
pub struct TestOutcome {
    pub test: String,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<Box<Diagnosis>>,
}

impl Verdict {
    pub fn refused(fix: &Fix, reason: String) -> Verdict {
        Verdict {
            verdict: "refused",
            reason,
            fix: fix.describe(),
            touched: vec![],
            selection: vec![],
            results: vec![],
            snapshot: None,
            restored: None,
        }
    }
}

/// Why a fix for these failures must not be tried: a security failure without
/// `allow_security`, or a fingerprint that used up its attempts (`attempts` returns the count
/// in the window for a fingerprint).
pub fn refusal(
    targets: &[Diagnosis],
    allow_security: bool,
    max_attempts: usize,
    mut attempts: impl FnMut(&str) -> usize,
) -> Option<String> {
    if !allow_security {
        if let Some(d) = targets.iter().find(|d| d.category == Category::Permission) {
            return Some(format!(
                "{} is a permission/security failure ({}): not changed by a healer without --allow-security",
                d.fingerprint, d.message
            ));
        }
    }
    targets.iter().find_map(|d| {
        let made = attempts(&d.fingerprint);
        (made >= max_attempts).then(|| {
            format!(
                "{} already had {made} fix attempts in the last hour (at most {max_attempts})",
                d.fingerprint
            )
        })
    })
}

/// The paths to run: the failing test ids, then the tests the touched files affect by the
/// import graph. Empty (so: every test) when the selection cannot place a change.
pub fn selection(failing: &[String], affected: &Selection) -> Vec<String> {
    if affected.everything {
        return Vec::new();
    }
    let mut paths: Vec<String> = failing.to_vec();
    for path in affected.paths() {
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::{Nature, Source};

    fn diagnosis(fingerprint: &str, category: Category) -> Diagnosis {
        Diagnosis {
            fingerprint: fingerprint.into(),
            source: Source::PytestLongrepr,
            exception: None,
            message: "boom".into(),
            normalized: "boom".into(),
            location: None,
            frames: vec![],
            category,
            nature: Nature::Deterministic,
            confidence: 0.9,
            rule: "builtin:x".into(),
            cause: "x".into(),
            advice: None,
            logs: vec![],
        }
    }

    #[test]
    fn security_failures_and_spent_attempts_are_refused() {
        let code = diagnosis("aa", Category::Code);
        let security = diagnosis("bb", Category::Permission);
        assert!(refusal(&[code.clone(), security.clone()], false, 3, |_| 0).is_some());
        assert_eq!(refusal(&[code.clone(), security], true, 3, |_| 0), None);
        let spent = refusal(std::slice::from_ref(&code), false, 3, |_| 3).expect("refused");
        assert!(spent.contains("3 fix attempts"), "{spent}");
        assert_eq!(refusal(&[code], false, 3, |_| 2), None);
    }

    #[test]
    fn the_selection_is_the_failures_then_the_affected_tests() {
        let affected = Selection {
            python: vec!["tests/t.py::test_a".into(), "tests/u.py::test_b".into()],
            native: vec!["native:".into()],
            ..Selection::default()
        };
        let got = selection(&["tests/t.py::test_a".into()], &affected);
        assert_eq!(got, ["tests/t.py::test_a", "tests/u.py::test_b", "native:"]);
        let everything = Selection {
            everything: true,
            ..affected
        };
        assert!(selection(&["tests/t.py::test_a".into()], &everything).is_empty());
    }
}
