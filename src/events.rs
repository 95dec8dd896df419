//! The one event stream of a run: every consumer (terminal, JUnit, later history and diagnosis)
//! reads these and nothing else; no consumer reaches back into the executor.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::diagnose::Diagnosis;
use crate::exit::ExitCode;

/// Everything a run reports, in the order it happens.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    RunStarted {
        rootdir: PathBuf,
        files: usize,
        workers: usize,
    },
    WorkerStarted {
        worker: usize,
        files: usize,
        pid: Option<u32>,
    },
    /// A worker finished collecting: these tests, in order, will run in it.
    Collected {
        worker: usize,
        tests: Vec<PlannedTest>,
    },
    TestStarted {
        id: String,
        worker: usize,
    },
    TestFinished(TestResult),
    /// A failed test is about to run again (attempt `attempt`, counting the first as 1).
    TestRetrying {
        id: String,
        attempt: u32,
        /// Why it is retried: the diagnosis said transient, history says flaky, a rule, a marker.
        reason: String,
    },
    /// A worker process ended in a way that cut tests short (crash, timeout kill).
    WorkerLost {
        worker: usize,
        reason: String,
        in_flight: Option<String>,
    },
    /// The run is one shard of a partitioned selection (`--partition`): which, and every
    /// shard's share.
    Partitioned(crate::session::partition::PartitionSummary),
    /// Something the user should see that is not a test result (a worker's usage error, ...).
    Notice {
        message: String,
    },
    RunFinished {
        tally: Tally,
        exit: ExitCode,
        #[serde(with = "seconds")]
        duration: Duration,
    },
}

impl Serialize for ExitCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i32(self.code())
    }
}

impl<'de> Deserialize<'de> for ExitCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ExitCode, D::Error> {
        let code = i32::deserialize(d)?;
        ExitCode::from_code(code)
            .ok_or_else(|| serde::de::Error::custom(format!("no exit code {code}")))
    }
}

/// Durations as seconds (a float), the way JUnit, pytest and the JSON event log count them.
pub mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(duration: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(duration.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

/// A collected test as the plan has it, before it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedTest {
    pub id: String,
    pub tier: Option<String>,
    /// Why the plan skips it without running it (a tier gate, a missing capability).
    pub skip: Option<String>,
    /// The `depends` names it runs after.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
}

/// The final state of one test (or of one file that failed to collect).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    Failed,
    /// Failed in setup or teardown, or a file that could not be collected.
    Error,
    Skipped,
    #[serde(rename = "xfailed")]
    XFailed,
    #[serde(rename = "xpassed")]
    XPassed,
    /// The worker process died while this test ran (signal, `os._exit`, ...).
    Crashed,
    /// The test ran past `--timeout` and its worker was killed.
    TimedOut,
}

impl Outcome {
    /// Outcomes that make a run fail.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Outcome::Failed | Outcome::Error | Outcome::Crashed | Outcome::TimedOut
        )
    }

    /// The word pytest uses for it (vigil's own two outcomes added).
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Error => "error",
            Outcome::Skipped => "skipped",
            Outcome::XFailed => "xfailed",
            Outcome::XPassed => "xpassed",
            Outcome::Crashed => "crashed",
            Outcome::TimedOut => "timed out",
        }
    }

    /// Summary order, as pytest prints it: failures first.
    pub const ALL: [Outcome; 8] = [
        Outcome::Failed,
        Outcome::Crashed,
        Outcome::TimedOut,
        Outcome::Passed,
        Outcome::Skipped,
        Outcome::XFailed,
        Outcome::XPassed,
        Outcome::Error,
    ];
}

/// Where in a test's life a problem happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Collect,
    Setup,
    Call,
    Teardown,
}

/// A failure or error attached to a test. A failed call plus a failing teardown is one test
/// with two problems, as in pytest's own JUnit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub phase: Phase,
    /// True for errors (setup/teardown/collection), false for failures of the test itself.
    pub is_error: bool,
    /// One line: the exception and its message, as pytest's crash line shows it.
    pub message: String,
    pub location: Option<Location>,
    /// The full failure text (pytest's longrepr), capped by the plugin.
    pub longrepr: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub path: String,
    pub line: Option<u32>,
}

