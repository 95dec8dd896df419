//! What one run leaves in history: the run's facts and one record per test result.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;

use crate::diagnose::Diagnosis;
use crate::events::{Outcome, Tally};

use super::git::GitInfo;

/// One run, as it is written in one transaction.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunRecord {
    /// The run's name across copies of the database (see run_uid.rs); empty: `Store::record`
    /// gives it a new one.
    pub uid: String,
    /// Unix time in milliseconds.
    pub started_ms: i64,
    pub ended_ms: i64,
    pub git: GitInfo,
    pub profile: Option<String>,
    pub host: Option<String>,
    /// What was asked for: paths, `-k`, `-m`, tiers (JSON).
    pub selection: Option<String>,
    /// The tiers the run covered, comma-separated.
    pub tiers: Option<String>,
    pub tally: Tally,
    pub duration: Duration,
    pub exit_code: i32,
    pub interrupted: bool,
    /// `vigil`, or `junit:FILE` for an imported report.
    pub source: String,
    /// The series of repetitions (`vigil run --repeat`, `--until-fail`) the run is one of.
    pub series: Option<String>,
    /// The shard this run is of a partitioned selection (`duration:2/4`).
    pub partition: Option<String>,
    /// How many shard runs this run merges (`vigil merge`); None for any other run.
    pub shards: Option<u32>,
    pub results: Vec<ResultRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResultRecord {
    pub test: String,
    pub tier: Option<String>,
    pub outcome: Outcome,
    pub duration: Duration,
    /// 1 for the first try; retries count up (the retry policy's attempts).
    pub attempt: u32,
    /// The first problem's one-line message, for failures and errors.
    pub message: Option<String>,
    /// The verdict on a failure, when diagnosis read it. Boxed: most results are passes, and
    /// a run holds thousands of records.
    pub diagnosis: Option<Box<Diagnosis>>,
}

impl ResultRecord {
    /// The fingerprint stored in `results.fingerprint`.
    pub fn fingerprint(&self) -> Option<&str> {
        self.diagnosis.as_deref().map(|d| d.fingerprint.as_str())
    }
}

impl RunRecord {
    /// The run's counts recomputed from its results (for imports, which have no tally): each
    /// test counts once, with the outcome of its last attempt.
    pub fn tally_results(&mut self) {
        let mut last: HashMap<&str, (u32, Outcome)> = HashMap::new();
        for result in &self.results {
            let entry = last
                .entry(result.test.as_str())
                .or_insert((result.attempt, result.outcome));
            if result.attempt >= entry.0 {
                *entry = (result.attempt, result.outcome);
            }
        }
        let mut tally = Tally::default();
        for (_, outcome) in last.into_values() {
            tally.add(outcome);
        }
        self.tally = tally;
    }
}

/// Now, as Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
