//! The end-of-run summary, as text: each failure's traceback, then one line per failure with
//! its test id, location and message, then the counts. Pure, so it is snapshot-tested.

use std::fmt::Write;
use std::time::Duration;

use console::Style;

use crate::diagnose::groups::Group;
use crate::events::{Outcome, Tally, TestResult};

use super::diagnosis::{render_groups, GroupView};
use super::shown::{shown_id, shown_line};

/// Most failure groups the summary shows (biggest first); `vigil diagnose` shows the rest.
pub const SUMMARY_GROUPS: usize = 10;

/// Longest traceback printed per failure, in lines (the JUnit file keeps it whole).
const MAX_TRACE_LINES: usize = 120;
const WIDTH: usize = 80;

/// Renders the summary; `color` switches ANSI styling on.
pub fn render_summary(
    failures: &[TestResult],
    groups: &[Group],
    notices: &[String],
    tally: &Tally,
    elapsed: Duration,
    color: bool,
) -> String {
    let mut out = String::new();
    let style = |s: Style| {
        if color {
            s.force_styling(true)
        } else {
            Style::new()
        }
    };
    let red = style(Style::new().red().bold());
    if !failures.is_empty() {
        banner(&mut out, "FAILURES", &red);
        for result in failures {
            banner_with(&mut out, &shown_id(&result.id), '_', &red);
            for problem in &result.problems {
                out.push_str(&clip_lines(&problem.longrepr, MAX_TRACE_LINES));
                out.push_str("\n\n");
            }
        }
        banner(&mut out, "short test summary info", &Style::new());
        for result in failures {
            let _ = writeln!(out, "{}", short_line(result));
        }
    }
    if !groups.is_empty() {
        let title = match groups.len() {
            1 => "diagnosis: 1 group".to_string(),
            n => format!("diagnosis: {n} groups"),
        };
        banner(&mut out, &title, &Style::new());
        let view = GroupView {
            max_tests: 5,
            max_actions: 2,
            color,
            run: None,
        };
        let shown = groups.len().min(SUMMARY_GROUPS);
        out.push_str(&render_groups(&groups[..shown], view));
        if groups.len() > shown {
            let _ = writeln!(
                out,
                "(+{} more groups: `vigil diagnose` lists them all)",
                groups.len() - shown
            );
        }
    }
    for notice in notices {
        let _ = writeln!(
            out,
            "{} {notice}",
            style(Style::new().yellow()).apply_to("notice:")
        );
    }
    let verdict = if tally.failures() > 0 {
        red
    } else {
        style(Style::new().green().bold())
    };
    let counts = format!("{} in {:.2}s", tally.describe(), elapsed.as_secs_f64());
    let _ = writeln!(out, "{}", verdict.apply_to(center(&counts, '=')));
    out
}

/// `FAILED tests/t.py::test_a (tests/t.py:12) - AssertionError: assert 1 == 2`
fn short_line(result: &TestResult) -> String {
    let word = match result.outcome {
        Outcome::Error => "ERROR",
        Outcome::Crashed => "CRASHED",
        Outcome::TimedOut => "TIMEOUT",
        _ => "FAILED",
    };
    let mut line = format!("{word} {}", shown_id(&result.id));
    if let Some(problem) = result.problems.first() {
        if let Some(loc) = &problem.location {
            match loc.line {
                Some(n) => line.push_str(&format!(" ({}:{n})", loc.path)),
                None => line.push_str(&format!(" ({})", loc.path)),
            }
        }
        let message = problem.message.lines().next().unwrap_or("");
        if !message.is_empty() {
            line.push_str(" - ");
            line.push_str(&shown_line(message));
        }
    }
    line
}

fn banner(out: &mut String, title: &str, style: &Style) {
    banner_with(out, title, '=', style);
}

fn banner_with(out: &mut String, title: &str, fill: char, style: &Style) {
    let _ = writeln!(out, "{}", style.apply_to(center(title, fill)));
}

fn center(title: &str, fill: char) -> String {
    let text = format!(" {title} ");
    let pad = WIDTH.saturating_sub(text.chars().count());
    let left = pad / 2;
    format!(
        "{}{text}{}",
        fill.to_string().repeat(left),
        fill.to_string().repeat(pad - left)
    )
}

fn clip_lines(text: &str, max: usize) -> String {
    let total = text.lines().count();
    if total <= max {
        return text.trim_end().to_string();
    }
    let kept: Vec<&str> = text.lines().take(max).collect();
    format!(
        "{}\n[... {} more lines in the JUnit report]",
        kept.join("\n"),
        total - max
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::{groups, Diagnoser, Rules};
    use crate::events::{Location, Phase, Problem};

    fn failed(id: &str, outcome: Outcome, message: &str, line: Option<u32>) -> TestResult {
        TestResult {
            id: id.into(),
            outcome,
            duration: Duration::from_millis(5),
            problems: vec![Problem {
                phase: Phase::Call,
                is_error: outcome == Outcome::Error,
                message: message.into(),
                location: Some(Location {
                    path: id.split("::").next().unwrap().into(),
                    line,
                }),
                longrepr: format!("def test():\n>       boom()\nE       {message}"),
            }],
            skip: None,
            sections: vec![],
            markers: vec![],
            tier: None,
            worker: 0,
            diagnosis: None,
            attempt: 1,
        }
    }

    #[test]
    fn summary_lists_tracebacks_then_one_line_per_failure_then_counts() {
        let mut failures = vec![
            failed(
                "tests/test_a.py::test_one",
                Outcome::Failed,
                "AssertionError: assert 1 == 2",
                Some(7),
            ),
            failed(
                "tests/test_b.py",
                Outcome::Error,
                "SyntaxError: invalid syntax",
                None,
            ),
            failed(
                "tests/test_c.py::test_abort",
                Outcome::Crashed,
                "worker crashed (killed by signal 6 (SIGABRT))",
                Some(3),
            ),
        ];
        let mut tally = Tally::default();
        for o in [
            Outcome::Failed,
            Outcome::Error,
            Outcome::Crashed,
            Outcome::Passed,
            Outcome::Passed,
            Outcome::Skipped,
        ] {
            tally.add(o);
        }
        let diagnoser = Diagnoser::new(Rules::builtin(), std::path::Path::new("/r"));
        for failure in &mut failures {
            failure.diagnosis = diagnoser.diagnose(failure);
        }
        let mut found = groups::from_results(&failures);
        groups::annotate(&mut found, Some(|_: &str| None));
        let text = render_summary(
            &failures,
            &found,
            &["worker 1: malformed event".into()],
            &tally,
            Duration::from_millis(1234),
            false,
        );
        insta::assert_snapshot!(text);
    }

    #[test]
    fn colour_only_when_asked() {
        let mut tally = Tally::default();
        tally.add(Outcome::Passed);
        assert!(!render_summary(&[], &[], &[], &tally, Duration::ZERO, false).contains('\u{1b}'));
        assert!(render_summary(&[], &[], &[], &tally, Duration::ZERO, true).contains('\u{1b}'));
    }
}
