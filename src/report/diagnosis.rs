//! Failure groups as text: one block per fingerprint with its category, cause, history and
//! recommendations. The end of `vigil run` and `vigil diagnose` both print it.

use std::fmt::Write;

use console::Style;

use crate::diagnose::groups::Group;
use crate::history::FingerprintHistory;

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
    let what = match &d.exception {
        Some(exception) if !d.message.starts_with(exception.as_str()) => {
            format!("{exception}: {}", d.message)
        }
        _ => d.message.clone(),
    };
    field(out, "error", &what);
    if let Some(place) = place(group) {
        field(out, "at", &place);
    }
    field(out, "cause", &d.cause);
    if let Some(history) = &group.history {
        // A recorded fix shows as the first recommendation.
        field(out, "history", &history_line(history));
    } else if group.history_checked {
        field(out, "history", "new: no earlier run failed this way");
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

/// `app/db.py:12 in connect`: the innermost frame the fingerprint used, else the location.
fn place(group: &Group) -> Option<String> {
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
fn history_line(h: &FingerprintHistory) -> String {
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
        text.push_str("; flaky: passed on a retry or rerun of the same commit");
    }
    text
}

fn plural(n: usize, word: &str) -> String {
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
        };
        insta::assert_snapshot!(render_groups(&found, view));
    }
}
