//! Sends each event to every reporter, counting outcomes on the way and keeping, per tier,
//! whether it failed (the state tier gates are decided from), and diagnosing each failure
//! on the way so every reporter sees the same verdict. It is also the one place secrets are
//! redacted: every event of a run passes here before any reporter (history included) sees it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::diagnose::Diagnoser;

use super::breaker::Breaker;
use crate::events::{Event, Tally, TestResult};
use crate::plan::tiers;
use crate::plan::Tiers;
use crate::redact::Redactor;
use crate::report::Reporter;

pub struct Fanout<'r> {
    reporters: &'r mut [Box<dyn Reporter>],
    pub tally: Tally,
    tiers: &'r Tiers,
    rootdir: PathBuf,
    /// Native test id → tier (the plugin tells Python tests' tiers itself).
    native_tiers: HashMap<String, String>,
    /// Tiers that did not pass: "failed", or "was skipped because X failed".
    not_passed: BTreeMap<String, String>,
    diagnoser: Diagnoser,
    /// The latest result of every test whose latest attempt failed: what a retry starts from.
    pub failed: BTreeMap<String, TestResult>,
    pub breaker: Breaker,
    /// Notices the breaker raised while a result was being counted, sent after it.
    pending: Vec<String>,
    redact: Redactor,
}

impl<'r> Fanout<'r> {
    pub fn new(
        reporters: &'r mut [Box<dyn Reporter>],
        tiers: &'r Tiers,
        rootdir: &Path,
        native_tiers: HashMap<String, String>,
        diagnoser: Diagnoser,
        breaker: Breaker,
        redact: Redactor,
    ) -> Self {
        Fanout {
            reporters,
            tally: Tally::default(),
            tiers,
            rootdir: rootdir.to_path_buf(),
            native_tiers,
            not_passed: BTreeMap::new(),
            diagnoser,
            failed: BTreeMap::new(),
            breaker,
            pending: Vec::new(),
            redact,
        }
    }

    /// Redacts the event's text (before diagnosis, so fingerprints are made from what the
    /// reports show), does the run's bookkeeping with the real test ids (a retry needs
    /// them), then redacts the ids and hands the event to every reporter.
    pub fn send(&mut self, mut event: Event) {
        self.redact.event_text(&mut event);
        if let Event::TestFinished(result) = &mut event {
            self.finished(result);
        }
        self.redact.event_ids(&mut event);
        for reporter in self.reporters.iter_mut() {
            reporter.on_event(&event);
        }
        for message in std::mem::take(&mut self.pending) {
            self.send(Event::Notice { message });
        }
    }

    /// Counts a result (a retry's replaces the attempt before it), gives it a tier and a
    /// diagnosis, and keeps it while it is failing.
    fn finished(&mut self, result: &mut TestResult) {
        let previous = (result.attempt > 1)
            .then(|| self.failed.get(&result.id).map(|r| r.outcome))
            .flatten();
        match previous {
            Some(before) => self.tally.replace(before, result.outcome),
            None => self.tally.add(result.outcome),
        }
        if result.tier.is_none() {
            result.tier = Some(self.tier_of(&result.id));
        }
        if result.outcome.is_failure() {
            // Before any reporter: the terminal, JUnit and history all show the verdict.
            result.diagnosis = self.diagnose(result);
            let tier = result.tier.clone().unwrap_or_default();
            self.not_passed.insert(tier, "failed".to_string());
            self.failed.insert(result.id.clone(), result.clone());
            let opened = self.breaker.record(result);
            self.pending.extend(opened);
        } else {
            self.failed.remove(&result.id);
            if is_blocked(result) {
                let closed = self.breaker.blocked(result);
                self.pending.extend(closed);
            }
        }
    }

    /// The diagnosis of a failure as the reports show it: a fingerprint holds the test id
    /// when the text has no project frame, and must not be made from a secret in it.
    fn diagnose(&self, result: &TestResult) -> Option<Box<crate::diagnose::Diagnosis>> {
        match self.redact.redact(&result.id) {
            std::borrow::Cow::Borrowed(_) => self.diagnoser.diagnose(result),
            std::borrow::Cow::Owned(shown) => {
                let mut view = result.clone();
                view.id = shown;
                self.diagnoser.diagnose(&view)
            }
        }
    }

    /// After retries: a tier whose failures all passed on a retry passed after all.
    pub fn settle_tiers(&mut self) {
        let failing: std::collections::BTreeSet<&str> = self
            .failed
            .values()
            .filter_map(|r| r.tier.as_deref())
            .collect();
        self.not_passed
            .retain(|tier, why| why != "failed" || failing.contains(tier.as_str()));
    }

    /// A result without a tier from the plugin (a collection error, a native test): the
    /// native map, else the file's path.
    fn tier_of(&self, id: &str) -> String {
        if let Some(tier) = self.native_tiers.get(id) {
            return tier.clone();
        }
        let file = id.split("::").next().unwrap_or(id);
        let path = Path::new(file);
        let rel = path.strip_prefix(&self.rootdir).unwrap_or(path);
        self.tiers.of_test(rel, []).to_string()
    }

    /// The tiers of a wave that their gates keep from running, with the reason; they count
    /// as not passed for the gates of later waves.
    pub fn gate(
        &mut self,
        wave: &[String],
        gates: &BTreeMap<String, Vec<String>>,
    ) -> BTreeMap<String, String> {
        let mut gated = BTreeMap::new();
        for tier in wave {
            let Some(reason) = tiers::gate_reason(tier, gates, &self.not_passed) else {
                continue;
            };
            let root = gates[tier]
                .iter()
                .find_map(|g| self.not_passed.get(g).map(|why| root_cause(g, why)))
                .unwrap_or_default();
            self.not_passed
                .insert(tier.clone(), format!("was skipped because {root} failed"));
            gated.insert(tier.clone(), reason);
        }
        gated
    }
}

/// A test the circuit breaker skipped.
fn is_blocked(result: &TestResult) -> bool {
    result
        .skip
        .as_ref()
        .is_some_and(|s| s.message.starts_with("blocked: "))
}

/// The tier whose failure started a chain of gates.
fn root_cause(tier: &str, why: &str) -> String {
    why.strip_prefix("was skipped because ")
        .and_then(|r| r.strip_suffix(" failed"))
        .unwrap_or(tier)
        .to_string()
}
