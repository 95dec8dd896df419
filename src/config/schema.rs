//! The shape of `vigil.toml` (or `[tool.vigil]`): one table type for the top level and for each
//! `[profiles.NAME]`, so a profile can say anything the top level can about how to run.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use crate::plan::CapabilityConfig;

use super::values;

/// The top level of the file (which is also the `default` profile) or one `[profiles.NAME]`.
/// Project-wide tables (`profiles`, `capabilities`, `tiers`, `native`, `history`,
/// `diagnose`, `breaker`, `watch`, `redact`) are only valid at the
/// top level and `inherit` only in a profile; spans let the check name the line.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    /// The profile this one starts from (profiles only; default `default`).
    pub inherit: Option<Spanned<String>>,
    /// Interpreter to run pytest with, relative to the config file's directory.
    #[serde(default, deserialize_with = "values::path")]
    pub python: Option<PathBuf>,
    /// Worker count (`-j`).
    pub jobs: Option<usize>,
    /// Per-test timeout in seconds.
    #[serde(default, deserialize_with = "values::timeout")]
    pub timeout: Option<f64>,
    /// Where to write JUnit XML, relative to the config file's directory.
    #[serde(default, deserialize_with = "values::path")]
    pub junit: Option<PathBuf>,
    /// Extra arguments for every pytest worker.
    pub pytest_args: Option<Vec<String>>,
    /// Only tests of these tiers run (`--tier`); all tiers when unset.
    pub select_tiers: Option<Spanned<Vec<String>>>,
    /// tier → tiers that must pass before it runs, e.g. `{ e2e = ["integration"] }`.
    pub tier_gates: Option<Spanned<BTreeMap<String, Vec<String>>>>,
    /// `[retry]`: which failures run again and how.
    pub retry: Option<Spanned<RetryTable>>,
    pub profiles: Option<Spanned<BTreeMap<String, Table>>>,
    pub capabilities: Option<Spanned<BTreeMap<String, CapabilityConfig>>>,
    pub tiers: Option<Spanned<BTreeMap<String, TierTable>>>,
    pub native: Option<Spanned<NativeTable>>,
    pub history: Option<Spanned<HistoryTable>>,
    pub diagnose: Option<Spanned<DiagnoseTable>>,
    pub breaker: Option<Spanned<BreakerTable>>,
    pub watch: Option<Spanned<WatchTable>>,
    pub redact: Option<Spanned<RedactTable>>,
}

/// `[redact]`: which environment variables' values are blotted out of every report and of
/// history (see `crate::redact`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedactTable {
    /// More variable-name globs (any case) whose values are redacted, beside the built-in
    /// `*TOKEN*`, `*SECRET*`, `*PASSWORD*`, `*KEY*`, ...
    pub env: Option<Spanned<Vec<String>>>,
    /// Name globs never redacted, even when a pattern matches them.
    pub exempt: Option<Spanned<Vec<String>>>,
}

/// `[watch]`: how changed files map to tests, for `vigil watch` and `vigil run --changed`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchTable {
    /// Glob of changed non-Python files (relative to the config file's directory) → test
    /// paths they select, e.g. `{ "data/**" = "tests/integration" }`.
    pub map: Option<Spanned<BTreeMap<String, StringOrList>>>,
    /// Quiet time after the last file event before a run starts, in milliseconds (default 50).
    #[serde(default, deserialize_with = "values::debounce_ms")]
    pub debounce_ms: Option<u64>,
    /// Extra globs (relative to the config file's directory) whose changes are ignored.
    #[serde(default, deserialize_with = "values::change_globs")]
    pub ignore: Option<Vec<String>>,
}

/// One test path or several.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum StringOrList {
    One(String),
    Many(Vec<String>),
}

impl StringOrList {
    pub fn items(&self) -> Vec<String> {
        match self {
            StringOrList::One(s) => vec![s.clone()],
            StringOrList::Many(v) => v.clone(),
        }
    }
}

/// `[breaker]`: the circuit breaker for capabilities whose tests keep failing.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerTable {
    /// Network/timeout/database failures of one capability's tests that open it (default 3;
    /// 0 turns the breaker off).
    pub threshold: Option<usize>,
    /// Probe the capability again before opening it (default true).
    pub probe: Option<bool>,
}

