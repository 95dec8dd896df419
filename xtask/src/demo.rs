//! `cargo xtask demo`: vigil on fixtures/example, which has one deliberately failing test.

use crate::{cmd, paths, setup, vigil_bin};
use anyhow::{bail, Context, Result};
use std::fs;
use std::process::Command;

pub fn demo() -> Result<()> {
    let python = setup::setup()?;
    let vigil = vigil_bin::build_release()?;
    let repo = paths::repo();
    let report = repo.join("reports").join("example.xml");
    fs::create_dir_all(repo.join("reports")).context("creating reports/")?;
    let status = cmd::status(
        Command::new(&vigil)
            .arg("run")
            .arg("--python")
            .arg(&python)
            .arg("--junit")
            .arg(&report)
            .current_dir(repo.join("fixtures").join("example")),
    )?;
    println!("\ndemo: JUnit report written to {}", report.display());
    match status.code() {
        Some(1) => println!("demo: vigil exited 1 because fixtures/example has one deliberately failing test; that is expected"),
        Some(0) => println!("demo: vigil exited 0, but fixtures/example should have one deliberate failure; check the fixture"),
        _ => bail!("vigil ended with {status}, which is neither pass (0) nor tests-failed (1)"),
    }
    Ok(())
}