/// The reason of a skip or an expected failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkipInfo {
    pub message: String,
    pub location: Option<Location>,
}

/// A marker on a test, with its arguments as JSON values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Marker {
    pub name: String,
    #[serde(default)]
    pub args: Vec<serde_json::Value>,
    #[serde(default)]
    pub kwargs: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestResult {
    /// pytest's node id, e.g. `tests/test_x.py::TestA::test_b[1]`.
    pub id: String,
    pub outcome: Outcome,
    /// Setup + call + teardown, as pytest's JUnit counts it.
    #[serde(with = "seconds")]
    pub duration: Duration,
    pub problems: Vec<Problem>,
    /// Why it was skipped or expected to fail, and where the skip was raised.
    pub skip: Option<SkipInfo>,
    /// Captured output sections, e.g. ("Captured stdout call", "...").
    pub sections: Vec<(String, String)>,
    pub markers: Vec<Marker>,
    /// unit, integration, e2e, performance, stress, a custom tier, or `untiered`.
    pub tier: Option<String>,
    pub worker: usize,
    /// The verdict on a failure, once diagnosis has read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<Box<Diagnosis>>,
    /// 1 for the first run of the test; a retry counts up.
    pub attempt: u32,
}

impl TestResult {
    /// A result decided without pytest's phase reports (a collection error, a crash, a gated
    /// or unbuildable native test): no duration, output or markers of its own.
    pub fn bare(
        id: String,
        outcome: Outcome,
        problems: Vec<Problem>,
        skip: Option<SkipInfo>,
        worker: usize,
    ) -> TestResult {
        TestResult {
            id,
            outcome,
            duration: Duration::ZERO,
            problems,
            skip,
            sections: vec![],
            markers: vec![],
            tier: None,
            worker,
            diagnosis: None,
            attempt: 1,
        }
    }

    /// The file part of the node id.
    pub fn file(&self) -> &str {
        self.id.split("::").next().unwrap_or(&self.id)
    }
}

/// Counts of outcomes over a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    counts: Vec<(Outcome, usize)>,
    /// Tests that failed and then passed on a retry (counted as passed above too).
    flaky: usize,
}

impl Tally {
    pub fn add(&mut self, outcome: Outcome) {
        match self.counts.iter_mut().find(|(o, _)| *o == outcome) {
            Some((_, n)) => *n += 1,
            None => self.counts.push((outcome, 1)),
        }
    }

    /// A retried test's new outcome takes the place of its previous one; a pass after a
    /// failure makes it flaky.
    pub fn replace(&mut self, previous: Outcome, outcome: Outcome) {
        if let Some((_, n)) = self.counts.iter_mut().find(|(o, _)| *o == previous) {
            *n = n.saturating_sub(1);
        }
        self.counts.retain(|(_, n)| *n > 0);
        self.add(outcome);
        if previous.is_failure() && !outcome.is_failure() {
            self.flaky += 1;
        }
    }

    pub fn flaky(&self) -> usize {
        self.flaky
    }

    pub fn get(&self, outcome: Outcome) -> usize {
        self.counts
            .iter()
            .find(|(o, _)| *o == outcome)
            .map_or(0, |(_, n)| *n)
    }

    pub fn total(&self) -> usize {
        self.counts.iter().map(|(_, n)| n).sum()
    }

    pub fn failures(&self) -> usize {
        self.counts
            .iter()
            .filter(|(o, _)| o.is_failure())
            .map(|(_, n)| n)
            .sum()
    }

    /// "2 failed, 10 passed, 1 skipped", in pytest's order; empty outcomes left out.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = Outcome::ALL
            .iter()
            .filter_map(|&o| {
                let n = self.get(o);
                (n > 0).then(|| match (o, n) {
                    (Outcome::Error, 1) => "1 error".to_string(),
                    (Outcome::Error, n) => format!("{n} errors"),
                    (o, n) => format!("{n} {}", o.label()),
                })
            })
            .collect();
        if parts.is_empty() {
            return "no tests ran".to_string();
        }
        let mut text = parts.join(", ");
        if self.flaky > 0 {
            text.push_str(&format!(" ({} flaky)", self.flaky));
        }
        text
    }
}
