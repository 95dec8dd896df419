//! The job step summary: at the end of a run, a Markdown page appended to the file
//! `GITHUB_STEP_SUMMARY` names (headline, failures, shared causes, flaky and slowest tests),
//! kept under GitHub's 1 MiB per step.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use crate::diagnose::groups::{self, Group};
use crate::events::{Event, Location, Tally, TestResult};
use crate::exit::ExitCode;

use super::diagnosis::{error_line, place, plural};
use super::final_results::{clip, first_line, FinalResults};
use super::repo_paths::{failure_place, RepoPaths};
use super::{ReportError, Reporter};

/// GitHub refuses a step summary over 1 MiB; what other steps (or earlier runs in this step)
/// wrote counts too, and the rest is left for whoever writes after vigil.
const STEP_LIMIT: usize = 1024 * 1024;
const SPARE: usize = 64 * 1024;
/// Most rows of the failures table.
const MAX_FAILURE_ROWS: usize = 100;
/// Most failure groups and flaky tests listed.
const MAX_GROUPS: usize = 20;
const MAX_FLAKY: usize = 50;
const SLOWEST: usize = 5;
/// Longest message in a cell, and longest test id or path, in characters.
const MESSAGE_CHARS: usize = 300;
const NAME_CHARS: usize = 500;

pub struct StepSummary {
    path: PathBuf,
    rootdir: PathBuf,
    results: FinalResults,
    end: Option<RunEnd>,
}

/// What `RunFinished` says about the whole run.
#[derive(Debug, Clone)]
pub(crate) struct RunEnd {
    pub tally: Tally,
    pub exit: ExitCode,
    pub duration: Duration,
}

impl StepSummary {
    pub fn new(path: PathBuf) -> Self {
        StepSummary {
            path,
            rootdir: PathBuf::new(),
            results: FinalResults::default(),
            end: None,
        }
    }

    /// Appends: other steps and earlier commands of this step write to the same file.
    fn append(&self, end: &RunEnd) -> std::io::Result<()> {
        let existing = std::fs::metadata(&self.path).map_or(0, |m| m.len() as usize);
        let budget = STEP_LIMIT.saturating_sub(SPARE + existing);
        // Locations read as the terminal and `vigil diagnose` print them: from the rootdir.
        let paths = RepoPaths::new(&self.rootdir, None);
        let mut text = render(&self.results, end, &paths, budget);
        if existing + text.len() > STEP_LIMIT {
            // Past the limit GitHub drops the step's whole summary, what others wrote too.
            return Err(std::io::Error::other(format!(
                "it already holds {existing} bytes, and GitHub takes at most {STEP_LIMIT} per step"
            )));
        }
        if existing > 0 {
            // A blank line keeps our heading off the last line of whatever came before.
            text.insert(0, '\n');
        }
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&self.path)?;
        file.write_all(text.as_bytes())?;
        file.flush()
    }
}

impl Reporter for StepSummary {
    fn on_event(&mut self, event: &Event) {
        match event {
            Event::RunStarted { rootdir, .. } => self.rootdir = rootdir.clone(),
            Event::TestFinished(result) => self.results.record(result),
            Event::RunFinished {
                tally,
                exit,
                duration,
            } => {
                self.end = Some(RunEnd {
                    tally: tally.clone(),
                    exit: *exit,
                    duration: *duration,
                });
            }
            _ => {}
        }
    }

    /// A summary that cannot be written costs a warning, not the run: nobody asked for it by
    /// name, the CI's environment did.
    fn finish(&mut self) -> Result<(), ReportError> {
        let Some(end) = self.end.clone() else {
            return Ok(());
        };
        if let Err(error) = self.append(&end) {
            eprintln!(
                "vigil: warning: the job summary is not appended to {} (GITHUB_STEP_SUMMARY): {error}",
                self.path.display()
            );
        }
        Ok(())
    }
}

/// The Markdown of a finished run; the failures table stops growing where the whole would
/// pass `budget` bytes (the other sections are short and capped).
pub(crate) fn render(
    results: &FinalResults,
    end: &RunEnd,
    paths: &RepoPaths,
    budget: usize,
) -> String {
    let failing: Vec<TestResult> = results.failures().cloned().collect();
    let mut out = String::new();
    headline(&mut out, end);
    let mut rest = String::new();
    causes(&mut rest, &groups::from_results(&failing));
    flaky(&mut rest, results);
    slowest(&mut rest, results.all());
    let room = budget.saturating_sub(out.len() + rest.len());
    failures(&mut out, &failing, paths, room);
    out.push_str(&rest);
    out
}

