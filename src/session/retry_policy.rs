//! The run's retry policy: `--retries` / `VIGIL_RETRIES` / the profile's `[retry]` table,
//! `--flaky-result` over `flaky_result`; a bad value names the config line.

use std::time::Duration;

use regex::Regex;

use crate::config::{ConfigError, Loaded, Profile, RetryTable};
use crate::retry::{Backoff, FlakyResult, RetryPolicy, RetryState};

/// The policy from flags (`retries`, `flaky_result`) over the profile's `[retry]`.
pub fn retry_policy(
    retries: Option<u32>,
    flaky_result: Option<&str>,
    profile: &Profile,
    loaded: &Loaded,
) -> Result<RetryPolicy, ConfigError> {
    let table = profile
        .retry
        .as_ref()
        .map(|t| t.get_ref().clone())
        .unwrap_or_default();
    // Only the table's values can be wrong (clap checks the flags), so errors point at it.
    let span = profile.retry.as_ref().map_or(0..0, |t| t.span());
    let at = |message: String| loaded.error_at(span.clone(), message);
    let flaky_result = match flaky_result.or(table.flaky_result.as_deref()) {
        None | Some("pass") => FlakyResult::Pass,
        Some("fail") => FlakyResult::Fail,
        Some(other) => {
            return Err(at(format!(
                "flaky_result is `pass` or `fail`, not {other:?}"
            )))
        }
    };
    Ok(RetryPolicy {
        retries: retries.or(table.retries).unwrap_or(0),
        backoff: backoff(&table).map_err(at)?,
        only_rerun: only_rerun(&table).map_err(at)?,
        flaky_result,
        state: state(&table, loaded).map_err(at)?,
    })
}

/// `state` globs resolved under the config file's directory (the snapshot root).
fn state(table: &RetryTable, loaded: &Loaded) -> Result<Option<RetryState>, String> {
    let (Some(patterns), Some(root)) = (&table.state, loaded.dir()) else {
        return Ok(None);
    };
    let mut paths = Vec::new();
    for pattern in patterns {
        let absolute = root.join(pattern).to_string_lossy().into_owned();
        let found = glob::glob(&absolute)
            .map_err(|e| format!("retry.state {pattern:?} is not a valid glob: {e}"))?;
        paths.extend(found.flatten());
    }
    Ok(Some(RetryState {
        root: root.to_path_buf(),
        paths,
    }))
}

fn backoff(table: &RetryTable) -> Result<Backoff, String> {
    let default = Backoff::default();
    let seconds = |value: Option<f64>, name: &str, fallback: Duration| match value {
        None => Ok(fallback),
        Some(s) if s.is_finite() && s >= 0.0 => Ok(Duration::from_secs_f64(s)),
        Some(s) => Err(format!("retry.{name} is a number of seconds ≥ 0, not {s}")),
    };
    let exponential = match table.backoff.as_deref() {
        None | Some("exponential") => true,
        Some("fixed") => false,
        Some(other) => {
            return Err(format!(
                "retry.backoff is `exponential` or `fixed`, not {other:?}"
            ))
        }
    };
    Ok(Backoff {
        delay: seconds(table.delay, "delay", default.delay)?,
        exponential,
        max: seconds(table.max_delay, "max_delay", default.max)?,
        jitter: table.jitter.unwrap_or(default.jitter),
    })
}

fn only_rerun(table: &RetryTable) -> Result<Vec<Regex>, String> {
    table
        .only_rerun
        .iter()
        .flatten()
        .map(|p| {
            Regex::new(p).map_err(|e| format!("retry.only_rerun {p:?} is not a valid regex: {e}"))
        })
        .collect()
}
