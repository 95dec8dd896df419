//! Resolves what the user asked for into a [`RunRequest`]: command-line flags over `VIGIL_*`
//! environment variables over the chosen profile over vigil's defaults.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{ConfigError, Loaded, Profile};
use crate::plan::partition::Partition;
use crate::plan::Tiers;
use crate::python;

use super::{HistorySettings, NativeRequest, Planning, RunRequest};
use crate::history::{self, Retention};

/// The flags a command line can give (all optional but the selection).
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub paths: Vec<String>,
    pub keyword: Option<String>,
    pub markers: Option<String>,
    pub pytest_args: Vec<OsString>,
    pub python: Option<PathBuf>,
    pub profile: Option<String>,
    pub tiers: Option<Vec<String>>,
    pub no_tier_gates: bool,
    pub include_ignored: bool,
    pub jobs: Option<usize>,
    pub timeout: Option<f64>,
    pub capture_cap: usize,
    /// `--capture-spool DIR`.
    pub capture_spool: Option<PathBuf>,
    /// `--history PATH`.
    pub history: Option<PathBuf>,
    /// `--no-history`: this run is not recorded.
    pub no_history: bool,
    /// `--retries N`.
    pub retries: Option<u32>,
    /// `--flaky-result pass|fail`.
    pub flaky_result: Option<String>,
    /// `--partition KIND:M/N`.
    pub partition: Option<Partition>,
}

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{name}={value:?} is not a valid value")]
    Env { name: String, value: String },
    #[error("--timeout must be a positive number of seconds, not {0}")]
    Timeout(f64),
    #[error(transparent)]
    Redact(#[from] crate::redact::RedactError),
}

/// A request and the JUnit path its profile asks for (reporters are the caller's business).
pub struct Resolved {
    pub request: RunRequest,
    pub junit: Option<PathBuf>,
}

pub fn resolve(
    flags: Flags,
    invocation_dir: &Path,
    loaded: &Loaded,
) -> Result<Resolved, RequestError> {
    let profile_name = flags
        .profile
        .clone()
        .or(env_parse::<String>("VIGIL_PROFILE")?)
        .unwrap_or_else(|| "default".to_string());
    let profile = loaded.profile(&profile_name)?;
    let jobs = flags
        .jobs
        .or(env_parse("VIGIL_JOBS")?)
        .or(profile.jobs)
        .unwrap_or_else(default_jobs);
    let timeout = flags
        .timeout
        .or(env_parse("VIGIL_TIMEOUT")?)
        .or(profile.timeout);
    // The config's own check caps it at a year; `--timeout 1e300` would overflow `Duration`.
    if let Some(t) = timeout.filter(|t| *t <= 0.0 || Duration::try_from_secs_f64(*t).is_err()) {
        return Err(RequestError::Timeout(t));
    }
    let mut pytest_args: Vec<OsString> = profile.pytest_args.iter().map(OsString::from).collect();
    pytest_args.extend(flags.pytest_args.iter().cloned());
    let planning = planning(&flags, &profile, loaded)?;
    let request = RunRequest {
        invocation_dir: invocation_dir.to_path_buf(),
        python: interpreter(&flags, &profile, invocation_dir, loaded),
        paths: flags.paths,
        keyword: flags.keyword,
        markers: flags.markers,
        pytest_args,
        jobs: jobs.max(1),
        timeout: timeout.map(Duration::from_secs_f64),
        capture_cap: flags.capture_cap,
        capture_spool: flags
            .capture_spool
            .map(|dir| crate::discover::absolute(invocation_dir, &dir)),
        planning,
        history: Some(history_settings(
            flags.history.as_deref(),
            flags.no_history,
            invocation_dir,
            loaded,
        )),
        diagnose: super::diagnose_settings(loaded, invocation_dir)?,
        retry: super::retry_policy::retry_policy(
            flags.retries.or(env_parse("VIGIL_RETRIES")?),
            flags.flaky_result.as_deref(),
            &profile,
            loaded,
        )?,
        breaker: breaker_settings(loaded),
        partition: flags.partition,
        redact: crate::redact::Redactor::for_project(loaded)?,
    };
    Ok(Resolved {
        request,
        junit: profile.junit.map(|p| loaded.resolve(&p)),
    })
}

