//! Restoring a snapshot: a plan made from the diff (and checked in full before anything
//! changes), then applied one atomic step at a time under a journal, so a restore that was
//! killed is known and running it again finishes the job.

use std::collections::BTreeSet;
use std::fs::{File, Permissions};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::blobs::{copy_hashing, Blobs};
use super::diff::{self, State};
use super::manifest::{Entry, Kind, Manifest};
use super::paths::{self, Ancestors};
use super::{io_err, RollbackError};

/// One change a restore makes, to a path relative to the root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", content = "path", rename_all = "snake_case")]
pub enum Action {
    /// Delete what is there (added since, or of the wrong kind).
    Remove(PathBuf),
    CreateDir(PathBuf),
    /// Write the file's content (and mode) from its blob.
    WriteFile(PathBuf),
    /// Point the link at its recorded target.
    Symlink(PathBuf),
    /// Set the recorded permission bits.
    SetMode(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreReport {
    pub id: String,
    pub dry_run: bool,
    /// A journal said an earlier restore (of this id or another) did not finish.
    pub interrupted: Option<String>,
    /// In the order they are (or, for a dry run, would be) applied.
    pub actions: Vec<Action>,
}

/// One planned step, with the manifest entry it restores.
enum Step<'m> {
    Remove(String),
    /// A directory above a covered path (no entry: default mode).
    CreateAbove(String),
    Dir(&'m Entry),
    File(&'m Entry),
    Link(&'m Entry),
    Mode(&'m Entry),
}

impl Step<'_> {
    fn action(&self) -> Action {
        match self {
            Step::Remove(path) => Action::Remove(path.into()),
            Step::CreateAbove(path) => Action::CreateDir(path.into()),
            Step::Dir(entry) => Action::CreateDir((&entry.path).into()),
            Step::File(entry) => Action::WriteFile((&entry.path).into()),
            Step::Link(entry) => Action::Symlink((&entry.path).into()),
            Step::Mode(entry) => Action::SetMode((&entry.path).into()),
        }
    }
}

/// The journal's content: which snapshot was being restored.
#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    id: String,
}

/// Restores `manifest` into `root` (the manifest is validated already).
pub fn restore(
    root: &Path,
    store: &Path,
    blobs: &Blobs,
    manifest: &Manifest,
    dry_run: bool,
) -> Result<RestoreReport, RollbackError> {
    let journal_path = journal_path(store);
    let interrupted = read_journal(&journal_path)?;
    let steps = plan(root, manifest)?;
    check_blobs(blobs, manifest, &steps)?;
    let report = RestoreReport {
        id: manifest.id.clone(),
        dry_run,
        interrupted,
        actions: steps.iter().map(Step::action).collect(),
    };
    if dry_run {
        return Ok(report);
    }
    write_journal(&journal_path, &manifest.id)?;
    for step in &steps {
        apply(root, blobs, manifest, step)?;
    }
    std::fs::remove_file(&journal_path).map_err(io_err("remove", &journal_path))?;
    Ok(report)
}

pub fn journal_path(store: &Path) -> PathBuf {
    store.join("restore.journal")
}

/// The id of an unfinished restore, if one was interrupted.
pub fn read_journal(path: &Path) -> Result<Option<String>, RollbackError> {
    match std::fs::read(path) {
        // A journal torn by a kill while it was written still means "interrupted".
        Ok(bytes) => Ok(Some(
            serde_json::from_slice::<Journal>(&bytes)
                .map(|j| j.id)
                .unwrap_or_else(|_| "?".to_string()),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("read", path)(e)),
    }
}

fn write_journal(path: &Path, id: &str) -> Result<(), RollbackError> {
    let text = serde_json::to_vec(&Journal { id: id.to_string() }).map_err(|source| {
        RollbackError::Json {
            path: path.to_path_buf(),
            source,
        }
    })?;
    std::fs::write(path, text).map_err(io_err("write", path))?;
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(io_err("sync", path))
}

/// Removals first (deepest first), then directories, files and links (parents first), then
/// directory modes (deepest first, so a read-only directory is filled before it closes).
fn plan<'m>(root: &Path, manifest: &'m Manifest) -> Result<Vec<Step<'m>>, RollbackError> {
    let comparison = diff::compare(root, manifest)?;
    let mut removals: BTreeSet<String> = comparison.added.iter().cloned().collect();
    let mut steps = Vec::new();
    let mut above = BTreeSet::new();
    for covered in &manifest.paths {
        if let Ancestors::Missing(_) = paths::ancestors_state(root, covered)? {
            above.extend(paths::ancestors(covered).map(str::to_string));
        }
    }
    let mut creates = Vec::new();
    let mut dir_modes = Vec::new();
    for (entry, state) in &comparison.states {
        if *state == State::WrongKind {
            removals.insert(entry.path.clone());
        }
        match (entry.kind, state) {
            (_, State::Same) => {}
            (Kind::Dir, State::ModeOnly) => dir_modes.push(Step::Mode(entry)),
            (Kind::Dir, _) => {
                creates.push(Step::Dir(entry));
                dir_modes.push(Step::Mode(entry));
            }
            (Kind::File, State::ModeOnly) => creates.push(Step::Mode(entry)),
            (Kind::File, _) => creates.push(Step::File(entry)),
            (Kind::Symlink, _) => creates.push(Step::Link(entry)),
        }
    }
    // Existing directories above covered paths are not created again.
    above.retain(|a| matches!(paths::lstat(&root.join(a)), Ok(None)));
    steps.extend(removals.into_iter().rev().map(Step::Remove));
    steps.extend(above.into_iter().map(Step::CreateAbove));
    steps.extend(creates);
    steps.extend(dir_modes.into_iter().rev());
    Ok(steps)
}

/// Every blob the plan writes must be there and hash to its digest, before anything changes.
fn check_blobs(blobs: &Blobs, manifest: &Manifest, steps: &[Step]) -> Result<(), RollbackError> {
    let mut checked = BTreeSet::new();
    for step in steps {
        let Step::File(entry) = step else { continue };
        let digest = entry.digest.as_deref().unwrap_or_default();
        if !checked.insert(digest) {
            continue;
        }
        match blobs.rehash(digest)? {
            None => {
                return Err(RollbackError::MissingBlob {
                    id: manifest.id.clone(),
                    digest: digest.to_string(),
                    entry: entry.path.clone(),
                })
            }
            Some(actual) if actual != digest => {
                return Err(RollbackError::CorruptBlob {
                    id: manifest.id.clone(),
                    digest: digest.to_string(),
                    entry: entry.path.clone(),
                    actual,
                })
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn apply(
    root: &Path,
    blobs: &Blobs,
    manifest: &Manifest,
    step: &Step,
) -> Result<(), RollbackError> {
    match step {
        Step::Remove(rel) => remove(root, rel),
        Step::CreateAbove(rel) => create_dir(root, rel, 0o755),
        Step::Dir(entry) => create_dir(root, &entry.path, 0o700),
        Step::File(entry) => write_file(root, blobs, manifest, entry),
        Step::Link(entry) => link(root, entry),
        Step::Mode(entry) => set_mode(root, entry),
    }
}

fn remove(root: &Path, rel: &str) -> Result<(), RollbackError> {
    paths::ensure_real_parents(root, rel)?;
    let full = root.join(rel);
    let Some(meta) = paths::lstat(&full)? else {
        return Ok(());
    };
    // `remove_dir_all` never follows links, so a link inside goes, not what it points to.
    let result = if meta.file_type().is_dir() {
        std::fs::remove_dir_all(&full)
    } else {
        std::fs::remove_file(&full)
    };
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err("remove", &full)(e)),
        _ => Ok(()),
    }
}

fn create_dir(root: &Path, rel: &str, mode: u32) -> Result<(), RollbackError> {
    paths::ensure_real_parents(root, rel)?;
    let full = root.join(rel);
    match std::fs::create_dir(&full) {
        Ok(()) => std::fs::set_permissions(&full, Permissions::from_mode(mode))
            .map_err(io_err("set the mode of", &full)),
        // A resumed restore finds the directories the first attempt made.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && full.is_dir() => Ok(()),
        Err(e) => Err(io_err("create", &full)(e)),
    }
}

/// Blob → temporary file in the same directory (hashed on the way, mode set, synced) →
/// rename over the path: the file is the old one or the restored one, never half of each.
fn write_file(
    root: &Path,
    blobs: &Blobs,
    manifest: &Manifest,
    entry: &Entry,
) -> Result<(), RollbackError> {
    paths::ensure_real_parents(root, &entry.path)?;
    let full = root.join(&entry.path);
    let dir = full.parent().unwrap_or(root);
    let digest = entry.digest.as_deref().unwrap_or_default();
    let blob_path = blobs.path(digest);
    let mut blob = File::open(&blob_path).map_err(io_err("open", &blob_path))?;
    let mut temp = tempfile::Builder::new()
        .prefix(".vigil-restore-")
        .tempfile_in(dir)
        .map_err(io_err("create a file in", dir))?;
    let (actual, _) =
        copy_hashing(&mut blob, temp.as_file_mut()).map_err(io_err("copy", &blob_path))?;
    // Checked before, but the blob could have changed since: never rename a wrong copy in.
    if actual != digest {
        return Err(RollbackError::CorruptBlob {
            id: manifest.id.clone(),
            digest: digest.to_string(),
            entry: entry.path.clone(),
            actual,
        });
    }
    temp.as_file()
        .set_permissions(Permissions::from_mode(entry.mode))
        .map_err(io_err("set the mode of", temp.path()))?;
    temp.as_file()
        .sync_all()
        .map_err(io_err("sync", temp.path()))?;
    temp.persist(&full)
        .map_err(|e| io_err("replace", &full)(e.error))?;
    sync_dir(dir)
}

/// Makes a rename in `dir` durable (the file's own data was synced before it).
fn sync_dir(dir: &Path) -> Result<(), RollbackError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("sync", dir))
}

/// A new link beside the path, renamed over it: atomic like a file.
fn link(root: &Path, entry: &Entry) -> Result<(), RollbackError> {
    paths::ensure_real_parents(root, &entry.path)?;
    let full = root.join(&entry.path);
    let dir = full.parent().unwrap_or(root);
    let target = entry.target.as_deref().unwrap_or_default();
    let temp = dir.join(format!(".vigil-restore-{}.link", std::process::id()));
    let _ = std::fs::remove_file(&temp);
    std::os::unix::fs::symlink(target, &temp).map_err(io_err("create link", &temp))?;
    std::fs::rename(&temp, &full).map_err(io_err("replace", &full))?;
    sync_dir(dir)
}

fn set_mode(root: &Path, entry: &Entry) -> Result<(), RollbackError> {
    paths::ensure_real_parents(root, &entry.path)?;
    let full = root.join(&entry.path);
    // `chmod` follows links: only ever apply it to the real file or directory.
    match paths::lstat(&full)? {
        Some(meta) if !meta.file_type().is_symlink() => {
            std::fs::set_permissions(&full, Permissions::from_mode(entry.mode))
                .map_err(io_err("set the mode of", &full))
        }
        _ => Err(RollbackError::UnsafePath {
            entry: entry.path.clone(),
            reason: "changed while the restore ran (no longer a file or directory)".into(),
        }),
    }
}
