//! Synthetic runs for benchmarks and stress tests (`vigil history generate`, hidden): realistic
//! ids, tiers, ~3% failures with messages and diagnoses, varying durations, written through the
//! same `Store::record` real runs use. Deterministic: the same arguments give the same database.

use std::time::Duration;

use crate::diagnose::{Category, Diagnosis, Nature, Source};
use crate::events::{Location, Outcome};

use super::git::GitInfo;
use super::record::{now_ms, ResultRecord, RunRecord};
use super::store::Store;
use super::HistoryError;

const TIERS: [&str; 4] = ["unit", "integration", "e2e", "performance"];
const TESTS_PER_MODULE: usize = 20;
const HOUR_MS: i64 = 3_600_000;
/// Distinct bugs the failures are spread over (by test), so a fingerprint recurs across runs
/// and tests as a real one does.
const BUGS: u64 = 50;

/// Writes `runs` runs of `tests` results, one transaction each, then checkpoints the WAL into
/// the database file so its size is the database's.
pub fn generate(store: &mut Store, runs: usize, tests: usize) -> Result<(), HistoryError> {
    for index in 0..runs {
        store.record(&run(index, runs, tests))?;
    }
    store.checkpoint()
}

/// Run `index` of `runs` (the last ends now, one an hour before it, ...), with `tests` results.
pub fn run(index: usize, runs: usize, tests: usize) -> RunRecord {
    let started_ms = now_ms() - (runs - index) as i64 * HOUR_MS;
    let results: Vec<ResultRecord> = (0..tests).map(|t| result(index, t)).collect();
    let busy: Duration = results.iter().map(|r| r.duration).sum();
    let mut run = RunRecord {
        started_ms,
        git: GitInfo {
            commit: Some(format!("{:040x}", mix(index as u64, 0))),
            branch: Some("main".to_string()),
            dirty: Some(false),
        },
        host: Some("bench".to_string()),
        tiers: Some(TIERS.join(",")),
        duration: busy / 4,
        source: "synthetic".to_string(),
        results,
        ..RunRecord::default()
    };
    run.ended_ms = started_ms + run.duration.as_millis() as i64;
    run.tally_results();
    run.exit_code = i32::from(run.tally.failures() > 0);
    run
}

/// Test `t` of run `r`: `tests/<tier>/test_mod_<m>.py::test_case_<c>[param<p>]`.
fn result(r: usize, t: usize) -> ResultRecord {
    let module = t / TESTS_PER_MODULE;
    let tier = TIERS[module % TIERS.len()];
    let case = t % TESTS_PER_MODULE;
    let test = match case % 3 {
        0 => format!("tests/{tier}/test_mod_{module}.py::test_case_{case}"),
        1 => format!("tests/{tier}/test_mod_{module}.py::TestSuite{module}::test_case_{case}"),
        _ => format!(
            "tests/{tier}/test_mod_{module}.py::test_case_{case}[param{}]",
            t % 7
        ),
    };
    let roll = mix(r as u64, t as u64);
    let failed = roll % 100 < 3;
    // Each test has its own typical duration (0.1 ms .. ~1.7 s), jittered ±25% per run.
    let base_us = 100 + (mix(t as u64, 7) % 17) * (mix(t as u64, 11) % 100_000);
    let jitter = 75 + (roll >> 8) % 51;
    let message = failed.then(|| format!("AssertionError: assert {} == {}", roll % 1000, t));
    let diagnosis = message.as_deref().map(|m| Box::new(diagnosis(&test, t, m)));
    ResultRecord {
        tier: Some(tier.to_string()),
        outcome: if failed {
            Outcome::Failed
        } else {
            Outcome::Passed
        },
        duration: Duration::from_micros(base_us * jitter / 100),
        attempt: 1,
        message,
        diagnosis,
        test,
    }
}

/// The verdict on a failure of test `t`, one of [`BUGS`] bugs.
fn diagnosis(test: &str, t: usize, message: &str) -> Diagnosis {
    let file = test.split("::").next().unwrap_or(test);
    Diagnosis {
        fingerprint: format!("{:016x}", mix(t as u64 % BUGS, 13)),
        source: Source::PytestLongrepr,
        exception: Some("AssertionError".to_string()),
        message: message.to_string(),
        normalized: "AssertionError: assert <n> == <n>".to_string(),
        location: Some(Location {
            path: file.to_string(),
            line: Some(10 + (t % 90) as u32),
        }),
        frames: vec![],
        category: Category::Assertion,
        nature: Nature::Deterministic,
        confidence: 0.9,
        rule: "builtin:assertion".to_string(),
        cause: "An assertion in the test did not hold.".to_string(),
        advice: None,
        logs: vec![],
    }
}

/// A small deterministic hash (splitmix64 of the pair).
fn mix(a: u64, b: u64) -> u64 {
    let mut z = a
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(b)
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_look_real_and_repeat() {
        let a = run(3, 10, 1000);
        assert_eq!(a.results.len(), 1000);
        assert_eq!(a.results, run(3, 10, 1000).results);
        let failed = a.tally.failures();
        assert!((10..=60).contains(&failed), "{failed} failures of 1000");
        assert!(a.results[2].test.ends_with("]"));
        assert!(a.results.iter().any(|r| r.tier.as_deref() == Some("e2e")));
        // Every failure, and only failures, carries a verdict; bugs recur across tests.
        let diagnosed = a.results.iter().filter(|r| r.diagnosis.is_some()).count();
        assert_eq!(diagnosed, failed);
        let bugs: std::collections::HashSet<_> =
            a.results.iter().filter_map(|r| r.fingerprint()).collect();
        assert!(
            bugs.len() < failed && bugs.len() as u64 <= BUGS,
            "{} bugs",
            bugs.len()
        );
    }
}
