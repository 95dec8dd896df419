//! The rollback store: snapshots of declared paths (fixtures, data files, a whole work tree)
//! in a content-addressed store under `.vigil/snapshots/`, with a SHA-256 manifest per
//! snapshot, and the diff, restore, verify and prune operations over it.
//!
//! Layout: `blobs/ab/cdef…` (one file per distinct content, named by its SHA-256),
//! `manifests/<id>.json` (one per snapshot), `restore.journal` (present while a restore is
//! under way, so an interrupted one is known and re-running it finishes the job), `lock`
//! (held by whichever process is writing the store).

mod blobs;
mod diff;
mod ids;
mod lock;
mod manifest;
mod paths;
mod prune;
mod restore;
mod scan;
mod store;
mod verify;

#[cfg(test)]
mod tests;

pub use diff::Diff;
pub use manifest::{Entry, Kind, Manifest};
pub use prune::PruneReport;
pub use restore::{Action, RestoreReport};
pub use store::{SnapshotInfo, SnapshotStore};
pub use verify::{BlobProblem, Problem, VerifyReport};

use std::path::{Path, PathBuf};

/// Where the store lives inside a project root.
pub fn store_dir(root: &Path) -> PathBuf {
    root.join(".vigil").join("snapshots")
}

/// What went wrong, and where. The variants fall in three groups (see [`RollbackError::kind`]):
/// the caller asked for something that does not exist or is not allowed, the store refused a
/// snapshot it cannot trust, or the file system failed.
#[derive(Debug, thiserror::Error)]
pub enum RollbackError {
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("snapshot manifest {}: {source}", path.display())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{} is not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("{} is outside the project root {}", path.display(), root.display())]
    OutsideRoot { path: PathBuf, root: PathBuf },
    #[error("no such file or directory to snapshot: {}", .0.display())]
    NoSuchPath(PathBuf),
    #[error("file name is not UTF-8: {}", .0.display())]
    NonUtf8(PathBuf),
    #[error("no snapshot {0:?} (see `vigil snapshot list`)")]
    UnknownSnapshot(String),
    #[error("snapshot id {prefix:?} is ambiguous: {}", matches.join(", "))]
    AmbiguousId {
        prefix: String,
        matches: Vec<String>,
    },
    #[error("refusing path {entry:?}: {reason}")]
    UnsafePath { entry: String, reason: String },
    #[error(
        "refusing path {entry:?}: its parent {} is a symbolic link or not a directory, \
         so writing there could land outside the root",
        parent.display()
    )]
    UnsafeParent { entry: String, parent: PathBuf },
    #[error("snapshot manifest {}: {reason}", path.display())]
    BadManifest { path: PathBuf, reason: String },
    #[error("snapshot {id}: blob {digest} for {entry:?} is missing")]
    MissingBlob {
        id: String,
        digest: String,
        entry: String,
    },
    #[error(
        "snapshot {id}: blob {digest} for {entry:?} is corrupt (its content hashes to {actual})"
    )]
    CorruptBlob {
        id: String,
        digest: String,
        entry: String,
        actual: String,
    },
}

/// How a caller should treat a [`RollbackError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A wrong id, path or name: the request itself is at fault.
    Usage,
    /// The store holds something it will not apply: tampering, corruption, an unsafe path.
    Refused,
    /// The file system failed.
    Io,
}

impl RollbackError {
    pub fn kind(&self) -> ErrorKind {
        use RollbackError::*;
        match self {
            Io { .. } => ErrorKind::Io,
            NotADirectory(_)
            | OutsideRoot { .. }
            | NoSuchPath(_)
            | UnknownSnapshot(_)
            | AmbiguousId { .. }
            | NonUtf8(_) => ErrorKind::Usage,
            Json { .. }
            | UnsafePath { .. }
            | UnsafeParent { .. }
            | BadManifest { .. }
            | MissingBlob { .. }
            | CorruptBlob { .. } => ErrorKind::Refused,
        }
    }
}

/// Wraps an I/O error with what was being done and to which path.
pub(crate) fn io_err(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(std::io::Error) -> RollbackError {
    let path = path.to_path_buf();
    move |source| RollbackError::Io {
        action,
        path,
        source,
    }
}
