//! Walks the covered paths of the tree as they are now, without following symbolic links:
//! what a snapshot records and what a diff compares against.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::blobs::read_dir_or_empty;
use super::manifest::Kind;
use super::paths::{self, Ancestors, EXCLUDED, ROOT};
use super::{io_err, RollbackError};

/// One path found in the tree.
#[derive(Debug, Clone)]
pub struct Found {
    pub path: String,
    pub kind: Kind,
    pub mode: u32,
    pub target: Option<String>,
}

/// Everything at and below the covered paths, sorted by path. A covered path that does not
/// exist contributes nothing; sockets, FIFOs and devices are not snapshot material and are
/// skipped. A covered path below a symbolic link is refused.
pub fn walk(root: &Path, covered: &[String]) -> Result<Vec<Found>, RollbackError> {
    let mut found = Vec::new();
    for path in covered {
        if path == ROOT {
            walk_children(root, "", &mut found)?;
            continue;
        }
        if let Ancestors::Missing(_) = paths::ancestors_state(root, path)? {
            continue;
        }
        let Some(meta) = paths::lstat(&root.join(path))? else {
            continue;
        };
        visit(root, path, &meta, &mut found)?;
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found.dedup_by(|a, b| a.path == b.path);
    Ok(found)
}

fn visit(
    root: &Path,
    rel: &str,
    meta: &std::fs::Metadata,
    found: &mut Vec<Found>,
) -> Result<(), RollbackError> {
    let file_type = meta.file_type();
    let mode = meta.permissions().mode() & 0o777;
    let (kind, target) = if file_type.is_dir() {
        (Kind::Dir, None)
    } else if file_type.is_file() {
        (Kind::File, None)
    } else if file_type.is_symlink() {
        let full = root.join(rel);
        let target = std::fs::read_link(&full).map_err(io_err("read link", &full))?;
        let target = target
            .to_str()
            .ok_or_else(|| RollbackError::NonUtf8(full.clone()))?
            .to_string();
        (Kind::Symlink, Some(target))
    } else {
        return Ok(());
    };
    found.push(Found {
        path: rel.to_string(),
        kind,
        mode,
        target,
    });
    if kind == Kind::Dir {
        walk_children(root, rel, found)?;
    }
    Ok(())
}

fn walk_children(root: &Path, rel: &str, found: &mut Vec<Found>) -> Result<(), RollbackError> {
    let dir = paths::join(root, if rel.is_empty() { ROOT } else { rel });
    for child in read_dir_or_empty(&dir)? {
        let name = child.file_name();
        let name = name
            .to_str()
            .ok_or_else(|| RollbackError::NonUtf8(child.path()))?;
        if rel.is_empty() && EXCLUDED.contains(&name) {
            continue;
        }
        let child_rel = if rel.is_empty() {
            name.to_string()
        } else {
            format!("{rel}/{name}")
        };
        let meta = child.metadata().map_err(io_err("inspect", &child.path()))?;
        visit(root, &child_rel, &meta, found)?;
    }
    Ok(())
}
