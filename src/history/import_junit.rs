//! `vigil history import`: JUnit XML files from other tools (pytest, nextest, vigil's own
//! shards) as history runs, one run per file, written like a real run (one transaction), so a
//! bad or half-read file leaves nothing behind.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use roxmltree::{Document, Node};

use crate::diagnose::{Diagnoser, Diagnosis};
use crate::events::{Outcome, Phase, Problem};
use crate::plan::Tiers;
use crate::redact::Redactor;

use super::git::GitInfo;
use super::iso_time;
use super::junit_ids::{CaseNames, IdResolver};
use super::record::{ResultRecord, RunRecord};
use super::store::Store;
use super::HistoryError;

/// What every imported run is labelled with and where test ids are resolved.
pub struct ImportOptions<'a> {
    /// Dotted pytest classnames are looked up as files under this directory (the rootdir).
    pub project_dir: &'a Path,
    pub tiers: &'a Tiers,
    /// Commit and branch the runs are recorded under (unknown when `None`).
    pub git: GitInfo,
    /// Diagnoses imported failures from their text, as a run's own would be.
    pub diagnoser: Option<&'a Diagnoser>,
    /// Secrets blotted out of ids and messages before they are diagnosed or written (another
    /// tool's report knows nothing of vigil's redaction).
    pub redact: &'a Redactor,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{row}:{col}: not well-formed XML: {message}", path.display())]
    Xml {
        path: PathBuf,
        row: u32,
        col: u32,
        message: String,
    },
    #[error(
        "{}: not a JUnit report: the root element is <{root}>, not <testsuites> or <testsuite>",
        path.display()
    )]
    NotJunit { path: PathBuf, root: String },
    #[error(transparent)]
    History(#[from] HistoryError),
}

/// One file written as one run.
#[derive(Debug, Clone)]
pub struct Imported {
    pub run_id: i64,
    pub tests: usize,
    /// "2 failed, 10 passed".
    pub summary: String,
}

/// Reads `path` and records it as one run; nothing is written when reading fails.
pub fn import_file(
    store: &mut Store,
    path: &Path,
    options: &ImportOptions,
) -> Result<Imported, ImportError> {
    let run = read_file(path, options)?;
    let run_id = store.record(&run)?;
    Ok(Imported {
        run_id,
        tests: run.tally.total(),
        summary: run.tally.describe(),
    })
}

/// The run a JUnit file describes.
pub fn read_file(path: &Path, options: &ImportOptions) -> Result<RunRecord, ImportError> {
    let read_error = |source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    };
    let text = std::fs::read_to_string(path).map_err(read_error)?;
    let modified = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map_err(read_error)?;
    let mtime_ms = modified
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut run = parse_report(&text, path, mtime_ms, options)?;
    run.source = format!("junit:{name}");
    Ok(run)
}

/// The run in a JUnit document (`path` names it in errors); it started at `fallback_ms` when
/// the report carries no timestamp.
pub fn parse_report(
    text: &str,
    path: &Path,
    fallback_ms: i64,
    options: &ImportOptions,
) -> Result<RunRecord, ImportError> {
    let doc = Document::parse(text).map_err(|e| {
        let message = e.to_string();
        ImportError::Xml {
            path: path.to_path_buf(),
            row: e.pos().row,
            col: e.pos().col,
            // roxmltree ends its message with the position, which the error leads with.
            message: match message.strip_suffix(&format!(" at {}", e.pos())) {
                Some(short) => short.to_string(),
                None => message,
            },
        }
    })?;
    let root = doc.root_element();
    if !root.has_tag_name("testsuites") && !root.has_tag_name("testsuite") {
        return Err(ImportError::NotJunit {
            path: path.to_path_buf(),
            root: root.tag_name().name().to_string(),
        });
    }
    let mut resolver = IdResolver::new(options.project_dir, options.tiers);
    let results = results(root, &mut resolver, options);
    let mut run = RunRecord {
        started_ms: started_ms(root).unwrap_or(fallback_ms),
        git: options.git.clone(),
        duration: run_duration(root, &results),
        results,
        ..RunRecord::default()
    };
    run.ended_ms = run.started_ms + run.duration.as_millis() as i64;
    run.tally_results();
    run.tiers = tiers(&run.results);
    run.exit_code = match (run.tally.total(), run.tally.failures()) {
        (0, _) => 5,
        (_, 0) => 0,
        _ => 1,
    };
    Ok(run)
}

