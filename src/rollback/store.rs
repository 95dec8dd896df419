//! [`SnapshotStore`]: the public face of the rollback store, tying the blobs, manifests,
//! diff, restore, verify and prune together for one project root.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;

use super::blobs::{read_dir_or_empty, Blobs};
use super::diff::{self, Diff};
use super::ids;
use super::lock::StoreLock;
use super::manifest::{Entry, Kind, Manifest, VERSION};
use super::paths::{self, ROOT};
use super::prune::{self, PruneReport};
use super::restore::{self, RestoreReport};
use super::scan;
use super::verify::{self, VerifyReport};
use super::{io_err, store_dir, RollbackError};

/// The snapshots of one project root, stored in `ROOT/.vigil/snapshots`.
pub struct SnapshotStore {
    root: PathBuf,
    dir: PathBuf,
    blobs: Blobs,
}

/// A snapshot as `list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotInfo {
    pub id: String,
    pub name: Option<String>,
    /// UTC, RFC 3339.
    pub created: String,
    /// Covered paths relative to the root (`.` is the whole root).
    pub paths: Vec<String>,
    pub files: usize,
    pub bytes: u64,
    /// Blobs this snapshot added to the store (0: nothing had changed since an earlier one).
    pub new_blobs: usize,
}

impl SnapshotInfo {
    fn of(manifest: &Manifest) -> SnapshotInfo {
        SnapshotInfo {
            id: manifest.id.clone(),
            name: manifest.name.clone(),
            created: manifest.created.clone(),
            paths: manifest.paths.clone(),
            files: manifest
                .entries
                .iter()
                .filter(|e| e.kind == Kind::File)
                .count(),
            bytes: manifest.bytes(),
            new_blobs: manifest.new_blobs,
        }
    }
}

