//! `cargo xtask test` and `cargo xtask ci`: the checks CI runs, in order.

use crate::{cmd, paths, setup};
use anyhow::{Context, Result};

/// Setup, then the whole workspace's tests against the project venv.
pub fn test() -> Result<()> {
    let python = setup::setup()?;
    cmd::run(
        cmd::cargo()
            .args(["test", "--workspace", "--no-fail-fast"])
            .env("VIGIL_TEST_PYTHON", &python)
            .current_dir(paths::repo()),
    )
    .context("tests failed")
}

/// Formatting, lints, then `test`; the first failure stops the run.
pub fn ci() -> Result<()> {
    fmt()?;
    clippy()?;
    test()?;
    println!("ci: all checks passed");
    Ok(())
}

fn fmt() -> Result<()> {
    if !has_subcommand("fmt") {
        println!("ci: NOTE rustfmt is not installed; skipping `cargo fmt --check`");
        return Ok(());
    }
    cmd::run(
        cmd::cargo()
            .args(["fmt", "--check"])
            .current_dir(paths::repo()),
    )
    .context("code is not formatted; run `cargo fmt`")
}

fn clippy() -> Result<()> {
    if !has_subcommand("clippy") {
        println!("ci: NOTE clippy is not installed; skipping `cargo clippy`");
        return Ok(());
    }
    let args = [
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ];
    cmd::run(cmd::cargo().args(args).current_dir(paths::repo())).context("clippy found problems")
}

/// rustfmt and clippy are optional rustup components; probe instead of assuming.
fn has_subcommand(name: &str) -> bool {
    cmd::succeeds(cmd::cargo().args([name, "--version"]))
}
