//! Building the vigil binary that demo, bench and nightly drive.

use crate::{cmd, paths};
use anyhow::{bail, Result};
use std::path::PathBuf;

/// `cargo build --release -p vigil`; returns the binary's path.
pub fn build_release() -> Result<PathBuf> {
    build(&["--release"], "release")
}

/// `cargo build -p vigil` (the dev profile, whose dependencies the tests' build shares).
pub fn build_dev() -> Result<PathBuf> {
    build(&[], "debug")
}

fn build(profile_args: &[&str], profile_dir: &str) -> Result<PathBuf> {
    cmd::run(
        cmd::cargo()
            .arg("build")
            .args(profile_args)
            .args(["-p", "vigil"])
            .current_dir(paths::repo()),
    )?;
    let bin = paths::target_dir().join(profile_dir).join("vigil");
    if !bin.exists() {
        bail!("cargo built vigil but {} does not exist", bin.display());
    }
    Ok(bin)
}