fn planning(flags: &Flags, profile: &Profile, loaded: &Loaded) -> Result<Planning, RequestError> {
    let select_tiers = match &flags.tiers {
        Some(tiers) => Some(tiers.clone()),
        None => env_parse::<String>("VIGIL_TIER")?
            .map(|t| t.split(',').map(|s| s.trim().to_string()).collect())
            .or_else(|| profile.select_tiers.clone()),
    };
    Ok(Planning {
        profile: profile.name.clone(),
        tiers: Tiers::new(&loaded.tiers()),
        select_tiers,
        gates: if flags.no_tier_gates {
            Default::default()
        } else {
            profile.tier_gates.clone()
        },
        capabilities: loaded.capabilities(),
        native: native(flags, loaded),
    })
}

/// Native suites come from `[native]`, or a Cargo.toml beside the config file.
fn native(flags: &Flags, loaded: &Loaded) -> Option<NativeRequest> {
    let table = loaded.native()?;
    let dir = loaded.dir()?.to_path_buf();
    Some(NativeRequest {
        manifest: Some(
            loaded.resolve(table.manifest.as_deref().unwrap_or(Path::new("Cargo.toml"))),
        ),
        binaries: table.binaries.iter().map(|b| loaded.resolve(b)).collect(),
        cargo_args: table.cargo_args.clone(),
        include_ignored: flags.include_ignored,
        cwd: dir,
    })
}

fn interpreter(
    flags: &Flags,
    profile: &Profile,
    invocation_dir: &Path,
    loaded: &Loaded,
) -> PathBuf {
    let configured = profile.python.as_ref().map(|p| loaded.resolve(p));
    let project_dir = loaded.dir().unwrap_or(invocation_dir);
    // --python and VIGIL_PYTHON are relative to where the user typed them, not to -C.
    let cwd = std::env::current_dir().unwrap_or_else(|_| invocation_dir.to_path_buf());
    python::locate(
        &cwd,
        flags.python.as_deref(),
        configured.as_deref(),
        &[invocation_dir, project_dir],
    )
}

/// The history database: `--history`, then `VIGIL_HISTORY`, then `[history] path`, then
/// `.vigil/history.db` beside the config (or in the invocation directory without one).
pub fn history_settings(
    flag: Option<&Path>,
    no_history: bool,
    invocation_dir: &Path,
    loaded: &Loaded,
) -> HistorySettings {
    let table = loaded.history();
    let cwd = std::env::current_dir().unwrap_or_else(|_| invocation_dir.to_path_buf());
    let from_user = flag
        .map(Path::to_path_buf)
        .or_else(|| {
            std::env::var_os("VIGIL_HISTORY")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        // Typed paths are relative to where they were typed, as with --python.
        .map(|p| cwd.join(p));
    let explicit = from_user.is_some();
    let path = from_user
        .or_else(|| table.path.as_ref().map(|p| loaded.resolve(p)))
        .unwrap_or_else(|| history::default_path(loaded.dir().unwrap_or(invocation_dir)));
    HistorySettings {
        path,
        explicit,
        record: !no_history && table.enabled != Some(false),
        retention: Retention {
            keep_runs: table.keep_runs,
            keep_days: table.keep_days,
        },
    }
}

/// `[breaker]` over the defaults.
fn breaker_settings(loaded: &Loaded) -> super::BreakerSettings {
    let table = loaded.breaker();
    let default = super::BreakerSettings::default();
    super::BreakerSettings {
        threshold: table.threshold.unwrap_or(default.threshold),
        probe: table.probe.unwrap_or(default.probe),
    }
}

fn env_parse<T: std::str::FromStr>(name: &str) -> Result<Option<T>, RequestError> {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => value.parse().map(Some).map_err(|_| RequestError::Env {
            name: name.to_string(),
            value,
        }),
        _ => Ok(None),
    }
}

fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
