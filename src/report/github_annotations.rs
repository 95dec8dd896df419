//! GitHub Actions annotations: at the end of a run, one `::error file=..,line=..::` workflow
//! command per failing test (a `::warning` per flaky one), so failures show on the pull
//! request's diff and the run's page. Escaped as GitHub's runner decodes them.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::PathBuf;

use crate::diagnose::groups;
use crate::events::{Event, Location, TestResult};

use super::final_results::{clip, first_line, FinalResults};
use super::repo_paths::{failure_place, RepoPaths};
use super::shown::{shown_id, shown_text};
use super::{ReportError, Reporter};

/// Most annotations written: GitHub keeps 50 per job (and shows 10 errors and 10 warnings per
/// step), so more would only be dropped.
const MAX_ANNOTATIONS: usize = 50;
/// Lines of the failure text (pytest's longrepr, a panic) an annotation carries.
const TEXT_LINES: usize = 20;
/// Longest annotation message, in characters.
const MESSAGE_CHARS: usize = 4000;

pub struct GithubAnnotations {
    out: Box<dyn Write>,
    workspace: Option<PathBuf>,
    rootdir: PathBuf,
    results: FinalResults,
}

impl GithubAnnotations {
    /// Writes to `out`; paths are made relative to `workspace` (`GITHUB_WORKSPACE`, the
    /// checkout), else to the run's rootdir.
    pub fn new(out: Box<dyn Write>, workspace: Option<PathBuf>) -> Self {
        GithubAnnotations {
            out,
            workspace,
            rootdir: PathBuf::new(),
            results: FinalResults::default(),
        }
    }
}

impl Reporter for GithubAnnotations {
    fn on_event(&mut self, event: &Event) {
        match event {
            Event::RunStarted { rootdir, .. } => self.rootdir = rootdir.clone(),
            Event::TestFinished(result) => self.results.record(result),
            _ => {}
        }
    }

    /// After every reporter has seen `RunFinished`: the lines come after the summary.
    fn finish(&mut self) -> Result<(), ReportError> {
        let paths = RepoPaths::new(&self.rootdir, self.workspace.as_deref());
        let text = render(&self.results, &paths);
        // stdout gone (a closed pipe) is not worth failing a run over.
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
        Ok(())
    }
}

/// The workflow commands for a finished run, one per line.
pub(crate) fn render(results: &FinalResults, paths: &RepoPaths) -> String {
    let failing: Vec<TestResult> = results.failures().cloned().collect();
    let errors = ordered(&failing);
    let flaky = results.flaky();
    let lines = errors.iter().map(|r| error(r, paths)).chain(
        flaky
            .iter()
            .map(|(last, first)| flaky_line(last, first, paths)),
    );
    let mut out = String::new();
    for line in lines.take(MAX_ANNOTATIONS) {
        out.push_str(&line);
        out.push('\n');
    }
    let total = errors.len() + flaky.len();
    if total > MAX_ANNOTATIONS {
        let left = total - MAX_ANNOTATIONS;
        let all = format!("{} failing and {} flaky tests", errors.len(), flaky.len());
        out.push_str(&format!(
            "::notice title=vigil::{left} more annotations left out: GitHub keeps {MAX_ANNOTATIONS} per job. The log above lists all {all}.\n"
        ));
    }
    out
}

/// Failures in the order worth annotating, since GitHub shows only the first 10 of a step:
/// one test per diagnosis group (biggest group first), then undiagnosed failures, then the
/// other members of the groups, in the order they finished.
fn ordered(failing: &[TestResult]) -> Vec<&TestResult> {
    let by_id: HashMap<&str, &TestResult> = failing.iter().map(|r| (r.id.as_str(), r)).collect();
    let firsts: Vec<String> = groups::from_results(failing)
        .into_iter()
        .filter_map(|g| g.tests.into_iter().next())
        .map(|member| member.test)
        .collect();
    let mut out: Vec<&TestResult> = firsts
        .iter()
        .filter_map(|id| by_id.get(id.as_str()).copied())
        .collect();
    let first: HashSet<&str> = firsts.iter().map(String::as_str).collect();
    out.extend(failing.iter().filter(|r| r.diagnosis.is_none()));
    out.extend(
        failing
            .iter()
            .filter(|r| r.diagnosis.is_some() && !first.contains(r.id.as_str())),
    );
    out
}

/// `::error file=tests/t.py,line=7,title=tests/t.py::test_a failed (assertion)::message`
fn error(result: &TestResult, paths: &RepoPaths) -> String {
    let mut title = format!("{} {}", shown_id(&result.id), result.outcome.label());
    if let Some(d) = &result.diagnosis {
        title.push_str(&format!(" ({})", d.category.name()));
    }
    let message = match result.problems.first() {
        Some(problem) => body(first_line(&problem.message), &problem.longrepr),
        None => result.outcome.label().to_string(),
    };
    command("error", failure_place(result, paths), &title, &message)
}

