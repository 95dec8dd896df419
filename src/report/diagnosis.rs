//! Failure groups as text: one block per fingerprint with its category, cause, history and
//! recommendations. The end of `vigil run` and `vigil diagnose` both print it; the HTML
//! report words its blocks with the same helpers (`error_line`, `place`, `history_line`).

use std::fmt::Write;

use console::Style;

use crate::diagnose::groups::Group;
use crate::diagnose::Diagnosis;
use crate::history::FingerprintHistory;

/// The history line of a failure a recorded run stored without a fingerprint: there is
/// nothing to match earlier runs by.
pub(crate) const NOT_RECORDED: &str =
    "unknown: the run recorded this failure without a diagnosis, so earlier runs cannot be matched to it";

/// What a group's history line says; `None` when history was not consulted. `run` is the
/// recorded run shown (history read up to it), or `None` for a run not recorded yet.
pub(crate) fn history_text(group: &Group, run: Option<i64>) -> Option<String> {
    if !group.history_checked {
        return None;
    }
    Some(match (&group.history, run) {
        (Some(h), Some(run)) if h.first.run_id == run && h.flaky => format!("{NEW}; {FLAKY}"),
        (Some(h), Some(run)) if h.first.run_id == run => NEW.to_string(),
        (Some(h), _) => history_line(h),
        (None, None) => NEW.to_string(),
        (None, Some(_)) => NOT_RECORDED.to_string(),
    })
}

/// The history line of a fingerprint no earlier run failed with.
pub(crate) const NEW: &str = "new: no earlier run failed this way";
/// Appended to the history line of a fingerprint history saw pass without a code change.
pub(crate) const FLAKY: &str = "flaky: passed on a retry or rerun of the same commit";

/// How much of each group to show.
#[derive(Debug, Clone, Copy)]
pub struct GroupView {
    /// Most test ids listed per group (the rest are counted).
    pub max_tests: usize,
    /// Most recommendations per group.
    pub max_actions: usize,
    pub color: bool,
    /// The recorded run shown, when history was read up to and including it (`vigil
    /// diagnose`); `None` while a run is still going and history holds only the past.
    pub run: Option<i64>,
}

/// The blocks of `groups`, numbered from 1.
pub fn render_groups(groups: &[Group], view: GroupView) -> String {
    let mut out = String::new();
    for (index, group) in groups.iter().enumerate() {
        block(&mut out, index + 1, group, view);
    }
    out
}

fn block(out: &mut String, number: usize, group: &Group, view: GroupView) {
    let d = &group.diagnosis;
    let style = |s: Style| {
        if view.color {
            s.force_styling(true)
        } else {
            Style::new()
        }
    };
    let tests = plural(group.tests.len(), "test");
    let head = format!(
        "[{number}] {} · {} · {:.0}% · {tests}",
        d.category.name(),
        d.nature.name(),
        d.confidence * 100.0
    );
    let _ = writeln!(
        out,
        "{}  {}",
        style(Style::new().bold()).apply_to(head),
        style(Style::new().dim()).apply_to(&group.fingerprint)
    );
    field(out, "error", &error_line(d));
    if let Some(place) = place(group) {
        field(out, "at", &place);
    }
    field(out, "cause", &d.cause);
    // A recorded fix shows as the first recommendation, not here.
    if let Some(text) = history_text(group, view.run) {
        field(out, "history", &text);
    }
    for (i, action) in group
        .recommendations
        .iter()
        .take(view.max_actions)
        .enumerate()
    {
        let label = if i == 0 { "do" } else { "" };
        let text = format!(
            "{}. {} ({:.0}%)",
            i + 1,
            action.action,
            action.confidence * 100.0
        );
        field(out, label, &text);
    }
    for excerpt in &d.logs {
        let shown: Vec<&str> = excerpt.lines.iter().take(3).map(String::as_str).collect();
        field(
            out,
            "log",
            &format!("{}: {}", excerpt.file, shown.join(" | ")),
        );
    }
    for (i, member) in group.tests.iter().take(view.max_tests).enumerate() {
        let label = if i == 0 { "tests" } else { "" };
        field(out, label, &super::shown::shown_id(&member.test));
    }
    if group.tests.len() > view.max_tests {
        field(
            out,
            "",
            &format!("(+{} more)", group.tests.len() - view.max_tests),
        );
    }
    out.push('\n');
}

fn field(out: &mut String, label: &str, value: &str) {
    let _ = writeln!(out, "    {label:<8}{value}");
}

/// `ConnectionRefusedError: [Errno 111] Connection refused`: the exception and its message,
/// without naming the exception twice when the message already starts with it.
pub(crate) fn error_line(d: &Diagnosis) -> String {
    match &d.exception {
        Some(exception) if !d.message.starts_with(exception.as_str()) => {
            format!("{exception}: {}", d.message)
        }
        _ => d.message.clone(),
    }
}

