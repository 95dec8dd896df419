//! Safety checks for root-relative paths: what a manifest may name, how a caller's path
//! becomes a manifest path, and whether the directories above a path are real directories
//! inside the root (never symbolic links, which could carry a write outside it).

use std::fs::Metadata;
use std::path::{Component, Path, PathBuf};

use super::{io_err, RollbackError};

/// Top-level names that are never snapshotted, diffed or touched: vigil's own store (a
/// snapshot of it would snapshot itself) and git's database.
pub const EXCLUDED: [&str; 2] = [".vigil", ".git"];

/// The covered path that means "the whole root".
pub const ROOT: &str = ".";

/// Checks a path as a manifest spells it: relative, `/`-separated, no empty, `.` or `..`
/// components, not inside an excluded top-level directory.
pub fn check_entry(entry: &str) -> Result<(), RollbackError> {
    let refuse = |reason: &str| {
        Err(RollbackError::UnsafePath {
            entry: entry.to_string(),
            reason: reason.to_string(),
        })
    };
    if entry.is_empty() {
        return refuse("empty path");
    }
    if entry.starts_with('/') {
        return refuse("absolute path");
    }
    if entry.contains('\0') {
        return refuse("NUL byte in path");
    }
    for part in entry.split('/') {
        match part {
            "" | "." => return refuse("empty or `.` component"),
            ".." => return refuse("`..` component would leave the root"),
            _ => {}
        }
    }
    if entry
        .split('/')
        .next()
        .is_some_and(|first| EXCLUDED.contains(&first))
    {
        return refuse("inside .vigil/ or .git/, which snapshots never cover");
    }
    Ok(())
}

/// Checks a covered path: the root itself or a valid entry path.
pub fn check_covered(path: &str) -> Result<(), RollbackError> {
    if path == ROOT {
        Ok(())
    } else {
        check_entry(path)
    }
}

/// Turns a caller's path (relative to the root, or absolute inside it) into a manifest path.
pub fn normalize(root: &Path, path: &Path) -> Result<String, RollbackError> {
    let relative = if path.is_absolute() {
        path.strip_prefix(root)
            .map_err(|_| RollbackError::OutsideRoot {
                path: path.to_path_buf(),
                root: root.to_path_buf(),
            })?
    } else {
        path
    };
    let mut parts = Vec::new();
    for component in relative.components() {
        match component {
            Component::CurDir => {}
            Component::Normal(part) => parts.push(
                part.to_str()
                    .ok_or_else(|| RollbackError::NonUtf8(path.to_path_buf()))?,
            ),
            _ => {
                return Err(RollbackError::OutsideRoot {
                    path: path.to_path_buf(),
                    root: root.to_path_buf(),
                })
            }
        }
    }
    if parts.is_empty() {
        return Ok(ROOT.to_string());
    }
    let joined = parts.join("/");
    check_entry(&joined)?;
    Ok(joined)
}

/// Is `entry` at or below the covered path `covered`?
pub fn is_under(entry: &str, covered: &str) -> bool {
    covered == ROOT
        || entry == covered
        || (entry.starts_with(covered) && entry.as_bytes().get(covered.len()) == Some(&b'/'))
}

/// The proper ancestors of a manifest path, outermost first (`a/b/c` → `a`, `a/b`).
pub fn ancestors(entry: &str) -> impl Iterator<Item = &str> {
    entry
        .match_indices('/')
        .map(move |(index, _)| &entry[..index])
}

/// The parent of a manifest path, `None` at the top level.
pub fn parent(entry: &str) -> Option<&str> {
    entry.rfind('/').map(|index| &entry[..index])
}

/// The absolute path of a manifest path.
pub fn join(root: &Path, entry: &str) -> PathBuf {
    if entry == ROOT {
        root.to_path_buf()
    } else {
        root.join(entry)
    }
}

/// `lstat`, with "not there" as `None` rather than an error.
pub fn lstat(path: &Path) -> Result<Option<Metadata>, RollbackError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => Ok(Some(meta)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("inspect", path)(e)),
    }
}

/// What stands at the ancestors of a path in the tree right now.
#[derive(Debug, PartialEq, Eq)]
pub enum Ancestors {
    /// Every ancestor is a real directory: the path can be looked at and written.
    Dirs,
    /// This ancestor (and so everything below it) does not exist.
    Missing(String),
}

/// Checks the ancestors of `entry` in the tree, without following any link: each must be a
/// real directory or missing. A symbolic link or a file there is refused, naming `entry`,
/// because a write below it would go through the link (perhaps out of the root).
pub fn ancestors_state(root: &Path, entry: &str) -> Result<Ancestors, RollbackError> {
    for ancestor in ancestors(entry) {
        let path = root.join(ancestor);
        match lstat(&path)? {
            None => return Ok(Ancestors::Missing(ancestor.to_string())),
            Some(meta) if meta.file_type().is_dir() => {}
            Some(_) => {
                return Err(RollbackError::UnsafeParent {
                    entry: entry.to_string(),
                    parent: path,
                })
            }
        }
    }
    Ok(Ancestors::Dirs)
}

/// Right before a write: every ancestor must now be a real directory.
pub fn ensure_real_parents(root: &Path, entry: &str) -> Result<(), RollbackError> {
    match ancestors_state(root, entry)? {
        Ancestors::Dirs => Ok(()),
        Ancestors::Missing(ancestor) => Err(RollbackError::UnsafeParent {
            entry: entry.to_string(),
            parent: root.join(ancestor),
        }),
    }
}