/// `[retry]` (or `[profiles.NAME.retry]`): retries of failures diagnosis calls transient.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryTable {
    /// Extra attempts for a retryable failure (`--retries`).
    pub retries: Option<u32>,
    /// `exponential` (default) or `fixed`.
    #[serde(default, deserialize_with = "values::backoff")]
    pub backoff: Option<String>,
    /// Seconds before the first retry (default 0.5).
    #[serde(default, deserialize_with = "values::delay")]
    pub delay: Option<f64>,
    /// Longest wait in seconds (default 10).
    #[serde(default, deserialize_with = "values::delay")]
    pub max_delay: Option<f64>,
    /// Wait a random 50–100 % of the delay (default true).
    pub jitter: Option<bool>,
    /// Regexes: a failure whose text matches is retried whatever its diagnosis.
    #[serde(default, deserialize_with = "values::regexes")]
    pub only_rerun: Option<Vec<String>>,
    /// `pass` (default) or `fail`: whether a test that passed only on a retry fails the run.
    #[serde(default, deserialize_with = "values::flaky_result")]
    pub flaky_result: Option<String>,
    /// Paths or globs (relative to the config file's directory) snapshot before the run and
    /// restored before each retry, so a retry starts from the state the first attempt saw.
    #[serde(default, deserialize_with = "values::path_globs")]
    pub state: Option<Vec<String>>,
}

/// `[diagnose]`: log files to scan and the user's own rules.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiagnoseTable {
    /// Globs, relative to the config file's directory: error lines written to these files
    /// while a test ran are attached to its diagnosis.
    #[serde(default, deserialize_with = "values::path_globs")]
    pub logs: Option<Vec<String>>,
    /// `[[diagnose.rules]]`, tried in order before the built-in ones.
    pub rules: Option<Vec<Spanned<RuleTable>>>,
}

/// One `[[diagnose.rules]]` entry: regexes (any of them) and what a match means.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleTable {
    /// Shown as `user:NAME` (default: the rule's position, `user:1`).
    pub name: Option<String>,
    /// Searched in an exception's type (`sqlite3.OperationalError`).
    #[serde(default, deserialize_with = "values::regex")]
    pub exception: Option<String>,
    /// Searched in the same exception's message; named groups fill `{name}` in cause/advice.
    #[serde(default, deserialize_with = "values::regex")]
    pub message: Option<String>,
    /// Searched in the whole failure text.
    #[serde(default, deserialize_with = "values::regex")]
    pub trace: Option<String>,
    #[serde(default, deserialize_with = "values::category")]
    pub category: Option<String>,
    /// `transient` or `deterministic`.
    #[serde(default, deserialize_with = "values::nature")]
    pub nature: Option<String>,
    #[serde(default, deserialize_with = "values::confidence")]
    pub confidence: Option<f32>,
    pub cause: Option<String>,
    pub advice: Option<String>,
}

/// `[history]`: where runs are recorded and how many are kept.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryTable {
    /// Off switch: no run is recorded (queries still read an existing database).
    pub enabled: Option<bool>,
    /// The database, relative to the config file's directory (default `.vigil/history.db`).
    #[serde(default, deserialize_with = "values::path")]
    pub path: Option<PathBuf>,
    /// Keep only the newest N runs.
    pub keep_runs: Option<u64>,
    /// Drop runs older than N days.
    pub keep_days: Option<u64>,
}

/// `[tiers.NAME]`: a custom tier, or other directory / marker names for a built-in one.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierTable {
    /// Directory names that put a test in this tier (default: the tier's name).
    pub dirs: Option<Vec<String>>,
    /// Marker names that put a test in this tier (default: the tier's name).
    pub markers: Option<Vec<String>>,
}

/// `[native]`: the Rust test binaries run beside the Python tests.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeTable {
    /// Off switch for a project with a `Cargo.toml` beside its vigil config.
    pub enabled: Option<bool>,
    /// The Cargo.toml whose test binaries run (default: `Cargo.toml` beside the config).
    #[serde(default, deserialize_with = "values::path")]
    pub manifest: Option<PathBuf>,
    /// Extra arguments for `cargo test --no-run` (`--workspace`, `--features x`, ...).
    #[serde(default)]
    pub cargo_args: Vec<String>,
    /// Prebuilt test binaries to run instead of asking cargo.
    #[serde(default)]
    pub binaries: Vec<PathBuf>,
}
