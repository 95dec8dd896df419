//! One snapshot's manifest (`manifests/<id>.json`): what it covers and every file, directory
//! and symbolic link in it. A manifest read back is validated as a whole before anything acts
//! on it, so a tampered one is refused rather than half applied.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::blobs::is_digest;
use super::paths::{self, check_covered, check_entry, is_under};
use super::{io_err, RollbackError};

pub const VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    File,
    Dir,
    Symlink,
}

/// One path in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Relative to the root, `/`-separated.
    pub path: String,
    pub kind: Kind,
    /// Bytes (files only).
    #[serde(default)]
    pub size: u64,
    /// Permission bits (`0o777` at most; no set-id bits are ever restored).
    pub mode: u32,
    /// The link's target, as written (symlinks only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// SHA-256 of the content (files only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// UTC, RFC 3339 with microseconds: sorts in creation order.
    pub created: String,
    /// The covered paths, relative to the root (`.` is the whole root).
    pub paths: Vec<String>,
    /// Sorted by path, so a directory comes before what is in it.
    pub entries: Vec<Entry>,
    /// Blobs this snapshot added to the store when it was taken.
    #[serde(default)]
    pub new_blobs: usize,
}

impl Manifest {
    pub fn read(path: &Path) -> Result<Manifest, RollbackError> {
        let file = std::fs::File::open(path).map_err(io_err("open", path))?;
        let manifest: Manifest =
            serde_json::from_reader(std::io::BufReader::new(file)).map_err(|source| {
                RollbackError::Json {
                    path: path.to_path_buf(),
                    source,
                }
            })?;
        manifest.validate(path)?;
        Ok(manifest)
    }

    /// Written to a temporary file, synced and renamed: a manifest is there whole or not at all.
    pub fn write(&self, path: &Path) -> Result<(), RollbackError> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io_err("create", dir))?;
        let mut temp =
            tempfile::NamedTempFile::new_in(dir).map_err(io_err("create a file in", dir))?;
        let text = serde_json::to_vec_pretty(self).map_err(|source| RollbackError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        temp.write_all(&text)
            .map_err(io_err("write", temp.path()))?;
        temp.as_file()
            .sync_all()
            .map_err(io_err("sync", temp.path()))?;
        temp.persist(path)
            .map_err(|e| io_err("write", path)(e.error))?;
        Ok(())
    }

    /// Every rule a manifest vigil wrote keeps; any break means it was edited or damaged.
    pub fn validate(&self, file: &Path) -> Result<(), RollbackError> {
        let bad = |reason: String| RollbackError::BadManifest {
            path: file.to_path_buf(),
            reason,
        };
        if self.version != VERSION {
            return Err(bad(format!("unknown version {}", self.version)));
        }
        let stem = file.file_stem().and_then(|s| s.to_str());
        if stem != Some(self.id.as_str()) {
            return Err(bad(format!(
                "id {:?} does not match the file name",
                self.id
            )));
        }
        if self.paths.is_empty() {
            return Err(bad("covers no paths".into()));
        }
        for covered in &self.paths {
            check_covered(covered)?;
        }
        let mut kinds: BTreeMap<&str, Kind> = BTreeMap::new();
        for entry in &self.entries {
            check_entry(&entry.path)?;
            if kinds.insert(&entry.path, entry.kind).is_some() {
                return Err(bad(format!("{:?} is listed twice", entry.path)));
            }
            if !self.paths.iter().any(|c| is_under(&entry.path, c)) {
                return Err(bad(format!(
                    "{:?} is outside the covered paths",
                    entry.path
                )));
            }
            self.check_fields(entry).map_err(bad)?;
        }
        // Below a covered path, an entry's parent must itself be a directory entry: nothing
        // may be written through a link (or "into" a file) the snapshot itself restores.
        for entry in &self.entries {
            let Some(parent) = paths::parent(&entry.path) else {
                continue;
            };
            let inside_cover = self.paths.iter().any(|c| is_under(parent, c));
            if inside_cover && kinds.get(parent) != Some(&Kind::Dir) {
                return Err(RollbackError::UnsafeParent {
                    entry: entry.path.clone(),
                    parent: parent.into(),
                });
            }
        }
        Ok(())
    }

    fn check_fields(&self, entry: &Entry) -> Result<(), String> {
        let name = &entry.path;
        if entry.mode & !0o777 != 0 {
            return Err(format!("{name:?} has mode {:o}, beyond 0o777", entry.mode));
        }
        match entry.kind {
            Kind::File => match &entry.digest {
                Some(digest) if is_digest(digest) => Ok(()),
                _ => Err(format!("file {name:?} has no valid SHA-256 digest")),
            },
            Kind::Symlink => match &entry.target {
                Some(target) if !target.is_empty() && !target.contains('\0') => Ok(()),
                _ => Err(format!("symlink {name:?} has no valid target")),
            },
            Kind::Dir => Ok(()),
        }
    }

    /// Bytes of file content the snapshot holds.
    pub fn bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }
}
