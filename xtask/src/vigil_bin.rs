//! Building the vigil binary that demo and bench drive.

use crate::{cmd, paths};
use anyhow::{bail, Result};
use std::path::PathBuf;

/// `cargo build --release -p vigil`; returns the binary's path.
pub fn build_release() -> Result<PathBuf> {
    cmd::run(
        cmd::cargo()
            .args(["build", "--release", "-p", "vigil"])
            .current_dir(paths::repo()),
    )?;
    let bin = paths::target_dir().join("release").join("vigil");
    if !bin.exists() {
        bail!("cargo built vigil but {} does not exist", bin.display());
    }
    Ok(bin)
}
