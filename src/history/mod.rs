//! The run history: a SQLite database (`.vigil/history.db` by default) that every run lands in,
//! one transaction per run, and the queries over it (recent runs, one test's timeline, trends,
//! flakiness, duration regressions, a failure fingerprint's history) plus the duration
//! estimate the scheduler balances with, and the exchange of runs between databases (export,
//! import) that combines the histories of CI machines.

mod alert;
mod digest;
mod durations;
mod exchange_format;
mod exchange_read;
mod export;
mod fingerprints;
mod flaky;
mod git;
mod import_junit;
mod import_runs;
mod import_source;
mod import_writer;
mod iso_time;
mod junit_ids;
mod metrics;
mod outcome_codes;
mod prune;
mod record;
mod recorder;
mod regressions;
mod run_results;
mod run_uid;
mod schema;
mod store;
pub mod synthetic;
mod timeline;
mod trends;
mod window;

pub use alert::{Alert, Findings, ALERT_VERSION};
pub use durations::{test_medians, HistoryEstimate};
pub use exchange_format::{ExportedFix, ExportedResult, ExportedRun, Header, Verdict};
pub use exchange_read::read_run;
pub use export::{export, export_to_file, ExportFilter};
pub use fingerprints::{FingerprintHistory, FixNote, Sighting, StoredFailure};
pub use flaky::{flips, Flaky};
pub use git::GitInfo;
pub use import_junit::{import_file, read_file, ImportError, ImportOptions, Imported};
pub use import_runs::{import_database, import_export, import_kind, ImportKind};
pub use import_writer::ImportSummary;
pub use iso_time::civil_from_days;
pub use metrics::{LatestTier, Metrics, MetricsOptions, WindowTier};
pub use prune::Retention;
pub use record::{now_ms, ResultRecord, RunRecord};
pub use recorder::{result_record, HistoryRecorder};
pub use regressions::{Comparison, RegressionRule};
pub use run_results::RunResult;
pub use store::Store;
pub use timeline::{RunSummary, TestPoint};
pub use trends::{
    Change, Regression, Slow, StillFailing, TierRate, TrendOptions, Trends, FINDINGS,
};
pub use window::{verdict, BranchFilter};

use std::path::{Path, PathBuf};

/// Where history lives when neither `--history` nor config says: beside the project's config,
/// or in the directory vigil was started in.
pub fn default_path(project_dir: &Path) -> PathBuf {
    project_dir.join(".vigil").join("history.db")
}

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("history database {}: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot create {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "history database {} has schema version {found}, newer than this vigil knows ({known}); \
         use a newer vigil or another --history path",
        path.display()
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("{0}")]
    Query(String),
    #[error("cannot write the export: {0}")]
    Write(std::io::Error),
    #[error("cannot write {}: {error}", path.display())]
    Output {
        path: PathBuf,
        error: std::io::Error,
    },
    /// Something wrong with a file being imported (`vigil history import`): the file, the
    /// line when there is one, and what is wrong.
    #[error("{}{}: {message}", path.display(), line.map(|n| format!(":{n}")).unwrap_or_default())]
    Input {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
}
