//! The JUnit XML reporter (quick-junit): one `<testsuite>` per file, `classname`/`name` as
//! pytest's junitxml writes them, skips/xfails/errors/failures as pytest represents them, and
//! captured output in `system-out`/`system-err`.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use quick_junit::{
    NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestRerun, TestSuite,
};

use crate::events::{Event, Outcome, Phase, Problem, TestResult};

use super::xml_text::{unmark, xml_safe, xml_safe_output};
use super::{ReportError, Reporter};

pub struct JunitReporter {
    path: PathBuf,
    /// Each test's latest attempt, in the order tests first finished.
    results: Vec<TestResult>,
    /// Where a test sits in `results`, and its earlier (failed) attempts.
    index: HashMap<String, usize>,
    earlier: HashMap<String, Vec<TestResult>>,
    duration: Duration,
}

impl JunitReporter {
    pub fn new(path: PathBuf) -> Self {
        JunitReporter {
            path,
            results: Vec::new(),
            index: HashMap::new(),
            earlier: HashMap::new(),
            duration: Duration::ZERO,
        }
    }

    fn report(&self) -> Report {
        let mut report = Report::new("vigil");
        let mut suites: Vec<TestSuite> = Vec::new();
        for result in &self.results {
            let file = xml_safe(&suite_name(&result.id)).into_owned();
            let suite = match suites.iter().position(|s| s.name.as_str() == file) {
                Some(i) => &mut suites[i],
                None => {
                    suites.push(TestSuite::new(file));
                    suites.last_mut().expect("just pushed")
                }
            };
            let earlier = self.earlier.get(&result.id).map_or(&[][..], Vec::as_slice);
            suite.add_test_case(test_case(result, earlier));
        }
        // Workers finish in any order; files sorted make the report the same run to run.
        suites.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
        for suite in &mut suites {
            let total: Duration = suite.test_cases.iter().filter_map(|c| c.time).sum();
            suite.set_time(total);
            // quick-junit counts skips as `disabled`; pytest's JUnit (and most readers) say `skipped`.
            let skipped = suite.disabled;
            suite
                .extra
                .insert("skipped".into(), skipped.to_string().into());
        }
        report.add_test_suites(suites);
        report.set_time(self.duration);
        report
    }
}

impl JunitReporter {
    /// A retry's result takes its test's place; the attempt it replaces becomes a rerun.
    fn finished(&mut self, result: &TestResult) {
        match self.index.get(&result.id) {
            Some(&i) if result.attempt > 1 => {
                let before = std::mem::replace(&mut self.results[i], result.clone());
                self.earlier
                    .entry(result.id.clone())
                    .or_default()
                    .push(before);
            }
            _ => {
                self.index.insert(result.id.clone(), self.results.len());
                self.results.push(result.clone());
            }
        }
    }
}

impl Reporter for JunitReporter {
    fn on_event(&mut self, event: &Event) {
        match event {
            Event::TestFinished(result) => self.finished(result),
            Event::RunFinished { duration, .. } => self.duration = *duration,
            _ => {}
        }
    }

    /// Writes the report atomically: a reader never sees half a file.
    fn finish(&mut self) -> Result<(), ReportError> {
        let write_err = |error| ReportError::Write {
            path: self.path.clone(),
            error,
        };
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        std::fs::create_dir_all(dir).map_err(write_err)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(write_err)?;
        let xml = self.report().to_string()?;
        tmp.write_all(unmark(&xml).as_bytes()).map_err(write_err)?;
        // Temp files are created 0600; a report is for everyone who can read the directory.
        std::fs::set_permissions(
            tmp.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o644),
        )
        .map_err(write_err)?;
        tmp.persist(&self.path).map_err(|e| write_err(e.error))?;
        Ok(())
    }
}

/// pytest's `mangle_test_address`: `tests/test_x.py::TestA::test_b[p]` →
/// (`tests.test_x.TestA`, `test_b[p]`); a file alone gives an empty classname.
pub fn junit_names(nodeid: &str) -> (String, String) {
    if let Some((binary, test)) = native_parts(nodeid) {
        return (binary.to_string(), test.to_string());
    }
    let (path, params) = match nodeid.find('[') {
        Some(i) => nodeid.split_at(i),
        None => (nodeid, ""),
    };
    let mut names: Vec<String> = path.split("::").map(String::from).collect();
    names[0] = names[0].replace('/', ".");
    if let Some(stripped) = names[0].strip_suffix(".py") {
        names[0] = stripped.to_string();
    }
    let last = names.pop().unwrap_or_default() + params;
    (names.join("."), last)
}

/// A native id `native:crate::binary::path::test` as (`crate::binary`, `path::test`), the
/// binary and test names nextest's JUnit uses.
fn native_parts(id: &str) -> Option<(&str, &str)> {
    let rest = id.strip_prefix("native:")?;
    let crate_end = rest.find("::")?;
    let binary_end = crate_end + 2 + rest[crate_end + 2..].find("::")?;
    Some((&rest[..binary_end], &rest[binary_end + 2..]))
}

/// One `<testsuite>` per Python file, and one per native test binary.
fn suite_name(id: &str) -> String {
    match native_parts(id) {
        Some((binary, _)) => format!("native:{binary}"),
        None => id.split("::").next().unwrap_or(id).to_string(),
    }
}