/// `## ❌ vigil: 2 failed, 14 passed (1 flaky) in 3.21s`
fn headline(out: &mut String, end: &RunEnd) {
    let mark = if end.exit == ExitCode::Ok {
        "✅"
    } else {
        "❌"
    };
    let why = match end.exit {
        ExitCode::Interrupted => " (interrupted)",
        ExitCode::InternalError => " (internal error)",
        ExitCode::UsageError => " (usage error)",
        ExitCode::NoTestsCollected => " (no tests collected)",
        ExitCode::Ok | ExitCode::TestsFailed => "",
    };
    let _ = writeln!(
        out,
        "## {mark} vigil: {} in {:.2}s{why}\n",
        end.tally.describe(),
        end.duration.as_secs_f64()
    );
}

/// The failures table, within `room` bytes.
fn failures(out: &mut String, failing: &[TestResult], paths: &RepoPaths, room: usize) {
    if failing.is_empty() {
        return;
    }
    let mut table = format!("### Failures ({})\n\n", failing.len());
    table.push_str("| Test | Location | Category | Message |\n| --- | --- | --- | --- |\n");
    let mut shown = 0;
    for result in failing.iter().take(MAX_FAILURE_ROWS) {
        let row = failure_row(result, paths);
        if table.len() + row.len() > room {
            break;
        }
        table.push_str(&row);
        shown += 1;
    }
    if shown < failing.len() {
        let _ = writeln!(
            table,
            "\n_{} more failures left out to keep this summary small; the job's log lists them all._",
            failing.len() - shown
        );
    }
    out.push_str(&table);
    out.push('\n');
}

fn failure_row(result: &TestResult, paths: &RepoPaths) -> String {
    let problem = result.problems.first();
    // Where in the project it failed (a crash in the standard library is not the place to
    // look); else where it failed at all.
    let location = failure_place(result, paths)
        .or_else(|| problem?.location.clone())
        .map_or_else(String::new, |l| code(&location_text(&l)));
    let category = match &result.diagnosis {
        Some(d) => d.category.name().to_string(),
        None => String::new(),
    };
    let message = problem.map_or(result.outcome.label(), |p| first_line(&p.message));
    format!(
        "| {} | {location} | {} | {} |\n",
        code(&result.id),
        cell(&category),
        cell(&clip(message, MESSAGE_CHARS))
    )
}

fn location_text(location: &Location) -> String {
    match location.line {
        Some(n) => format!("{}:{n}", location.path),
        None => location.path.clone(),
    }
}

/// One line per group, when some tests share a cause: the table alone would hide that.
fn causes(out: &mut String, groups: &[Group]) {
    if !groups.iter().any(|g| g.tests.len() > 1) {
        return;
    }
    let tests: usize = groups.iter().map(|g| g.tests.len()).sum();
    let _ = writeln!(
        out,
        "### Causes ({} for {})\n",
        plural(groups.len(), "group"),
        plural(tests, "failing test")
    );
    for group in groups.iter().take(MAX_GROUPS) {
        let d = &group.diagnosis;
        let mut line = format!(
            "- **{}** · {} · {}: {}",
            plural(group.tests.len(), "test"),
            d.category.name(),
            d.nature.name(),
            cell(&clip(&error_line(d), MESSAGE_CHARS))
        );
        if let Some(at) = place(group) {
            line.push_str(&format!(" at {}", code(&at)));
        }
        let _ = writeln!(out, "{line}");
    }
    if groups.len() > MAX_GROUPS {
        let _ = writeln!(
            out,
            "- _{} more groups: `vigil diagnose` lists them all_",
            groups.len() - MAX_GROUPS
        );
    }
    out.push('\n');
}

fn flaky(out: &mut String, results: &FinalResults) {
    let flaky = results.flaky();
    if flaky.is_empty() {
        return;
    }
    let _ = writeln!(out, "### Flaky ({})\n", flaky.len());
    for (last, first) in flaky.iter().take(MAX_FLAKY) {
        let message = first
            .problems
            .first()
            .map_or("", |p| first_line(&p.message));
        let _ = writeln!(
            out,
            "- {} passed on attempt {}; attempt {} {}: {}",
            code(&last.id),
            last.attempt,
            first.attempt,
            first.outcome.label(),
            cell(&clip(message, MESSAGE_CHARS))
        );
    }
    if flaky.len() > MAX_FLAKY {
        let _ = writeln!(out, "- _{} more_", flaky.len() - MAX_FLAKY);
    }
    out.push('\n');
}

