//! `vigil snapshot`: create, list, diff, restore, verify and prune snapshots of the project's
//! files in the rollback store (`.vigil/snapshots/`).

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use vigil::exit::ExitCode;
use vigil::rollback::{Action, ErrorKind, RollbackError, SnapshotStore};

use super::{json_format, print_json, Failure};

#[derive(Args)]
pub struct SnapshotArgs {
    #[command(subcommand)]
    action: SnapshotAction,
}

#[derive(Subcommand)]
enum SnapshotAction {
    /// Snapshot files and directories (default: the whole project, minus .vigil/ and .git/).
    Create {
        /// Files or directories, relative to the project root.
        paths: Vec<PathBuf>,
        /// A name to recognize the snapshot by in `list`.
        #[arg(long)]
        name: Option<String>,
    },
    /// The snapshots, oldest first.
    List {
        /// text or json.
        #[arg(long, value_name = "FORMAT", default_value = "text")]
        format: String,
    },
    /// What changed since a snapshot, within the paths it covers.
    Diff {
        /// A snapshot id, or a unique prefix of one.
        id: String,
        /// text or json.
        #[arg(long, value_name = "FORMAT", default_value = "text")]
        format: String,
    },
    /// Bring back a snapshot's files: modified and deleted ones restored, added ones removed.
    Restore {
        /// A snapshot id, or a unique prefix of one.
        id: String,
        /// Show what would change, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Re-hash the stored contents; exit 1 when any is missing or corrupt.
    Verify {
        /// Only this snapshot (default: all).
        id: Option<String>,
    },
    /// Keep the newest N snapshots; delete the others and the contents only they used.
    Prune {
        #[arg(long, value_name = "N")]
        keep: usize,
    },
}

pub fn snapshot(args: SnapshotArgs, root: &Path) -> Result<ExitCode, Failure> {
    let store = SnapshotStore::open(root).map_err(failure)?;
    match args.action {
        SnapshotAction::Create { paths, name } => {
            let info = store.create(&paths, name.as_deref()).map_err(failure)?;
            println!(
                "snapshot {}: {} files, {} bytes, {} new blobs",
                info.id, info.files, info.bytes, info.new_blobs
            );
        }
        SnapshotAction::List { format } => {
            let json = json_format(&format)?;
            let list = store.list().map_err(failure)?;
            if json {
                print_json(&list)?;
            }
            for info in list.iter().filter(|_| !json) {
                println!(
                    "{}  {}  {:>6} files  {:>12} bytes  {}{}",
                    info.id,
                    info.created,
                    info.files,
                    info.bytes,
                    info.paths.join(" "),
                    info.name
                        .as_ref()
                        .map(|n| format!("  ({n})"))
                        .unwrap_or_default(),
                );
            }
        }
        SnapshotAction::Diff { id, format } => {
            let json = json_format(&format)?;
            let diff = store.diff(&id).map_err(failure)?;
            if json {
                print_json(&diff)?;
            }
            let lines = [
                ("M", &diff.modified),
                ("D", &diff.deleted),
                ("A", &diff.added),
            ];
            for (mark, paths) in lines.iter().filter(|_| !json) {
                for path in paths.iter() {
                    println!("{mark} {}", path.display());
                }
            }
        }
        SnapshotAction::Restore { id, dry_run } => return restore(&store, &id, dry_run),
        SnapshotAction::Verify { id } => return verify(&store, id.as_deref()),
        SnapshotAction::Prune { keep } => {
            let report = store.prune(keep).map_err(failure)?;
            println!(
                "removed {} snapshots and {} blobs ({} bytes); kept {}",
                report.removed.len(),
                report.blobs_removed,
                report.bytes_freed,
                report.kept.len()
            );
        }
    }
    Ok(ExitCode::Ok)
}

fn restore(store: &SnapshotStore, id: &str, dry_run: bool) -> Result<ExitCode, Failure> {
    let report = store.restore(id, dry_run).map_err(failure)?;
    if let Some(earlier) = &report.interrupted {
        eprintln!(
            "vigil: an interrupted restore of {earlier} was found; this one finishes the job"
        );
    }
    for action in &report.actions {
        let (verb, path) = match action {
            Action::Remove(p) => ("remove", p),
            Action::CreateDir(p) => ("create dir", p),
            Action::WriteFile(p) => ("write", p),
            Action::Symlink(p) => ("link", p),
            Action::SetMode(p) => ("chmod", p),
        };
        println!("{verb} {}", path.display());
    }
    let tense = if dry_run { "would make" } else { "made" };
    println!("{}: {tense} {} changes", report.id, report.actions.len());
    Ok(ExitCode::Ok)
}

fn verify(store: &SnapshotStore, id: Option<&str>) -> Result<ExitCode, Failure> {
    let report = store.verify(id).map_err(failure)?;
    for problem in &report.problems {
        let what = match &problem.problem {
            vigil::rollback::Problem::Missing => "missing".to_string(),
            vigil::rollback::Problem::Corrupt { actual } => format!("corrupt (hashes to {actual})"),
        };
        println!(
            "blob {} {what}: used by {} in snapshots {}",
            problem.digest,
            problem.paths.join(", "),
            problem.snapshots.join(", ")
        );
    }
    println!(
        "{} snapshots, {} blobs checked, {} problems",
        report.snapshots.len(),
        report.blobs_checked,
        report.problems.len()
    );
    Ok(if report.is_ok() {
        ExitCode::Ok
    } else {
        ExitCode::TestsFailed
    })
}

/// A wrong id or path is a usage error (4); a snapshot the store refuses to apply (tampered,
/// corrupt, unsafe) exits 1 as `verify` does on corruption; a file system failure is 3.
fn failure(error: RollbackError) -> Failure {
    let code = match error.kind() {
        ErrorKind::Usage => ExitCode::UsageError,
        ErrorKind::Refused => ExitCode::TestsFailed,
        ErrorKind::Io => ExitCode::InternalError,
    };
    (code, error.into())
}
