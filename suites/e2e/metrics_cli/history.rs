//! A small fixed history for `vigil metrics` and the trends alerts, written through the
//! library's recording API with fixed times and commits: six runs of `main` over four tiers
//! and an untiered native test, in which `test_evict` flakes (a pass and a failure on one
//! commit) and the latest run breaks `test_tax` (a new failure) and skips `test_migrate`;
//! before them one run of a branch whose name needs escaping in a label.

use std::path::Path;
use std::time::Duration;

use vigil::events::Outcome;
use vigil::history::{GitInfo, ResultRecord, RunRecord, Store};

/// Runs of `main`; the last is the latest run of the database.
pub const MAIN_RUNS: usize = 6;

/// A branch name with a double quote and a backslash.
pub const ODD_BRANCH: &str = "feature/\"quoted\"\\name";

/// 2026-03-02 02:00 UTC; runs follow every hour.
const START_MS: i64 = 1_772_416_800_000;

pub const NEW_FAILURE: &str = "tests/unit/test_money.py::test_tax";
pub const FLAKY: &str = "tests/unit/test_cache.py::test_evict";

/// (id, tier, milliseconds)
const TESTS: &[(&str, Option<&str>, u64)] = &[
    ("tests/unit/test_money.py::test_round", Some("unit"), 3),
    (NEW_FAILURE, Some("unit"), 2),
    (FLAKY, Some("unit"), 11),
    (
        "tests/integration/test_db.py::test_migrate",
        Some("integration"),
        120,
    ),
    ("tests/e2e/test_cli.py::test_help", Some("e2e"), 450),
    (
        "tests/performance/test_bench.py::test_parse",
        Some("performance"),
        800,
    ),
    ("native:shop::smoke::boots", None, 40),
];

/// The commit of run `n` of `main` (two runs on the first commit, so a flip there is flaky).
pub fn commit(run: usize) -> String {
    let h = (run.saturating_sub(1) as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    format!("{h:016x}{:016x}{:08x}", h.rotate_left(17), h >> 32)
}

/// Writes the runs into a new database at `path`.
pub fn write(path: &Path) -> Result<(), String> {
    let mut store = Store::open(path).map_err(|e| e.to_string())?;
    let odd = record(0, ODD_BRANCH, "0".repeat(40), START_MS - 3_600_000);
    store.record(&odd).map_err(|e| e.to_string())?;
    for run in 0..MAIN_RUNS {
        let started_ms = START_MS + run as i64 * 3_600_000;
        let record = record(run, "main", commit(run), started_ms);
        store.record(&record).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn record(run: usize, branch: &str, commit: String, started_ms: i64) -> RunRecord {
    let latest = run + 1 == MAIN_RUNS;
    let results: Vec<ResultRecord> = TESTS
        .iter()
        .map(|&(test, tier, ms)| {
            let outcome = match test {
                NEW_FAILURE if latest => Outcome::Failed,
                FLAKY if run == 1 => Outcome::Failed,
                t if t.ends_with("test_migrate") && latest => Outcome::Skipped,
                _ => Outcome::Passed,
            };
            ResultRecord {
                test: test.to_string(),
                tier: tier.map(String::from),
                outcome,
                // Each run a little slower, so sums are not round.
                duration: Duration::from_micros(ms * 1000 + run as u64 * 125),
                attempt: 1,
                message: outcome
                    .is_failure()
                    .then(|| "AssertionError: assert 1.19 == 1.2".to_string()),
                diagnosis: None,
            }
        })
        .collect();
    let mut record = RunRecord {
        started_ms,
        ended_ms: started_ms + 4_000 + run as i64,
        git: GitInfo {
            commit: Some(commit),
            branch: Some(branch.to_string()),
            dirty: Some(false),
        },
        host: Some("ci-runner-1".into()),
        // Fixed, so the alert payload's snapshot does not change from one run to the next.
        uid: format!("{branch}-run-{run}"),
        duration: Duration::from_millis(3_250),
        source: "vigil".into(),
        results,
        ..RunRecord::default()
    };
    record.tally_results();
    record.exit_code = i32::from(record.tally.failures() > 0);
    record
}
