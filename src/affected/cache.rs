//! Module facts cached by content hash in `.vigil/cache/affected.json`, so a selection
//! re-reads only the files whose content it has not seen.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::facts::{self, ModuleFacts};

/// Bumped when [`ModuleFacts`] or how it is read changes: an old cache is then ignored.
const FORMAT: &str = concat!(env!("CARGO_PKG_VERSION"), "/6");

#[derive(Serialize, Deserialize)]
struct OnDisk {
    format: String,
    entries: HashMap<String, Arc<ModuleFacts>>,
}

pub struct FactsCache {
    path: PathBuf,
    entries: HashMap<String, Arc<ModuleFacts>>,
    used: HashSet<String>,
    dirty: bool,
}

impl FactsCache {
    /// The cache under `root`; a missing, unreadable or old one starts empty.
    pub fn load(root: &Path) -> FactsCache {
        let path = root.join(".vigil").join("cache").join("affected.json");
        let entries = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<OnDisk>(&bytes).ok())
            .filter(|disk| disk.format == FORMAT)
            .map(|disk| disk.entries)
            .unwrap_or_default();
        FactsCache {
            path,
            entries,
            used: HashSet::new(),
            dirty: false,
        }
    }

    /// The facts of a module with this source.
    pub fn facts(&mut self, source: &str) -> Arc<ModuleFacts> {
        let key = hex(&Sha256::digest(source.as_bytes()));
        self.used.insert(key.clone());
        if let Some(found) = self.entries.get(&key) {
            return Arc::clone(found);
        }
        let read = Arc::new(facts::read(source));
        self.entries.insert(key, Arc::clone(&read));
        self.dirty = true;
        read
    }

    /// Writes the entries used since loading (others belong to content no file has now), when
    /// anything was added. A cache that cannot be written only costs the next reading time.
    pub fn save(&mut self) {
        if !self.dirty {
            return;
        }
        self.entries.retain(|key, _| self.used.contains(key));
        let disk = OnDisk {
            format: FORMAT.to_string(),
            entries: std::mem::take(&mut self.entries),
        };
        if let Ok(bytes) = serde_json::to_vec(&disk) {
            let _ = write_atomically(&self.path, &bytes);
        }
        self.entries = disk.entries;
        self.dirty = false;
    }
}

/// Beside the target, then renamed over it: a reader never sees half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut temp, bytes)?;
    temp.persist(path).map(|_| ()).map_err(|e| e.error)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
