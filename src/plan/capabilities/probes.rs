//! Checking every distinct requirement once per run, in parallel, each bounded by its timeout;
//! the results say which are missing and why.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use super::config::{CapabilityConfig, Probe, DEFAULT_TIMEOUT};
use super::requirements::Requirement;
use super::run::{run_probe, secs};

/// Slack past the largest timeout before `Probes::check` stops waiting for a stuck probe.
const GRACE: Duration = Duration::from_millis(500);

/// The outcome of checking each requirement once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Probes {
    /// `None` when present, the skip reason when missing.
    results: BTreeMap<Requirement, Option<String>>,
}

impl Probes {
    /// Checks every distinct requirement once, each on its own thread and bounded by its timeout.
    /// Returns by the largest timeout plus a little even if a probe is stuck (e.g. in a name
    /// lookup); such a probe counts as missing.
    pub fn check(
        reqs: impl IntoIterator<Item = Requirement>,
        named: &BTreeMap<String, CapabilityConfig>,
    ) -> Probes {
        let distinct: BTreeSet<Requirement> = reqs.into_iter().collect();
        let (tx, rx) = mpsc::channel();
        let mut longest = Duration::ZERO;
        for requirement in &distinct {
            let job = Job::new(requirement, named);
            longest = longest.max(job.timeout);
            let (tx, requirement) = (tx.clone(), requirement.clone());
            std::thread::spawn(move || {
                let _ = tx.send((requirement, job.run()));
            });
        }
        drop(tx);
        collect(distinct, rx, longest + GRACE)
    }

    /// `None` when present; the reason when missing, e.g. `requires env FOO (not set)`.
    pub fn missing(&self, req: &Requirement) -> Option<&str> {
        match self.results.get(req) {
            Some(result) => result.as_deref(),
            // Running a test whose requirement nobody checked would hide a planning bug.
            None => Some("requirement was not probed before the run"),
        }
    }

    /// Every result, keyed by requirement.
    pub fn iter(&self) -> impl Iterator<Item = (&Requirement, Option<&str>)> {
        self.results.iter().map(|(r, m)| (r, m.as_deref()))
    }

    /// The results as vigil hands them to its pytest plugin: `{key: reason or null}`.
    pub fn to_json(&self) -> serde_json::Value {
        let map = self
            .results
            .iter()
            .map(|(r, m)| {
                (
                    r.key(),
                    m.clone().map_or(serde_json::Value::Null, Into::into),
                )
            })
            .collect();
        serde_json::Value::Object(map)
    }
}

impl FromIterator<(Requirement, Option<String>)> for Probes {
    fn from_iter<I: IntoIterator<Item = (Requirement, Option<String>)>>(iter: I) -> Probes {
        Probes {
            results: iter.into_iter().collect(),
        }
    }
}

/// Waits for every probe until `wait` has passed; stragglers count as missing.
fn collect(
    mut pending: BTreeSet<Requirement>,
    rx: Receiver<(Requirement, Option<String>)>,
    wait: Duration,
) -> Probes {
    let deadline = Instant::now() + wait;
    let mut results = BTreeMap::new();
    while !pending.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok((requirement, result)) = rx.recv_timeout(left) else {
            break;
        };
        pending.remove(&requirement);
        results.insert(requirement, result);
    }
    for requirement in pending {
        let reason = format!(
            "{} (probe did not finish within {})",
            describe(&requirement),
            secs(wait)
        );
        results.insert(requirement, Some(reason));
    }
    Probes { results }
}

/// One requirement's probe, ready to run on its own thread.
struct Job {
    requirement: Requirement,
    probe: Option<Probe>,
    timeout: Duration,
    reason: Option<String>,
}

impl Job {
    fn new(requirement: &Requirement, named: &BTreeMap<String, CapabilityConfig>) -> Job {
        let (probe, timeout, reason) = match requirement {
            Requirement::Env(v) => (Some(Probe::Env(v.clone())), Duration::ZERO, None),
            Requirement::Bin(v) => (Some(Probe::Bin(v.clone())), Duration::ZERO, None),
            Requirement::Service(v) => (Some(Probe::Tcp(v.clone())), DEFAULT_TIMEOUT, None),
            Requirement::Named(name) => match named.get(name) {
                Some(c) => (Some(c.probe.clone()), c.timeout(), c.reason.clone()),
                None => (None, Duration::ZERO, None),
            },
        };
        Job {
            requirement: requirement.clone(),
            probe,
            timeout,
            reason,
        }
    }

    /// `None` when present, otherwise the skip reason.
    fn run(self) -> Option<String> {
        let Some(probe) = &self.probe else {
            return Some(format!(
                "{} (no [capabilities.{}] in the config)",
                describe(&self.requirement),
                self.requirement.parts().1
            ));
        };
        let problem = run_probe(probe, self.timeout).err()?;
        if let Some(reason) = self.reason {
            return Some(reason);
        }
        Some(match &self.requirement {
            Requirement::Named(name) => format!("requires {name}: {probe} ({problem})"),
            other => format!("{} ({problem})", describe(other)),
        })
    }
}

/// `requires env FOO`, `requires bin git`, `requires service host:port`, `requires postgres`.
fn describe(requirement: &Requirement) -> String {
    match requirement {
        Requirement::Named(name) => format!("requires {name}"),
        other => {
            let (scheme, value) = other.parts();
            format!("requires {scheme} {value}")
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plan::capabilities::test_fixtures::{config, scratch};

    #[test]
    fn probes_run_in_parallel() {
        // Each probe marks itself started, then waits for all three marks: run one after another,
        // the first would wait until its timeout and be reported missing.
        let dir = scratch("parallel");
        let table = |name: &str| {
            format!(
                "[{name}]\nprobe = \"cmd:touch {dir}/{name}; sleep 0.5; \
                 while [ $(ls {dir} | wc -l) -lt 3 ]; do sleep 0.05; done\"\ntimeout = 5\n",
                dir = dir.display()
            )
        };
        let named = config(&["a", "b", "c"].map(table).concat());
        let reqs = ["a", "b", "c"].map(|n| Requirement::Named(n.into()));
        let probes = Probes::check(reqs.clone(), &named);
        for req in &reqs {
            assert_eq!(probes.missing(req), None, "{req}");
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn duplicates_probe_once_and_results_serialize_by_key() {
        let named = config("[f]\nprobe = \"cmd:false\"\n");
        let probes = Probes::check(
            [
                Requirement::Bin("sh".into()),
                Requirement::Named("f".into()),
                Requirement::Bin("sh".into()),
            ],
            &named,
        );
        assert_eq!(probes.iter().count(), 2);
        assert_eq!(
            probes.to_json(),
            json!({"bin:sh": null, "named:f": "requires f: cmd:false (exit status 1)"})
        );
    }

    #[test]
    fn unprobed_and_unconfigured_requirements_are_missing() {
        let probes = Probes::check([Requirement::Named("gone".into())], &BTreeMap::new());
        assert_eq!(
            probes.missing(&Requirement::Named("gone".into())),
            Some("requires gone (no [capabilities.gone] in the config)")
        );
        assert!(probes.missing(&Requirement::Env("X".into())).is_some());
    }
}
