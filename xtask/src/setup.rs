//! `cargo xtask setup`: the project venv with pinned pytest and pytest-xdist, and the
//! prometheus_client whose OpenMetrics parser checks `vigil metrics` in the suites.

use crate::{cmd, paths};
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The pytest every venv of the project pins (the bench's peer venvs too).
pub const PYTEST: &str = "9.2.0";
const XDIST: &str = "3.8.0";
/// The suites parse `vigil metrics` with its OpenMetrics parser.
const PROMETHEUS_CLIENT: &str = "0.26.0";

/// Makes sure `.venv` exists with the pinned versions; returns its python.
pub fn setup() -> Result<PathBuf> {
    let venv = paths::venv();
    let python = paths::venv_python();
    if !python.exists() {
        create_venv(&venv)?;
    }
    if pins_installed(&python) {
        println!(
            "setup: {} has pytest {PYTEST}, pytest-xdist {XDIST} and prometheus_client {PROMETHEUS_CLIENT}",
            venv.display()
        );
        return Ok(python);
    }
    println!(
        "setup: installing pytest {PYTEST}, pytest-xdist {XDIST} and prometheus_client \
         {PROMETHEUS_CLIENT} into {}",
        venv.display()
    );
    cmd::run(Command::new(&python).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        &format!("pytest=={PYTEST}"),
        &format!("pytest-xdist=={XDIST}"),
        &format!("prometheus_client=={PROMETHEUS_CLIENT}"),
    ]))?;
    if !pins_installed(&python) {
        bail!(
            "pip finished but {} still lacks pytest {PYTEST} / pytest-xdist {XDIST} / \
             prometheus_client {PROMETHEUS_CLIENT}",
            python.display()
        );
    }
    Ok(python)
}

fn create_venv(venv: &Path) -> Result<()> {
    println!("setup: creating {}", venv.display());
    let existed = venv.exists();
    let result = cmd::run(Command::new("python3").arg("-m").arg("venv").arg(venv));
    if result.is_err() && !existed {
        // A half-made venv (python but no pip) would make the next run skip creation and fail.
        let _ = fs::remove_dir_all(venv);
    }
    result.context(
        "could not create the venv; on Debian/Ubuntu install python3-venv \
         (`apt-get install python3-venv`), or run .ci/run which does it",
    )
}

/// The fast path: every package imports and carries its pinned version.
fn pins_installed(python: &Path) -> bool {
    let check = format!(
        "import importlib.metadata as m, pytest, xdist, prometheus_client; \
         assert pytest.__version__ == '{PYTEST}' and m.version('pytest-xdist') == '{XDIST}' \
         and m.version('prometheus_client') == '{PROMETHEUS_CLIENT}'"
    );
    cmd::succeeds(Command::new(python).arg("-c").arg(check))
}
