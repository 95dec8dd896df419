//! What changed in the tree since a snapshot, within the paths it covers: each manifest entry
//! compared with what stands at its path now, plus what is there now and not in the snapshot.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::blobs::hash_file;
use super::manifest::{Entry, Kind, Manifest};
use super::paths::{self, Ancestors};
use super::scan;
use super::{io_err, RollbackError};

/// Paths relative to the root, sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Diff {
    pub id: String,
    /// Content, mode, link target or kind differ from the snapshot.
    pub modified: Vec<PathBuf>,
    /// In the snapshot, gone now.
    pub deleted: Vec<PathBuf>,
    /// There now, not in the snapshot.
    pub added: Vec<PathBuf>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.modified.is_empty() && self.deleted.is_empty() && self.added.is_empty()
    }
}

/// How one manifest entry compares with the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Same,
    Missing,
    /// Something of another kind stands there (it must go before the entry comes back).
    WrongKind,
    /// Same kind, other content (a file's bytes, a link's target).
    Content,
    /// Same kind and content, other permission bits.
    ModeOnly,
}

/// Every entry's state, and the paths found now that the snapshot does not have.
pub struct Comparison<'m> {
    pub states: Vec<(&'m Entry, State)>,
    pub added: Vec<String>,
}

impl Comparison<'_> {
    pub fn to_diff(&self, id: &str) -> Diff {
        let mut diff = Diff {
            id: id.to_string(),
            ..Diff::default()
        };
        for (entry, state) in &self.states {
            let path = PathBuf::from(&entry.path);
            match state {
                State::Same => {}
                State::Missing => diff.deleted.push(path),
                State::WrongKind | State::Content | State::ModeOnly => diff.modified.push(path),
            }
        }
        diff.added = self.added.iter().map(PathBuf::from).collect();
        diff
    }
}

/// Compares a (validated) manifest with the tree, never looking through a symbolic link.
pub fn compare<'m>(root: &Path, manifest: &'m Manifest) -> Result<Comparison<'m>, RollbackError> {
    // Entries below one that is not a real directory now are missing, without a look: a
    // look would go through whatever stands there instead. Likewise below a covered path
    // whose parent directories are gone; one below a link is refused (`ancestors_state`).
    let mut not_dirs: BTreeSet<&str> = BTreeSet::new();
    let mut gone_above: Vec<&str> = Vec::new();
    for covered in &manifest.paths {
        if let Ancestors::Missing(_) = paths::ancestors_state(root, covered)? {
            gone_above.push(covered);
        }
    }
    let mut states = Vec::with_capacity(manifest.entries.len());
    for entry in &manifest.entries {
        let blocked = paths::ancestors(&entry.path).any(|a| not_dirs.contains(a))
            || gone_above.iter().any(|c| paths::is_under(&entry.path, c));
        let state = if blocked {
            State::Missing
        } else {
            state_of(root, entry)?
        };
        if entry.kind == Kind::Dir && matches!(state, State::Missing | State::WrongKind) {
            not_dirs.insert(&entry.path);
        }
        states.push((entry, state));
    }
    let known: BTreeMap<&str, ()> = manifest
        .entries
        .iter()
        .map(|e| (e.path.as_str(), ()))
        .collect();
    let added = scan::walk(root, &manifest.paths)?
        .into_iter()
        .filter(|found| !known.contains_key(found.path.as_str()))
        .map(|found| found.path)
        .collect();
    Ok(Comparison { states, added })
}

fn state_of(root: &Path, entry: &Entry) -> Result<State, RollbackError> {
    let full = root.join(&entry.path);
    let Some(meta) = paths::lstat(&full)? else {
        return Ok(State::Missing);
    };
    let file_type = meta.file_type();
    let mode = meta.permissions().mode() & 0o777;
    let state = match entry.kind {
        Kind::Dir if !file_type.is_dir() => State::WrongKind,
        Kind::File if !file_type.is_file() => State::WrongKind,
        Kind::Symlink if !file_type.is_symlink() => State::WrongKind,
        Kind::Symlink => {
            let target = std::fs::read_link(&full).map_err(io_err("read link", &full))?;
            // A link's own mode means nothing on Linux: only its target counts.
            if target.to_str() == entry.target.as_deref() {
                State::Same
            } else {
                State::Content
            }
        }
        Kind::File if meta.len() != entry.size || !same_content(&full, entry)? => State::Content,
        Kind::File | Kind::Dir if mode != entry.mode => State::ModeOnly,
        Kind::File | Kind::Dir => State::Same,
    };
    Ok(state)
}

fn same_content(full: &Path, entry: &Entry) -> Result<bool, RollbackError> {
    let (digest, _) = hash_file(full)?;
    Ok(entry.digest.as_deref() == Some(digest.as_str()))
}
