//! Turns the plugin's per-phase reports into one [`TestResult`] per test, with the same
//! verdicts pytest's own JUnit writer reaches (setup/teardown failures are errors, a failed
//! call plus a failing teardown is one test with both, xfail/xpass from `wasxfail`).

use std::path::Path;
use std::time::Duration;

use crate::events::{Location, Marker, Outcome, Phase, Problem, SkipInfo, TestResult};

use super::wire::{WireCrash, WirePhase, WireSkip};

/// What the executor knows about a test besides its reports.
pub struct TestContext<'a> {
    pub rootdir: &'a Path,
    pub worker: usize,
    pub markers: Vec<Marker>,
    pub tier: Option<String>,
}

/// Folds setup/call/teardown reports into one result.
pub fn from_phases(
    id: String,
    phases: &[WirePhase],
    sections: Vec<(String, String)>,
    ctx: TestContext,
) -> TestResult {
    let mut outcome = Outcome::Passed;
    let mut problems = Vec::new();
    let mut skip = None;
    for phase in phases {
        let when = match phase.when.as_str() {
            "setup" => Phase::Setup,
            "teardown" => Phase::Teardown,
            _ => Phase::Call,
        };
        match (phase.outcome.as_str(), &phase.wasxfail) {
            ("skipped", Some(reason)) => {
                outcome = Outcome::XFailed;
                skip = Some(SkipInfo {
                    message: reason.clone(),
                    location: None,
                });
            }
            ("passed", Some(reason)) if when == Phase::Call => {
                outcome = Outcome::XPassed;
                skip = Some(SkipInfo {
                    message: reason.clone(),
                    location: None,
                });
            }
            ("skipped", None) => {
                outcome = Outcome::Skipped;
                skip = phase.reason.as_ref().map(|r| skip_info(r, ctx.rootdir));
            }
            ("failed", _) => {
                let is_error = when != Phase::Call;
                // A teardown error after a failed call keeps the test "failed", with both problems.
                if !(is_error && outcome == Outcome::Failed) {
                    outcome = if is_error {
                        Outcome::Error
                    } else {
                        Outcome::Failed
                    };
                }
                problems.push(problem(when, is_error, phase, ctx.rootdir));
            }
            _ => {}
        }
    }
    // The plugin's numbers are pytest's, but a line a test forged could say anything: a
    // duration `Duration` cannot hold (1e300, a sum that overflows) counts as none.
    let seconds: f64 = phases.iter().map(|p| p.duration.max(0.0)).sum();
    let duration = Duration::try_from_secs_f64(seconds).unwrap_or_default();
    TestResult {
        id,
        outcome,
        duration,
        problems,
        skip,
        sections,
        markers: ctx.markers,
        tier: ctx.tier,
        worker: ctx.worker,
        diagnosis: None,
        attempt: 1,
    }
}

fn problem(phase: Phase, is_error: bool, report: &WirePhase, rootdir: &Path) -> Problem {
    let longrepr = report.longrepr.clone().unwrap_or_default();
    let message = match &report.crash {
        Some(crash) => crash.message.clone(),
        None => last_meaningful_line(&longrepr),
    };
    Problem {
        phase,
        is_error,
        message,
        location: report.crash.as_ref().map(|c| crash_location(c, rootdir)),
        longrepr,
    }
}

fn crash_location(crash: &WireCrash, rootdir: &Path) -> Location {
    Location {
        path: relative(&crash.path, rootdir),
        line: crash.line,
    }
}

fn skip_info(reason: &WireSkip, rootdir: &Path) -> SkipInfo {
    let location = reason.path.as_ref().map(|p| Location {
        path: relative(p, rootdir),
        line: reason.line,
    });
    SkipInfo {
        message: strip_skip_prefix(&reason.message),
        location,
    }
}

/// pytest prefixes skip reasons with "Skipped: "; its JUnit and summary drop it.
fn strip_skip_prefix(message: &str) -> String {
    message
        .strip_prefix("Skipped: ")
        .unwrap_or(message)
        .to_string()
}