/// nextest names its report `nextest-run` unless configured, and stamps it with a uuid.
fn is_nextest(root: Node) -> bool {
    root.has_tag_name("testsuites")
        && (root.attribute("name") == Some("nextest-run") || root.has_attribute("uuid"))
}

/// Every test case's attempts; a test written twice (pytest: a failed call plus a teardown
/// error) keeps its worse entry.
fn results(root: Node, resolver: &mut IdResolver, options: &ImportOptions) -> Vec<ResultRecord> {
    let nextest = is_nextest(root);
    let mut tests: Vec<Vec<ResultRecord>> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for case in root.descendants().filter(|n| n.has_tag_name("testcase")) {
        let suite = case
            .ancestors()
            .find(|n| n.has_tag_name("testsuite"))
            .and_then(|s| s.attribute("name"))
            .unwrap_or("");
        if suite.starts_with("@setup-script:") {
            continue; // nextest's setup scripts are not tests
        }
        let names = CaseNames {
            suite,
            classname: case.attribute("classname").unwrap_or(""),
            name: case.attribute("name").unwrap_or(""),
            file: case.attribute("file"),
            nextest,
        };
        let id = resolver.resolve(&names);
        let attempts = attempts(case, &id.id, &id.tier, options);
        match seen.get(&id.id) {
            Some(&i) if severity(&attempts) > severity(&tests[i]) => tests[i] = attempts,
            Some(_) => {}
            None => {
                seen.insert(id.id, tests.len());
                tests.push(attempts);
            }
        }
    }
    tests.into_iter().flatten().collect()
}

/// How bad a test's final outcome is, for choosing between two entries of one test.
fn severity(attempts: &[ResultRecord]) -> u8 {
    match attempts.last().map(|r| r.outcome) {
        Some(o) if o.is_failure() => 3,
        Some(Outcome::Skipped | Outcome::XFailed) => 1,
        Some(Outcome::Passed | Outcome::XPassed) => 2,
        _ => 0,
    }
}

/// A test case's attempts in order: nextest's `flakyFailure`s come before the final (passing)
/// one; its `rerunFailure`s are the retries after the first failure the case reports.
fn attempts(case: Node, id: &str, tier: &str, options: &ImportOptions) -> Vec<ResultRecord> {
    let (outcome, element) = case_outcome(case);
    let main = (outcome, element, seconds(case));
    let tagged = |tags: [&str; 2]| -> Vec<_> {
        case.children()
            .filter(|c| tags.iter().any(|t| c.has_tag_name(*t)))
            .map(|c| (failure_outcome(c), Some(c), seconds(c)))
            .collect()
    };
    let flaky = tagged(["flakyFailure", "flakyError"]);
    let reruns = tagged(["rerunFailure", "rerunError"]);
    let ordered = flaky.into_iter().chain(std::iter::once(main)).chain(reruns);
    let redact = options.redact;
    let id = redact.redact(id);
    ordered
        .enumerate()
        .map(|(i, (outcome, element, duration))| {
            let message = element.and_then(message_of);
            ResultRecord {
                test: id.to_string(),
                tier: Some(tier.to_string()),
                outcome,
                duration,
                attempt: i as u32 + 1,
                diagnosis: options
                    .diagnoser
                    .filter(|_| outcome.is_failure())
                    .zip(element)
                    .map(|(d, e)| Box::new(diagnose(d, &id, outcome, e, redact))),
                message: message
                    .filter(|_| outcome.is_failure())
                    .map(|m| redact.redact(&m).into_owned()),
            }
        })
        .collect()
}

