//! Re-hashing the blobs that snapshots reference: a missing or corrupt blob is reported with
//! every snapshot (and path) it breaks. Each blob is read once however many snapshots share it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::blobs::Blobs;
use super::manifest::{Kind, Manifest};
use super::RollbackError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    Missing,
    /// The blob's content hashes to `actual`, not to its name.
    Corrupt {
        actual: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlobProblem {
    pub digest: String,
    #[serde(flatten)]
    pub problem: Problem,
    /// The snapshots this blob breaks, and a path in each that uses it.
    pub snapshots: Vec<String>,
    pub paths: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// The snapshots checked.
    pub snapshots: Vec<String>,
    pub blobs_checked: usize,
    pub problems: Vec<BlobProblem>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks every blob the manifests reference.
pub fn verify(blobs: &Blobs, manifests: &[Manifest]) -> Result<VerifyReport, RollbackError> {
    // digest → (snapshot ids, paths), both deduplicated and sorted.
    let mut users: BTreeMap<&str, (Vec<String>, Vec<String>)> = BTreeMap::new();
    for manifest in manifests {
        for entry in manifest.entries.iter().filter(|e| e.kind == Kind::File) {
            let Some(digest) = entry.digest.as_deref() else {
                continue;
            };
            let (ids, paths) = users.entry(digest).or_default();
            if ids.last() != Some(&manifest.id) {
                ids.push(manifest.id.clone());
                paths.push(entry.path.clone());
            }
        }
    }
    let mut problems = Vec::new();
    for (digest, (snapshots, paths)) in &users {
        let problem = match blobs.rehash(digest)? {
            None => Problem::Missing,
            Some(actual) if actual != *digest => Problem::Corrupt { actual },
            Some(_) => continue,
        };
        problems.push(BlobProblem {
            digest: digest.to_string(),
            problem,
            snapshots: snapshots.clone(),
            paths: paths.clone(),
        });
    }
    Ok(VerifyReport {
        snapshots: manifests.iter().map(|m| m.id.clone()).collect(),
        blobs_checked: users.len(),
        problems,
    })
}
