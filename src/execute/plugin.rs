//! Installs the embedded pytest plugin into a cache directory named by its content hash, so
//! every vigil version gets its own copy and concurrent vigil processes never see a half file.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The plugin's source, compiled into the binary.
pub const SOURCE: &str = include_str!("vigil_plugin.py");

/// The module name workers load with `-p`.
pub const MODULE: &str = "vigil_plugin";

/// Writes the plugin (once per content hash) and returns the directory to put on `PYTHONPATH`.
pub fn install() -> std::io::Result<PathBuf> {
    let digest = hex(&Sha256::digest(SOURCE.as_bytes()));
    let dir = cache_root().join(format!("plugin-{}", &digest[..16]));
    let target = dir.join(format!("{MODULE}.py"));
    if std::fs::read_to_string(&target).is_ok_and(|s| s == SOURCE) {
        return Ok(dir);
    }
    std::fs::create_dir_all(&dir)?;
    write_atomically(&dir, &target)?;
    Ok(dir)
}

fn write_atomically(dir: &Path, target: &Path) -> std::io::Result<()> {
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(SOURCE.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(target).map_err(|e| e.error)?;
    Ok(())
}

/// `$VIGIL_CACHE_DIR`, else `$XDG_CACHE_HOME/vigil`, else `~/.cache/vigil`, else a temp dir.
pub fn cache_root() -> PathBuf {
    let env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("VIGIL_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("vigil")))
        .or_else(|| env("HOME").map(|d| d.join(".cache").join("vigil")))
        .unwrap_or_else(|| std::env::temp_dir().join("vigil-cache"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
