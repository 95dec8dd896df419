//! The circuit breaker: when `threshold` tests that require one capability (a service, a named
//! capability) fail with a network, timeout or database diagnosis, vigil probes it again
//! (half-open); if it is still down, the rest of the tests that require it are skipped as
//! "blocked" instead of each failing slowly, and failures behind it are not retried. The
//! pytest plugin reads the open capabilities from a file vigil rewrites atomically. While a
//! capability is open, its blocked tests probe it again now and then, and one that answers
//! closes the circuit.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::diagnose::Category;
use crate::events::TestResult;
use crate::plan::capabilities::{CapabilityConfig, Probes, Requirement};

/// `[breaker]`, resolved.
#[derive(Debug, Clone)]
pub struct BreakerSettings {
    /// Failures of one capability's tests that open it; 0 turns the breaker off.
    pub threshold: usize,
    /// Probe the capability before opening (a service back up keeps it closed).
    pub probe: bool,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        BreakerSettings {
            threshold: 3,
            probe: true,
        }
    }
}

pub struct Breaker {
    settings: BreakerSettings,
    named: BTreeMap<String, CapabilityConfig>,
    /// Failures counted per capability key since it was last probed up.
    failures: HashMap<String, usize>,
    /// Open capabilities: key → the skip reason.
    open: BTreeMap<String, String>,
    file: PathBuf,
    /// When each open capability was last probed (half-open: a blocked test probes again
    /// once this is older than `REPROBE`).
    probed: HashMap<String, Instant>,
    reprobe: Duration,
}

/// How often a blocked capability is probed again to see whether it came back.
const REPROBE: Duration = Duration::from_secs(2);

impl Breaker {
    /// A breaker writing its open capabilities to `file` (which the plugin watches).
    pub fn new(
        settings: BreakerSettings,
        named: BTreeMap<String, CapabilityConfig>,
        file: &Path,
    ) -> Breaker {
        Breaker {
            settings,
            named,
            failures: HashMap::new(),
            open: BTreeMap::new(),
            file: file.to_path_buf(),
            probed: HashMap::new(),
            reprobe: REPROBE,
        }
    }

    /// Counts a failure against the capabilities its test requires; returns a notice for
    /// each capability this failure opened.
    pub fn record(&mut self, result: &TestResult) -> Vec<String> {
        if self.settings.threshold == 0 || !service_failure(result) {
            return Vec::new();
        }
        let mut notices = Vec::new();
        for requirement in self.requirements(result) {
            let key = requirement.key();
            if self.open.contains_key(&key) {
                continue;
            }
            let count = self.failures.entry(key.clone()).or_default();
            *count += 1;
            if *count < self.settings.threshold {
                continue;
            }
            let failures = *count;
            if self.settings.probe && self.still_up(&requirement) {
                // Half-open: the service answers again, so its tests keep running.
                self.failures.insert(key, 0);
                continue;
            }
            let reason = format!("blocked: {key} failing ({failures} failures)");
            notices.push(format!(
                "circuit open for {key} after {failures} failures: the remaining tests that require it are skipped"
            ));
            self.probed.insert(key.clone(), Instant::now());
            self.open.insert(key, reason);
            self.write();
        }
        notices
    }

    /// A test the breaker skipped: probes its open capabilities again (at most every
    /// `REPROBE`) and closes those that answer, so the tests after it run again; returns a
    /// notice for each it closed.
    pub fn blocked(&mut self, result: &TestResult) -> Vec<String> {
        let mut notices = Vec::new();
        for requirement in self.requirements(result) {
            let key = requirement.key();
            let due = self
                .probed
                .get(&key)
                .is_some_and(|at| at.elapsed() >= self.reprobe);
            if !self.open.contains_key(&key) || !due {
                continue;
            }
            self.probed.insert(key.clone(), Instant::now());
            if self.still_up(&requirement) {
                self.open.remove(&key);
                self.failures.insert(key.clone(), 0);
                self.write();
                notices.push(format!(
                    "circuit closed for {key}: it answers its probe again"
                ));
            }
        }
        notices
    }

    /// Whether a test requires an open capability (its failure is not worth a retry).
    pub fn blocks(&self, result: &TestResult) -> bool {
        self.requirements(result)
            .iter()
            .any(|r| self.open.contains_key(&r.key()))
    }

    fn requirements(&self, result: &TestResult) -> Vec<Requirement> {
        result
            .markers
            .iter()
            .filter_map(|m| Requirement::from_marker(m, &self.named).ok())
            .flat_map(|found| found.known)
            .collect()
    }