/// `path` relative to the rootdir when it is below it, as pytest's node ids spell files.
pub fn relative(path: &str, rootdir: &Path) -> String {
    Path::new(path)
        .strip_prefix(rootdir)
        .map_or_else(|_| path.to_string(), |p| p.to_string_lossy().into_owned())
}

/// The line of a traceback that says what went wrong (`E   SyntaxError: ...` → `SyntaxError: ...`).
fn last_meaningful_line(text: &str) -> String {
    let line = text
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with("E ") && l.len() > 2)
        .or_else(|| text.lines().rev().map(str::trim).find(|l| !l.is_empty()))
        .unwrap_or("");
    line.strip_prefix('E')
        .map_or(line, str::trim_start)
        .to_string()
}

/// A file pytest could not collect (syntax error, import error): an error result for the file.
pub fn collect_error(nodeid: String, longrepr: String, worker: usize) -> TestResult {
    let problem = Problem {
        phase: Phase::Collect,
        is_error: true,
        message: last_meaningful_line(&longrepr),
        location: Some(Location {
            path: nodeid.split("::").next().unwrap_or(&nodeid).to_string(),
            line: None,
        }),
        longrepr,
    };
    TestResult::bare(nodeid, Outcome::Error, vec![problem], None, worker)
}

/// A file skipped as a whole (`pytest.skip(allow_module_level=True)`, `importorskip` at import).
pub fn collect_skip(
    nodeid: String,
    reason: &WireSkip,
    rootdir: &Path,
    worker: usize,
) -> TestResult {
    TestResult::bare(
        nodeid,
        Outcome::Skipped,
        vec![],
        Some(skip_info(reason, rootdir)),
        worker,
    )
}

/// A test cut short by its worker's death or by the timeout.
pub fn interrupted(
    id: String,
    outcome: Outcome,
    message: String,
    detail: String,
    elapsed: Duration,
    worker: usize,
) -> TestResult {
    let problem = Problem {
        phase: Phase::Call,
        is_error: false,
        message,
        location: None,
        longrepr: detail,
    };
    let mut result = TestResult::bare(id, outcome, vec![problem], None, worker);
    result.duration = elapsed;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase(when: &str, outcome: &str) -> WirePhase {
        WirePhase {
            when: when.into(),
            outcome: outcome.into(),
            duration: 0.25,
            wasxfail: None,
            reason: None,
            longrepr: (outcome == "failed").then(|| format!("E   boom in {when}")),
            crash: None,
        }
    }

    fn fold(phases: &[WirePhase]) -> TestResult {
        let ctx = TestContext {
            rootdir: Path::new("/r"),
            worker: 0,
            markers: vec![],
            tier: None,
        };
        from_phases("t.py::a".into(), phases, vec![], ctx)
    }

    #[test]
    fn failed_call_and_teardown_error_is_one_failed_test_with_two_problems() {
        let r = fold(&[
            phase("setup", "passed"),
            phase("call", "failed"),
            phase("teardown", "failed"),
        ]);
        assert_eq!(r.outcome, Outcome::Failed);
        assert_eq!(r.problems.len(), 2);
        assert!(r.problems[1].is_error);
        assert_eq!(r.problems[1].message, "boom in teardown");
        assert_eq!(r.duration, Duration::from_millis(750));
    }

    #[test]
    fn passing_call_with_teardown_error_is_an_error() {
        let r = fold(&[
            phase("setup", "passed"),
            phase("call", "passed"),
            phase("teardown", "failed"),
        ]);
        assert_eq!(r.outcome, Outcome::Error);
    }

    #[test]
    fn wasxfail_decides_xfailed_and_xpassed() {
        let mut call = phase("call", "skipped");
        call.wasxfail = Some("bug 12".into());
        assert_eq!(
            fold(&[phase("setup", "passed"), call.clone()]).outcome,
            Outcome::XFailed
        );
        call.outcome = "passed".into();
        let r = fold(&[phase("setup", "passed"), call, phase("teardown", "passed")]);
        assert_eq!(
            (r.outcome, r.skip.unwrap().message),
            (Outcome::XPassed, "bug 12".to_string())
        );
    }
}
