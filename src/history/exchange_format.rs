//! The history export format (`vigil history export`): JSON lines, a header line naming the
//! format's version, then one line per run holding everything the run left in the database:
//! its row, its results, the verdicts of the fingerprints they carry and those fingerprints'
//! fix notes. The same shape is how a run is read out of another database for an import.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

use crate::diagnose::Diagnosis;
use crate::events::{Outcome, Tally};

use super::git::GitInfo;
use super::record::{ResultRecord, RunRecord};

/// The version of the format this vigil writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// The first line of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub vigil_history_export: u32,
    /// The schema version of the database it was written from (for a reader's information).
    pub schema: i64,
}

/// One run, as an export line holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedRun {
    pub uid: String,
    pub started_ms: i64,
    pub ended_ms: i64,
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub dirty: Option<bool>,
    pub profile: Option<String>,
    pub host: Option<String>,
    pub selection: Option<String>,
    pub tiers: Option<String>,
    pub total: i64,
    pub passed: i64,
    pub failed: i64,
    pub errors: i64,
    pub skipped: i64,
    pub xfailed: i64,
    pub xpassed: i64,
    pub crashed: i64,
    pub timed_out: i64,
    pub duration_ms: i64,
    pub exit_code: i32,
    pub interrupted: bool,
    pub source: String,
    pub series: Option<String>,
    pub partition: Option<String>,
    pub shards: Option<u32>,
    #[serde(default)]
    pub results: Vec<ExportedResult>,
    /// The stored verdict of each fingerprint the results carry.
    #[serde(default)]
    pub fingerprints: Vec<Verdict>,
    /// The fix notes of those fingerprints, oldest first.
    #[serde(default)]
    pub fixes: Vec<ExportedFix>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedResult {
    pub test: String,
    pub tier: Option<String>,
    #[serde(deserialize_with = "outcome_by_name")]
    pub outcome: Outcome,
    pub duration_us: i64,
    pub attempt: u32,
    pub message: Option<String>,
    pub fingerprint: Option<String>,
}

/// A `fingerprints` row, with the run it was recorded in named by uid and time (the import
/// keeps the verdict of the most recent run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub fingerprint: String,
    pub category: String,
    pub nature: String,
    pub exception: Option<String>,
    pub normalized: String,
    /// The diagnosis as stored (JSON), kept whole: a field this vigil does not know survives.
    pub detail: serde_json::Value,
    pub from_uid: Option<String>,
    pub from_started_ms: Option<i64>,
}

/// A `fixes` row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedFix {
    pub fingerprint: String,
    pub recorded_ms: i64,
    pub commit: Option<String>,
    pub note: String,
    pub outcome: Option<String>,
}

impl ExportedRun {
    /// The run as a record, results included; a result's diagnosis is its fingerprint's
    /// verdict when that could be read.
    pub fn to_record(&self) -> RunRecord {
        let verdicts: HashMap<&str, Diagnosis> = self
            .fingerprints
            .iter()
            .filter_map(|v| Some((v.fingerprint.as_str(), diagnosis(v)?)))
            .collect();
        let mut record = self.row_record();
        record.results = self
            .results
            .iter()
            .map(|r| ResultRecord {
                test: r.test.clone(),
                tier: r.tier.clone(),
                outcome: r.outcome,
                duration: Duration::from_micros(r.duration_us.max(0) as u64),
                attempt: r.attempt,
                message: r.message.clone(),
                diagnosis: r
                    .fingerprint
                    .as_deref()
                    .and_then(|f| verdicts.get(f))
                    .map(|d| Box::new(d.clone())),
            })
            .collect();
        record
    }

    /// The run's own row as a record, without its results.
    pub fn row_record(&self) -> RunRecord {
        RunRecord {
            uid: self.uid.clone(),
            started_ms: self.started_ms,
            ended_ms: self.ended_ms,
            git: GitInfo {
                commit: self.commit.clone(),
                branch: self.branch.clone(),
                dirty: self.dirty,
            },
            profile: self.profile.clone(),
            host: self.host.clone(),
            selection: self.selection.clone(),
            tiers: self.tiers.clone(),
            tally: self.tally(),
            duration: Duration::from_millis(self.duration_ms.max(0) as u64),
            exit_code: self.exit_code,
            interrupted: self.interrupted,
            source: self.source.clone(),
            series: self.series.clone(),
            partition: self.partition.clone(),
            shards: self.shards,
            results: Vec::new(),
        }
    }

    /// The run's counts (the stored columns; the flaky count is not stored).
    fn tally(&self) -> Tally {
        let counts = [
            (Outcome::Passed, self.passed),
            (Outcome::Failed, self.failed),
            (Outcome::Error, self.errors),
            (Outcome::Skipped, self.skipped),
            (Outcome::XFailed, self.xfailed),
            (Outcome::XPassed, self.xpassed),
            (Outcome::Crashed, self.crashed),
            (Outcome::TimedOut, self.timed_out),
        ];
        let mut tally = Tally::default();
        for (outcome, n) in counts {
            for _ in 0..n.max(0) {
                tally.add(outcome);
            }
        }
        tally
    }
}

/// The verdict's diagnosis, when this vigil can read it.
fn diagnosis(verdict: &Verdict) -> Option<Diagnosis> {
    serde_json::from_value(verdict.detail.clone()).ok()
}

/// An outcome by the name vigil's JSON gives it (`passed`, `timed_out`, ...).
fn outcome_by_name<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Outcome, D::Error> {
    let name = String::deserialize(deserializer)?;
    Outcome::ALL
        .into_iter()
        .find(|o| {
            serde_json::to_value(o)
                .ok()
                .as_ref()
                .and_then(|v| v.as_str())
                == Some(&name)
        })
        .ok_or_else(|| serde::de::Error::custom(format!("unknown outcome {name:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_reads_back_by_its_written_name() {
        for outcome in Outcome::ALL {
            let result = ExportedResult {
                test: "t.py::a".into(),
                tier: None,
                outcome,
                duration_us: 5,
                attempt: 1,
                message: None,
                fingerprint: None,
            };
            let line = serde_json::to_string(&result).expect("written");
            let back: ExportedResult = serde_json::from_str(&line).expect(&line);
            assert_eq!(back, result);
        }
        let bad = r#"{"test":"t","tier":null,"outcome":"exploded","duration_us":1,"attempt":1,"message":null,"fingerprint":null}"#;
        let error = serde_json::from_str::<ExportedResult>(bad).expect_err("refused");
        assert!(
            error.to_string().contains("unknown outcome \"exploded\""),
            "{error}"
        );
    }
}
