//! Dropping old snapshots: the manifests beyond the newest N go first, then the blobs no
//! remaining manifest references. In that order, a prune killed half way never leaves a
//! manifest without its blobs (only, at worst, blobs nothing uses, which the next prune takes).

use std::collections::BTreeSet;

use serde::Serialize;

use super::blobs::Blobs;
use super::manifest::{Kind, Manifest};
use super::RollbackError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    pub kept: Vec<String>,
    pub removed: Vec<String>,
    pub blobs_removed: usize,
    pub bytes_freed: u64,
}

/// `manifests` oldest first, with the path of each manifest file.
pub fn prune(
    blobs: &Blobs,
    manifests: Vec<(Manifest, std::path::PathBuf)>,
    keep: usize,
) -> Result<PruneReport, RollbackError> {
    let split = manifests.len().saturating_sub(keep);
    let (old, kept) = manifests.split_at(split);
    let mut removed = Vec::new();
    for (manifest, path) in old {
        std::fs::remove_file(path).map_err(super::io_err("remove", path))?;
        removed.push(manifest.id.clone());
    }
    let referenced: BTreeSet<&str> = kept
        .iter()
        .flat_map(|(m, _)| &m.entries)
        .filter(|e| e.kind == Kind::File)
        .filter_map(|e| e.digest.as_deref())
        .collect();
    let mut blobs_removed = 0;
    let mut bytes_freed = 0;
    for (digest, size) in blobs.all()? {
        if !referenced.contains(digest.as_str()) {
            blobs.remove(&digest)?;
            blobs_removed += 1;
            bytes_freed += size;
        }
    }
    // Under the store lock no snapshot is being taken: what is left in staging was left by
    // one that was killed.
    blobs.clear_staging()?;
    Ok(PruneReport {
        kept: kept.iter().map(|(m, _)| m.id.clone()).collect(),
        removed,
        blobs_removed,
        bytes_freed,
    })
}