impl SnapshotStore {
    /// The store of the project at `root` (which must be a directory). Nothing is created
    /// until the first snapshot.
    pub fn open(root: &Path) -> Result<SnapshotStore, RollbackError> {
        let root = root.canonicalize().map_err(io_err("open", root))?;
        if !root.is_dir() {
            return Err(RollbackError::NotADirectory(root));
        }
        let dir = store_dir(&root);
        Ok(SnapshotStore {
            blobs: Blobs::new(&dir),
            root,
            dir,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Snapshots `paths` (relative to the root, or absolute inside it; files and directories,
    /// recursively; none means the whole root). `.vigil/` and `.git/` at the top of the root
    /// are never included.
    pub fn create(
        &self,
        paths: &[PathBuf],
        name: Option<&str>,
    ) -> Result<SnapshotInfo, RollbackError> {
        let covered = self.covered(paths)?;
        let _lock = StoreLock::exclusive(&self.dir)?;
        let (id, created) = self.fresh_id()?;
        let mut manifest = Manifest {
            version: VERSION,
            id,
            name: name.map(str::to_string),
            created,
            paths: covered,
            entries: Vec::new(),
            new_blobs: 0,
        };
        for found in scan::walk(&self.root, &manifest.paths)? {
            let mut entry = Entry {
                path: found.path,
                kind: found.kind,
                size: 0,
                mode: found.mode,
                target: found.target,
                digest: None,
            };
            if found.kind == Kind::File {
                let stored = self.blobs.put(&self.root.join(&entry.path))?;
                entry.size = stored.size;
                entry.digest = Some(stored.digest);
                manifest.new_blobs += usize::from(stored.new);
            }
            manifest.entries.push(entry);
        }
        // Blobs first, manifest last: a manifest on disk always has all its blobs.
        manifest.write(&self.manifest_path(&manifest.id))?;
        Ok(SnapshotInfo::of(&manifest))
    }

    /// Every snapshot, oldest first.
    pub fn list(&self) -> Result<Vec<SnapshotInfo>, RollbackError> {
        Ok(self
            .manifests()?
            .iter()
            .map(|(m, _)| SnapshotInfo::of(m))
            .collect())
    }

    /// What changed since snapshot `id` (or a unique prefix of it), within its paths.
    pub fn diff(&self, id: &str) -> Result<Diff, RollbackError> {
        let manifest = self.load(id)?;
        Ok(diff::compare(&self.root, &manifest)?.to_diff(&manifest.id))
    }

    /// Brings the snapshot's paths back to the state it recorded. The manifest, the paths
    /// and every blob needed are checked before the first change; a dry run stops there.
    pub fn restore(&self, id: &str, dry_run: bool) -> Result<RestoreReport, RollbackError> {
        // A dry run changes nothing, so it need not wait for a writer.
        let _lock = if dry_run {
            None
        } else {
            Some(StoreLock::exclusive(&self.dir)?)
        };
        let manifest = self.load(id)?;
        restore::restore(&self.root, &self.dir, &self.blobs, &manifest, dry_run)
    }

    /// Re-hashes the blobs of snapshot `id`, or of every snapshot.
    pub fn verify(&self, id: Option<&str>) -> Result<VerifyReport, RollbackError> {
        let manifests = match id {
            Some(id) => vec![self.load(id)?],
            None => self.manifests()?.into_iter().map(|(m, _)| m).collect(),
        };
        verify::verify(&self.blobs, &manifests)
    }

    /// Keeps the newest `keep` snapshots; removes the others, then the blobs no longer used.
    pub fn prune(&self, keep: usize) -> Result<PruneReport, RollbackError> {
        let _lock = StoreLock::exclusive(&self.dir)?;
        prune::prune(&self.blobs, self.manifests()?, keep)
    }

    /// Forgets snapshot `id` (or a unique prefix): its manifest goes; its blobs stay until
    /// `prune` finds them unused (another snapshot may share them).
    pub fn delete(&self, id: &str) -> Result<(), RollbackError> {
        let _lock = StoreLock::exclusive(&self.dir)?;
        let id = ids::resolve(&self.ids()?, id)?;
        let path = self.manifest_path(&id);
        std::fs::remove_file(&path).map_err(io_err("delete", &path))
    }

    /// The id of a restore that was interrupted and not yet finished, if any.
    pub fn interrupted_restore(&self) -> Result<Option<String>, RollbackError> {
        restore::read_journal(&restore::journal_path(&self.dir))
    }

    /// The manifest of `id` (or a unique prefix), validated.
    pub fn manifest(&self, id: &str) -> Result<Manifest, RollbackError> {
        self.load(id)
    }

    /// The bytes a regular file had in snapshot `id` (`path` relative to the root); `None`
    /// when the snapshot does not hold it as a file.
    pub fn file_bytes(&self, id: &str, path: &Path) -> Result<Option<Vec<u8>>, RollbackError> {
        let manifest = self.load(id)?;
        let wanted = path.to_string_lossy();
        let entry = manifest
            .entries
            .iter()
            .find(|e| e.kind == Kind::File && e.path == wanted);
        let Some(digest) = entry.and_then(|e| e.digest.as_deref()) else {
            return Ok(None);
        };
        let blob = self.blobs.path(digest);
        std::fs::read(&blob)
            .map(Some)
            .map_err(io_err("read", &blob))
    }

    fn load(&self, id: &str) -> Result<Manifest, RollbackError> {
        let id = ids::resolve(&self.ids()?, id)?;
        Manifest::read(&self.manifest_path(&id))
    }

    fn manifests_dir(&self) -> PathBuf {
        self.dir.join("manifests")
    }

    fn manifest_path(&self, id: &str) -> PathBuf {
        self.manifests_dir().join(format!("{id}.json"))
    }

    fn ids(&self) -> Result<Vec<String>, RollbackError> {
        let mut ids: Vec<String> = read_dir_or_empty(&self.manifests_dir())?
            .iter()
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_suffix(".json")
                    .map(str::to_string)
            })
            .filter(|id| ids::looks_like_id(id))
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// Every manifest with its file, oldest first (by creation time, then id).
    fn manifests(&self) -> Result<Vec<(Manifest, PathBuf)>, RollbackError> {
        let mut all = Vec::new();
        for id in self.ids()? {
            let path = self.manifest_path(&id);
            all.push((Manifest::read(&path)?, path));
        }
        all.sort_by(|(a, _), (b, _)| (&a.created, &a.id).cmp(&(&b.created, &b.id)));
        Ok(all)
    }

    fn fresh_id(&self) -> Result<(String, String), RollbackError> {
        let existing = self.ids()?;
        loop {
            let (id, created) = ids::new_id(SystemTime::now());
            if !existing.contains(&id) {
                return Ok((id, created));
            }
        }
    }

    /// The covered paths: normalized, checked, existing; one inside another is dropped.
    fn covered(&self, paths: &[PathBuf]) -> Result<Vec<String>, RollbackError> {
        let mut covered = Vec::new();
        for path in paths {
            let rel = paths::normalize(&self.root, path)?;
            if rel != ROOT {
                let missing = || RollbackError::NoSuchPath(path.clone());
                if let paths::Ancestors::Missing(_) = paths::ancestors_state(&self.root, &rel)? {
                    return Err(missing());
                }
                paths::lstat(&self.root.join(&rel))?.ok_or_else(missing)?;
            }
            covered.push(rel);
        }
        if covered.is_empty() {
            covered.push(ROOT.to_string());
        }
        covered.sort();
        covered.dedup();
        let all = covered.clone();
        covered.retain(|c| {
            !all.iter()
                .any(|other| other != c && paths::is_under(c, other))
        });
        Ok(covered)
    }
}
