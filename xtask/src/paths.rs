//! Where things live: the repository root, cargo's target dir, the project venv.

use std::env;
use std::path::{Path, PathBuf};

/// The workspace root: xtask's manifest dir is one level below it.
pub fn repo() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .expect("xtask lives one level below the repository root")
        .to_path_buf()
}

/// Cargo's target dir, honouring `CARGO_TARGET_DIR` the way cargo does (relative to cwd).
pub fn target_dir() -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => std::path::absolute(&dir).unwrap_or_else(|_| PathBuf::from(dir)),
        None => repo().join("target"),
    }
}

pub fn venv() -> PathBuf {
    repo().join(".venv")
}

pub fn venv_python() -> PathBuf {
    venv().join("bin").join("python")
}