/// The diagnosis of a failure element: its message attribute and its text (pytest writes the
/// longrepr there, nextest the test's output).
fn diagnose(
    diagnoser: &Diagnoser,
    id: &str,
    outcome: Outcome,
    element: Node,
    redact: &Redactor,
) -> Diagnosis {
    let text = redact.redact(element.text().unwrap_or(""));
    let message = element.attribute("message").map(|m| redact.redact(m));
    let message = message.as_deref().unwrap_or(&text);
    let problem = Problem {
        phase: Phase::Call,
        is_error: outcome == Outcome::Error,
        message: message.to_string(),
        location: None,
        longrepr: if text.is_empty() { message } else { &text }.to_string(),
    };
    diagnoser.diagnose_text(id, outcome, &problem)
}

/// The case's own outcome and the element that decided it.
fn case_outcome<'a, 'i>(case: Node<'a, 'i>) -> (Outcome, Option<Node<'a, 'i>>) {
    for child in case.children().filter(Node::is_element) {
        match child.tag_name().name() {
            "failure" | "error" => return (failure_outcome(child), Some(child)),
            "skipped" if is_xfail(child) => return (Outcome::XFailed, Some(child)),
            "skipped" => return (Outcome::Skipped, Some(child)),
            _ => {}
        }
    }
    (Outcome::Passed, None)
}

/// `error` is an error; a failure is failed, unless nextest's type says it timed out or
/// the process aborted (a signal).
fn failure_outcome(element: Node) -> Outcome {
    let kind = element.attribute("type").unwrap_or("");
    if element.tag_name().name().ends_with("rror") {
        Outcome::Error
    } else if kind.starts_with("test timeout") {
        Outcome::TimedOut
    } else if kind.starts_with("test abort") {
        Outcome::Crashed
    } else {
        Outcome::Failed
    }
}

/// pytest writes xfail as `<skipped type="pytest.xfail">`; older writers put "xfail" first
/// in the message.
fn is_xfail(skipped: Node) -> bool {
    skipped.attribute("type") == Some("pytest.xfail")
        || skipped
            .attribute("message")
            .is_some_and(|m| m.trim_start().starts_with("xfail"))
}

/// The `message` attribute's first line, else (nextest writes none) the text's first line.
fn message_of(element: Node) -> Option<String> {
    let text = element.attribute("message").or_else(|| element.text())?;
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(line.to_string())
}

/// The `time` attribute, in seconds.
fn seconds(element: Node) -> Duration {
    element
        .attribute("time")
        .and_then(|t| t.trim().parse::<f64>().ok())
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .unwrap_or_default()
}

/// The timestamp of the report, else of its first suite.
fn started_ms(root: Node) -> Option<i64> {
    std::iter::once(root)
        .chain(root.descendants().filter(|n| n.has_tag_name("testsuite")))
        .find_map(|n| n.attribute("timestamp"))
        .and_then(iso_time::parse_ms)
}

/// The report's `time`, else its suites' summed, else its tests' summed.
fn run_duration(root: Node, results: &[ResultRecord]) -> Duration {
    if root.has_attribute("time") {
        return seconds(root);
    }
    let suites: Vec<Node> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite") && n.has_attribute("time"))
        .collect();
    if !suites.is_empty() {
        return suites.into_iter().map(seconds).sum();
    }
    results.iter().map(|r| r.duration).sum()
}

fn tiers(results: &[ResultRecord]) -> Option<String> {
    let names: BTreeSet<&str> = results.iter().filter_map(|r| r.tier.as_deref()).collect();
    (!names.is_empty()).then(|| names.into_iter().collect::<Vec<_>>().join(","))
}

#[cfg(test)]
#[path = "import_junit_tests.rs"]
mod tests;