/// `app/db.py:12 in connect`: the innermost frame the fingerprint used, else the location.
pub(crate) fn place(group: &Group) -> Option<String> {
    let d = &group.diagnosis;
    let line = d.location.as_ref().and_then(|l| l.line);
    match d.frames.first() {
        Some(frame) => {
            let mut text = frame.path.clone();
            let same_place = d.location.as_ref().is_some_and(|l| l.path == frame.path);
            if let Some(line) = frame.line.or(line.filter(|_| same_place)) {
                text.push_str(&format!(":{line}"));
            }
            if let Some(function) = &frame.function {
                text.push_str(&format!(" in {function}"));
            }
            Some(text)
        }
        None => d.location.as_ref().map(|l| match line {
            Some(n) => format!("{}:{n}", l.path),
            None => l.path.clone(),
        }),
    }
}

/// `first seen run 10 (abc1234), last run 12; 5 runs, 3 tests; flaky`.
pub(crate) fn history_line(h: &FingerprintHistory) -> String {
    let at = |commit: &Option<String>| {
        commit
            .as_deref()
            .map(|c| format!(" ({})", &c[..c.len().min(8)]))
            .unwrap_or_default()
    };
    let mut text = format!(
        "first seen run {}{}, last run {}{}; {}, {}",
        h.first.run_id,
        at(&h.first.commit),
        h.last.run_id,
        at(&h.last.commit),
        plural(h.runs, "run"),
        plural(h.tests, "test")
    );
    if h.flaky {
        text.push_str("; ");
        text.push_str(FLAKY);
    }
    text
}

pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::groups::{self, Member};
    use crate::diagnose::{Category, Diagnosis, Frame, LogExcerpt, Nature, Origin, Source};
    use crate::events::{Location, Outcome};
    use crate::history::{FixNote, Sighting};

    fn diagnosis(fingerprint: &str, category: Category, nature: Nature) -> Diagnosis {
        Diagnosis {
            fingerprint: fingerprint.into(),
            source: Source::PytestLongrepr,
            exception: Some("ConnectionRefusedError".into()),
            message: "[Errno 111] Connection refused".into(),
            normalized: "[Errno <n>] Connection refused".into(),
            location: Some(Location {
                path: "app/db.py".into(),
                line: Some(12),
            }),
            frames: vec![Frame {
                path: "app/db.py".into(),
                line: Some(12),
                function: Some("connect".into()),
                origin: Origin::Project,
            }],
            category,
            nature,
            confidence: 0.9,
            rule: "builtin:connection-refused".into(),
            cause: "nothing is listening at 127.0.0.1:5432".into(),
            advice: Some("start the service on 127.0.0.1:5432".into()),
            logs: vec![],
        }
    }

    fn member(test: &str) -> Member {
        Member {
            test: test.into(),
            outcome: Outcome::Failed,
            message: "ConnectionRefusedError: [Errno 111] Connection refused".into(),
        }
    }

    fn sighting(run_id: i64, commit: &str) -> Sighting {
        Sighting {
            run_id,
            started_ms: 0,
            commit: Some(commit.into()),
            branch: Some("main".into()),
        }
    }

    #[test]
    fn groups_render_with_history_logs_and_a_capped_test_list() {
        let network = diagnosis("9f2c1a7e4b3d2c10", Category::Network, Nature::Transient);
        let mut assertion = diagnosis(
            "0123456789abcdef",
            Category::Assertion,
            Nature::Deterministic,
        );
        assertion.exception = Some("AssertionError".into());
        assertion.message = "assert 'declined' == 'ok'".into();
        assertion.frames[0].function = Some("test_charge".into());
        assertion.frames[0].path = "tests/test_pay.py".into();
        assertion.cause = "an assertion did not hold".into();
        assertion.advice = None;
        assertion.logs = vec![LogExcerpt {
            file: "logs/app.log".into(),
            lines: vec!["ERROR card declined".into(), "ERROR retry refused".into()],
        }];
        let mut failures: Vec<(Member, Diagnosis)> = (1..=4)
            .map(|i| {
                (
                    member(&format!("tests/test_db.py::test_{i}")),
                    network.clone(),
                )
            })
            .collect();
        failures.push((member("tests/test_pay.py::test_charge"), assertion));
        let mut found = groups::group(failures);
        groups::annotate(
            &mut found,
            Some(|fp: &str| {
                (fp == "9f2c1a7e4b3d2c10").then(|| FingerprintHistory {
                    first: sighting(3, "abcdef1234567890"),
                    last: sighting(9, "1234567890abcdef"),
                    runs: 5,
                    tests: 4,
                    flaky: true,
                    last_pass_before: None,
                    fixes: vec![FixNote {
                        recorded_ms: 0,
                        commit: None,
                        note: "start postgres in the job's services".into(),
                    }],
                })
            }),
        );
        let view = GroupView {
            max_tests: 3,
            max_actions: 3,
            color: false,
            run: None,
        };
        insta::assert_snapshot!(render_groups(&found, view));
    }
}