/// A testcase; `earlier` failed attempts become `flakyFailure`s (it passed in the end) or
/// `rerunFailure`s (it did not), as nextest and pytest-rerunfailures write them.
fn test_case(result: &TestResult, earlier: &[TestResult]) -> TestCase {
    let (classname, name) = junit_names(&result.id);
    let mut status = status(result);
    status.add_reruns(earlier.iter().map(rerun));
    let mut case = TestCase::new(xml_safe(&name), status);
    case.set_classname(xml_safe(&classname));
    case.set_time(result.duration);
    let (out, err) = captured(result);
    if !out.is_empty() {
        case.set_system_out(xml_safe_output(&out));
    }
    if !err.is_empty() {
        case.set_system_err(xml_safe_output(&err));
    }
    // Testcase properties, as pytest's `record_property` writes them, so CI tools that read
    // JUnit can group failures the way `vigil diagnose` does.
    if let Some(diagnosis) = &result.diagnosis {
        let properties = [
            ("vigil.fingerprint", diagnosis.fingerprint.clone()),
            ("vigil.category", diagnosis.category.name().to_string()),
            ("vigil.nature", diagnosis.nature.name().to_string()),
            ("vigil.confidence", format!("{:.2}", diagnosis.confidence)),
        ];
        case.add_properties(properties.map(|(k, v)| Property::new(k, xml_safe(&v))));
    }
    case
}

fn status(result: &TestResult) -> TestCaseStatus {
    match result.outcome {
        Outcome::Passed | Outcome::XPassed => TestCaseStatus::success(),
        Outcome::Skipped | Outcome::XFailed => skipped(result),
        Outcome::Error => non_success(NonSuccessKind::Error, result),
        Outcome::Failed | Outcome::Crashed | Outcome::TimedOut => {
            non_success(NonSuccessKind::Failure, result)
        }
    }
}

fn skipped(result: &TestResult) -> TestCaseStatus {
    let mut status = TestCaseStatus::skipped();
    let reason = result.skip.as_ref();
    let message = reason.map_or("", |r| r.message.as_str());
    let message = xml_safe_output(message);
    if result.outcome == Outcome::XFailed {
        status.set_type("pytest.xfail");
        status.set_message(message);
    } else {
        status.set_type("pytest.skip");
        status.set_message(message.as_str());
        if let Some(loc) = reason.and_then(|r| r.location.as_ref()) {
            let path = xml_safe(&loc.path);
            status.set_description(format!("{path}:{}: {message}", loc.line.unwrap_or(0)));
        }
    }
    status
}

fn non_success(kind: NonSuccessKind, result: &TestResult) -> TestCaseStatus {
    let mut status = TestCaseStatus::non_success(kind);
    if let Some(first) = result.problems.first() {
        status.set_message(xml_safe_output(&junit_message(first)));
    }
    // A failed call plus a teardown error is one testcase: both tracebacks, in phase order.
    let description: Vec<&str> = result
        .problems
        .iter()
        .map(|p| p.longrepr.as_str())
        .collect();
    status.set_description(xml_safe_output(&description.join("\n\n")));
    status
}

/// One earlier failed attempt.
fn rerun(attempt: &TestResult) -> TestRerun {
    let kind = match attempt.outcome {
        Outcome::Error => NonSuccessKind::Error,
        _ => NonSuccessKind::Failure,
    };
    let mut rerun = TestRerun::new(kind);
    rerun.set_time(attempt.duration);
    if let Some(first) = attempt.problems.first() {
        rerun.set_message(xml_safe_output(&junit_message(first)));
        rerun.set_description(xml_safe_output(&first.longrepr));
    }
    rerun
}

/// pytest's wording for error messages: `failed on setup with "..."`, `collection failure`.
fn junit_message(problem: &Problem) -> String {
    match (problem.is_error, problem.phase) {
        (true, Phase::Collect) => "collection failure".to_string(),
        (true, Phase::Setup) => format!("failed on setup with \"{}\"", problem.message),
        (true, Phase::Teardown) => format!("failed on teardown with \"{}\"", problem.message),
        _ => problem.message.clone(),
    }
}

/// Captured stdout (and log) sections for `system-out`, stderr sections for `system-err`.
fn captured(result: &TestResult) -> (String, String) {
    let mut out = String::new();
    let mut err = String::new();
    for (title, content) in &result.sections {
        let target = if title.contains("stderr") {
            &mut err
        } else {
            &mut out
        };
        target.push_str(&format!("--- {title} ---\n{content}"));
        if !content.ends_with('\n') {
            target.push('\n');
        }
    }
    (out, err)
}

#[cfg(test)]
mod tests {
    use super::{junit_names, suite_name};

    #[test]
    fn names_follow_pytest_mangling() {
        assert_eq!(
            junit_names("tests/test_x.py::TestA::test_b"),
            ("tests.test_x.TestA".into(), "test_b".into())
        );
        assert_eq!(
            junit_names("t.py::test_p[a/b::c]"),
            ("t".into(), "test_p[a/b::c]".into())
        );
        assert_eq!(
            junit_names("tests/test_mod.py"),
            ("".into(), "tests.test_mod".into())
        );
    }

    #[test]
    fn native_tests_are_named_like_nextest_names_them() {
        let id = "native:pricing::e2e::orders::whole_order";
        assert_eq!(
            junit_names(id),
            ("pricing::e2e".into(), "orders::whole_order".into())
        );
        assert_eq!(suite_name(id), "native:pricing::e2e");
        assert_eq!(suite_name("tests/t.py::a"), "tests/t.py");
    }
}
