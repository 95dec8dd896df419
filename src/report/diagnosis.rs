//! Failure groups as text: one block per fingerprint with its category, cause, history and
//! recommendations. The end of `vigil run` and `vigil diagnose` both print it; the HTML
//! report words its blocks with the same helpers (`error_line`, `place`, `history_line`).

use std::fmt::Write;

use console::Style;

use crate::diagnose::groups::Group;
use crate::diagnose::Diagnosis;
use crate::history::FingerprintHistory;

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
    if let Some(history) = &group.history {
        field(out, "history", &history_line(history));
        if let Some(fix) = history.fixes.first() {
            field(out, "fixed", &fix.note);
        }
    } else if group.history_checked {
        field(out, "history", NEW);
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
    for (i, member) in group.tests.iter().take(view.max_tests).enumerate() {
        field(out, if i == 0 { "tests" } else { "" }, &member.test);
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