/// `::warning ...` for a test that passed on attempt N, where its first failure was.
fn flaky_line(last: &TestResult, first: &TestResult, paths: &RepoPaths) -> String {
    let mut title = format!("{} flaky", shown_id(&last.id));
    if let Some(d) = &first.diagnosis {
        title.push_str(&format!(" ({})", d.category.name()));
    }
    let failure = match first.problems.first() {
        Some(problem) => body(first_line(&problem.message), &problem.longrepr),
        None => first.outcome.label().to_string(),
    };
    let message = format!(
        "passed on attempt {} after attempt {} {}:\n{failure}",
        last.attempt,
        first.attempt,
        first.outcome.label()
    );
    command("warning", failure_place(first, paths), &title, &message)
}

fn command(level: &str, place: Option<Location>, title: &str, message: &str) -> String {
    let mut properties = Vec::new();
    if let Some(place) = place {
        properties.push(format!("file={}", escape_property(&place.path)));
        if let Some(line) = place.line {
            properties.push(format!("line={line}"));
        }
    }
    properties.push(format!("title={}", escape_property(title)));
    format!(
        "::{level} {}::{}",
        properties.join(","),
        escape_data(&shown_text(&clip(message, MESSAGE_CHARS)))
    )
}

/// The one-line message, then the first lines of the failure text when it says more.
fn body(message: &str, text: &str) -> String {
    let message = message.trim_end();
    // A crash's text starts with its message: said once is enough.
    let text = text.strip_prefix(message).unwrap_or(text).trim();
    let lines: Vec<&str> = text.lines().collect();
    let mut excerpt = lines[..lines.len().min(TEXT_LINES)].join("\n");
    if lines.len() > TEXT_LINES {
        excerpt.push_str(&format!("\n[{} more lines]", lines.len() - TEXT_LINES));
    }
    if excerpt.is_empty() {
        return message.to_string();
    }
    format!("{message}\n\n{excerpt}")
}

/// A workflow command's data (the text after `::`): GitHub decodes `%25`, `%0D`, `%0A`.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: as data, and `:` and `,` too, which would end it.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Outcome;

    #[test]
    fn data_and_properties_escape_as_the_runner_decodes() {
        assert_eq!(
            escape_data("100% done\r\nnext: a,b"),
            "100%25 done%0D%0Anext: a,b"
        );
        assert_eq!(
            escape_property("t.py::test[a,b]\n50%"),
            "t.py%3A%3Atest[a%2Cb]%0A50%25"
        );
        // `%` first: an escape already in the text is not decoded by the runner.
        assert_eq!(escape_data("%0A"), "%250A");
    }

    use crate::report::ci_sample_run::{self, Captured};

    #[test]
    fn a_failing_run_annotates_each_failure_and_the_flaky_test() {
        let out = Captured::default();
        let workspace = Some(PathBuf::from(ci_sample_run::WORKSPACE));
        let mut reporter = GithubAnnotations::new(Box::new(out.clone()), workspace);
        ci_sample_run::replay(&mut reporter, &ci_sample_run::events());
        insta::assert_snapshot!(out.text());
    }

    #[test]
    fn past_the_cap_a_notice_counts_what_was_left_out() {
        let mut results = FinalResults::default();
        for i in 0..MAX_ANNOTATIONS + 7 {
            let id = format!("tests/t.py::test_{i}");
            results.record(&TestResult::bare(id, Outcome::Failed, vec![], None, 0));
        }
        let paths = RepoPaths::new(std::path::Path::new("/r"), None);
        let text = render(&results, &paths);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), MAX_ANNOTATIONS + 1);
        assert_eq!(
            lines[0],
            "::error title=tests/t.py%3A%3Atest_0 failed::failed"
        );
        assert!(lines[MAX_ANNOTATIONS].starts_with("::notice title=vigil::7 more annotations"));
    }

    /// A parametrize id can hold any character and be 100 KB long; a test can print ESC.
    #[test]
    fn control_characters_and_huge_ids_are_tamed() {
        let id = format!("tests/t.py::test_a[\x1b[2J{}]", "x".repeat(100_000));
        let problem = crate::events::Problem {
            phase: crate::events::Phase::Call,
            is_error: false,
            message: "AssertionError: \x1b[31mred\x07".to_string(),
            location: None,
            longrepr: "E   \x1b[31mred\tline\x00".to_string(),
        };
        let mut results = FinalResults::default();
        results.record(&TestResult::bare(
            id,
            Outcome::Failed,
            vec![problem],
            None,
            0,
        ));
        let text = render(&results, &RepoPaths::new(std::path::Path::new("/r"), None));
        let line = text.strip_suffix('\n').unwrap();
        assert!(!line.contains('\n'), "{line}");
        assert!(
            !line.chars().any(|c| c.is_control() && c != '\t'),
            "{line:?}"
        );
        assert!(line.len() < 2_000, "{} bytes", line.len());
        assert!(line.contains("test_a[\\x1b[2Jxxx"), "{line}");
        assert!(line.contains("AssertionError: \\x1b[31mred\\x07"), "{line}");
        assert!(line.contains("\\x1b[31mred\tline\\x00"), "{line}");
    }

    #[test]
    fn a_long_failure_text_is_cut_to_its_first_lines() {
        let text: Vec<String> = (1..=30).map(|i| format!("line {i}")).collect();
        let shown = body("boom", &text.join("\n"));
        assert!(shown.starts_with("boom\n\nline 1\n"));
        assert!(shown.contains("line 20\n[10 more lines]"));
        assert!(!shown.contains("line 21"));
        assert_eq!(body("boom", "boom\n"), "boom");
    }
}
