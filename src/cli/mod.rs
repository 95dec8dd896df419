//! The `vigil` binary's own modules (not part of the library): how a command's failure becomes
//! an exit code and a message, output formats, the history commands, `vigil diagnose`,
//! `vigil snapshot`, `vigil schedule`, `vigil watch`, `vigil metrics` and trends' alerts.

pub mod changed;
pub mod diagnose;
pub mod history;
pub mod history_exchange;
pub mod merge;
pub mod metrics;
pub mod notify;
pub mod outputs;
pub mod schedule;
pub mod signals;
pub mod snapshot;
pub mod verify;
pub mod watch;

use vigil::exit::ExitCode;

pub type Failure = (ExitCode, anyhow::Error);

pub fn usage(e: impl Into<anyhow::Error>) -> Failure {
    (ExitCode::UsageError, e.into())
}

/// `--format`: true for json, false for text.
pub fn json_format(format: &str) -> Result<bool, Failure> {
    match format {
        "json" => Ok(true),
        "text" => Ok(false),
        other => Err(usage(anyhow::anyhow!(
            "--format takes text or json, not {other:?}"
        ))),
    }
}

pub fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text =
        serde_json::to_string_pretty(value).map_err(|e| (ExitCode::InternalError, e.into()))?;
    println!("{text}");
    Ok(())
}
