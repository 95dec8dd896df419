//! `vigil history export` and the part of `vigil history import` that reads vigil's own files
//! (an export, another history database): how CI jobs that each restored a copy of a shared
//! history put their runs back together.

use std::path::{Path, PathBuf};

use clap::Args;

use vigil::exit::ExitCode;
use vigil::history::{self, ExportFilter, HistoryError, ImportKind, Store};
use vigil::session::HistorySettings;

use super::history::history_error;
use super::Failure;

#[derive(Args)]
pub struct ExportArgs {
    /// Write to FILE (replaced whole, through a temporary file beside it) instead of stdout.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Only the newest N of the runs the other options select.
    #[arg(long, value_name = "N")]
    last: Option<usize>,
    /// Only this run (repeatable; ids as `vigil history` lists them).
    #[arg(long = "run", value_name = "ID")]
    runs: Vec<i64>,
    /// Only runs of this branch.
    #[arg(long, value_name = "NAME")]
    branch: Option<String>,
}

/// `vigil history export`: JSON lines on stdout, or into `--output`.
pub fn export(
    args: ExportArgs,
    settings: &HistorySettings,
    invocation_dir: &Path,
) -> Result<ExitCode, Failure> {
    let store = Store::open_existing(&settings.path).map_err(history_error)?;
    let filter = ExportFilter {
        last: args.last,
        runs: args.runs,
        branch: args.branch,
    };
    match args.output {
        Some(output) => {
            let path = vigil::discover::absolute(invocation_dir, &output);
            let runs = history::export_to_file(&store, &filter, &path).map_err(export_error)?;
            println!("exported {} to {}", plural(runs), path.display());
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            match history::export(&store, &filter, &mut stdout) {
                // `vigil history export | head`: the reader has what it wanted.
                Err(HistoryError::Write(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                done => {
                    done.map_err(export_error)?;
                }
            }
        }
    }
    Ok(ExitCode::Ok)
}

/// A file that could not be written is the user's to fix; the rest is `history_error`'s.
fn export_error(error: HistoryError) -> Failure {
    match error {
        HistoryError::Output { .. } | HistoryError::Write(_) => {
            (ExitCode::UsageError, error.into())
        }
        other => history_error(other),
    }
}

/// Imports `file` when it is an export or a history database; None for anything else (the
/// caller reads it as JUnit). The error carries the exit code it calls for.
pub fn import(store: &mut Store, file: &Path) -> Option<Result<String, Failure>> {
    let imported = match history::import_kind(file) {
        Ok(ImportKind::Database) => history::import_database(store, file, &|_| true),
        Ok(ImportKind::Export) => history::import_export(store, file),
        // The JUnit reader says what is wrong with a file it cannot read.
        Ok(ImportKind::Other) | Err(_) => return None,
    };
    Some(match imported {
        Ok(summary) => Ok(format!(
            "imported {} from {} ({} already present)",
            plural(summary.imported),
            file.display(),
            summary.already_present
        )),
        Err(error @ HistoryError::Input { .. }) => Err((ExitCode::UsageError, error.into())),
        Err(error) => Err(history_error(error)),
    })
}

/// Applies `[history] keep_runs/keep_days` after an import, as after a recorded run.
pub fn apply_retention(store: &mut Store, settings: &HistorySettings) -> Result<(), Failure> {
    settings
        .retention
        .apply(store)
        .map(|_| ())
        .map_err(history_error)
}

fn plural(runs: usize) -> String {
    match runs {
        1 => "1 run".to_string(),
        n => format!("{n} runs"),
    }
}