    fn still_up(&self, requirement: &Requirement) -> bool {
        let probes = Probes::check([requirement.clone()], &self.named);
        probes.missing(requirement).is_none()
    }

    /// Rewrites the file atomically: a worker never reads half of it.
    fn write(&self) {
        let Ok(text) = serde_json::to_string(&self.open) else {
            return;
        };
        let tmp = self.file.with_extension("tmp");
        if std::fs::write(&tmp, text).is_ok() {
            let _ = std::fs::rename(&tmp, &self.file);
        }
    }
}

/// A failure that says a service is unwell, not that the code is wrong.
fn service_failure(result: &TestResult) -> bool {
    result.outcome.is_failure()
        && result.diagnosis.as_deref().is_some_and(|d| {
            matches!(
                d.category,
                Category::Network | Category::Timeout | Category::Database
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::{Diagnoser, Rules};
    use crate::events::{Marker, Outcome, Phase, Problem};

    /// A refused-connection failure of a test that requires `service`.
    fn refused(service: &str) -> TestResult {
        let problem = Problem {
            phase: Phase::Call,
            is_error: false,
            message: "ConnectionRefusedError: [Errno 111] Connection refused".into(),
            location: None,
            longrepr: "E   ConnectionRefusedError: [Errno 111] Connection refused".into(),
        };
        let mut result =
            TestResult::bare("t.py::a".into(), Outcome::Failed, vec![problem], None, 0);
        result.markers.push(Marker {
            name: "requires_service".into(),
            args: vec![service.into()],
            kwargs: Default::default(),
        });
        result.diagnosis = Diagnoser::new(Rules::builtin(), Path::new("/r")).diagnose(&result);
        result
    }

    fn breaker(dir: &Path) -> Breaker {
        let settings = BreakerSettings {
            threshold: 2,
            probe: true,
        };
        Breaker::new(settings, BTreeMap::new(), &dir.join("blocked.json"))
    }

    #[test]
    fn a_service_still_down_opens_after_the_threshold() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A port bound but not listening: the probe is refused, as the tests were.
        let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = holder.local_addr().expect("addr").port();
        drop(holder);
        let service = format!("127.0.0.1:{port}");
        let mut b = breaker(dir.path());
        assert!(b.record(&refused(&service)).is_empty());
        let notices = b.record(&refused(&service));
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert!(b.blocks(&refused(&service)));
        let written = std::fs::read_to_string(dir.path().join("blocked.json")).expect("file");
        let open: BTreeMap<String, String> = serde_json::from_str(&written).expect("json");
        assert_eq!(
            open.get(&format!("service:{service}")).map(String::as_str),
            Some(format!("blocked: service:{service} failing (2 failures)").as_str())
        );
    }

    #[test]
    fn a_service_that_answers_the_probe_stays_closed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let service = format!("127.0.0.1:{}", listener.local_addr().expect("addr").port());
        let mut b = breaker(dir.path());
        for _ in 0..3 {
            assert!(b.record(&refused(&service)).is_empty());
        }
        assert!(!b.blocks(&refused(&service)));
        assert!(!dir.path().join("blocked.json").exists());
    }

    #[test]
    fn a_blocked_test_reprobes_and_a_service_back_up_closes_the_circuit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = holder.local_addr().expect("addr");
        drop(holder);
        let service = format!("127.0.0.1:{}", addr.port());
        let mut b = breaker(dir.path());
        b.reprobe = std::time::Duration::ZERO;
        b.record(&refused(&service));
        assert_eq!(b.record(&refused(&service)).len(), 1, "opened");
        assert!(
            b.blocked(&refused(&service)).is_empty(),
            "still down: stays open"
        );
        assert!(b.blocks(&refused(&service)));
        // The service comes back on the same port.
        let _listener = std::net::TcpListener::bind(addr).expect("rebind");
        let closed = b.blocked(&refused(&service));
        assert_eq!(closed.len(), 1, "{closed:?}");
        assert!(!b.blocks(&refused(&service)));
        let written = std::fs::read_to_string(dir.path().join("blocked.json")).expect("file");
        assert_eq!(written, "{}");
    }

    #[test]
    fn assertion_failures_do_not_count() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut b = breaker(dir.path());
        let mut result = refused("127.0.0.1:1");
        if let Some(d) = result.diagnosis.as_mut() {
            d.category = Category::Assertion;
        }
        for _ in 0..3 {
            assert!(b.record(&result).is_empty());
        }
        assert!(!b.blocks(&result));
    }
}