fn slowest(out: &mut String, results: &[TestResult]) {
    let mut timed: Vec<&TestResult> = results.iter().filter(|r| !r.duration.is_zero()).collect();
    if timed.is_empty() {
        return;
    }
    // Ties in id order, so the table is the same for the same durations.
    timed.sort_by(|a, b| b.duration.cmp(&a.duration).then_with(|| a.id.cmp(&b.id)));
    out.push_str("### Slowest tests\n\n| Test | Duration | Outcome |\n| --- | ---: | --- |\n");
    for result in timed.iter().take(SLOWEST) {
        let _ = writeln!(
            out,
            "| {} | {:.2}s | {} |",
            code(&result.id),
            result.duration.as_secs_f64(),
            result.outcome.label()
        );
    }
    out.push('\n');
}

/// Text in `<code>`: HTML rather than backticks, because entities are not decoded inside
/// backticks and a test id may hold `<`, `&` or a backtick.
fn code(text: &str) -> String {
    format!("<code>{}</code>", cell(&clip(text, NAME_CHARS)))
}

/// Text made safe for a table cell or list item: Markdown punctuation backslash-escaped
/// (`|` would end the cell), HTML escaped, newlines as `<br>`, other control characters as a
/// visible `\xNN` (the backslash escaped for Markdown).
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("<br>"),
            '\r' => {}
            c if c.is_control() && c != '\t' => {
                out.push_str(&format!("\\\\x{:02x}", u32::from(c)));
            }
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '#' | '!' | '$' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ci_sample_run;
    use std::path::Path;

    #[test]
    fn cells_escape_pipes_html_markdown_and_newlines() {
        assert_eq!(
            cell("assert a | b <x> & *y*\nnext"),
            "assert a \\| b &lt;x&gt; &amp; \\*y\\*<br>next"
        );
        assert_eq!(
            code("t.py::test[`a`]"),
            "<code>t.py::test\\[\\`a\\`\\]</code>"
        );
        assert_eq!(cell("a\x1b[2J\x00b"), "a\\\\x1b\\[2J\\\\x00b");
    }

    #[test]
    fn a_failing_run_appends_its_summary_after_what_the_file_held() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("step_summary.md");
        std::fs::write(&path, "## Build\n\nbuilt in 12s").expect("write");
        let mut reporter = StepSummary::new(path.clone());
        ci_sample_run::replay(&mut reporter, &ci_sample_run::events());
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.starts_with("## Build\n\nbuilt in 12s\n## "), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn a_file_already_near_the_limit_is_left_as_it_is() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("step_summary.md");
        let full = "x".repeat(STEP_LIMIT - 100);
        std::fs::write(&path, &full).expect("write");
        let mut reporter = StepSummary::new(path.clone());
        ci_sample_run::replay(&mut reporter, &ci_sample_run::events());
        assert_eq!(std::fs::read_to_string(&path).expect("read"), full);
    }

    #[test]
    fn a_summary_over_budget_leaves_rows_out_and_says_so() {
        let mut results = FinalResults::default();
        for i in 0..30 {
            let id = format!("tests/t.py::test_{i}");
            let mut failed = TestResult::bare(id, crate::events::Outcome::Failed, vec![], None, 0);
            failed.duration = Duration::from_millis(i);
            results.record(&failed);
        }
        let mut tally = Tally::default();
        for _ in 0..30 {
            tally.add(crate::events::Outcome::Failed);
        }
        let end = RunEnd {
            tally,
            exit: ExitCode::TestsFailed,
            duration: Duration::from_secs(1),
        };
        let paths = RepoPaths::new(Path::new("/r"), None);
        let whole = render(&results, &end, &paths, usize::MAX);
        let rows = |text: &str| text.matches("| <code>tests/t.py::test\\_").count();
        assert_eq!(rows(&whole), 30 + SLOWEST);
        let small = render(&results, &end, &paths, 1000);
        assert!(small.len() < 2000, "{small}");
        assert!(small.contains("more failures left out"), "{small}");
        assert!(rows(&small) < 30, "{small}");
    }
}
