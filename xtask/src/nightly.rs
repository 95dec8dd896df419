//! `cargo xtask nightly`: the tests `cargo xtask test` runs (every test of the workspace, all
//! five tiers), run by vigil itself with the `nightly` profile and recorded in history; then
//! `vigil trends --fail-on new-failure,perf-regression` against that history; then the HTML
//! report, which is written whatever happened before it.

use crate::{cmd, paths, setup, vigil_bin};
use anyhow::{bail, Context, Result};
use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

const TIERS: &str = "unit,integration,e2e,performance,stress";

/// A hung test must not hold the nightly forever (`cargo test` has CI's job timeout instead).
const TEST_TIMEOUT_SECS: &str = "1800";

/// vigil's workspace seen as a vigil project: no Python files of its own, its tests native.
/// The suites harness lists its trials as `[tier] name`, which vigil reads as their tier;
/// its Python tests run inside the harness, as under `cargo test`.
const PROJECT_CONFIG: &str = "\
# Written by `cargo xtask nightly`: vigil's workspace as a native suite, so vigil runs what
# `cargo test --workspace` runs. Paths are relative to this file.
[native]
manifest = \"../../Cargo.toml\"
cargo_args = [\"--workspace\"]
";

pub fn nightly() -> Result<()> {
    let python = setup::setup()?;
    let vigil = vigil_bin::build_dev()?;
    let repo = paths::repo();
    let reports = repo.join("reports");
    fs::create_dir_all(&reports).context("creating reports/")?;
    let project = project_dir(&repo)?;
    let nightly = Nightly {
        vigil,
        python,
        // Its own database: runs of other selections in the same branch would read as new
        // failures and fixes to trends.
        history: project.join("history.db"),
        project,
        repo,
    };
    let junit = reports.join("nightly.xml");
    let html = reports.join("nightly.html");
    let tests = nightly.status(nightly.run_args(&junit))?;
    let trends = nightly.status(["trends", "--fail-on", "new-failure,perf-regression"])?;
    let report_args: [&OsStr; 3] = ["report".as_ref(), "--html".as_ref(), html.as_os_str()];
    let report = nightly.status(report_args)?;
    println!(
        "\nnightly: JUnit {}, report {}, history {}",
        junit.display(),
        html.display(),
        nightly.history.display()
    );
    verdict(tests, trends, report)
}

/// The directory vigil runs in: `.vigil/nightly/` (ignored by git, inside the work tree so
/// runs record its commit and branch), holding the config that makes the workspace native.
fn project_dir(repo: &Path) -> Result<PathBuf> {
    let dir = repo.join(".vigil").join("nightly");
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let config = dir.join("vigil.toml");
    fs::write(&config, PROJECT_CONFIG).with_context(|| format!("writing {}", config.display()))?;
    Ok(dir)
}

struct Nightly {
    vigil: PathBuf,
    python: PathBuf,
    project: PathBuf,
    history: PathBuf,
    repo: PathBuf,
}

impl Nightly {
    fn run_args(&self, junit: &Path) -> Vec<OsString> {
        let mut args: Vec<OsString> = ["run", "--profile", "nightly", "--tier", TIERS]
            .into_iter()
            .chain(["--timeout", TEST_TIMEOUT_SECS, "--python"])
            .map(Into::into)
            .collect();
        args.push(self.python.clone().into());
        args.push("--junit".into());
        args.push(junit.into());
        args
    }

    /// `vigil -C <project> --history <db> ARGS`, from the repository root; the harness finds
    /// its Python through VIGIL_TEST_PYTHON, as under `cargo xtask test`.
    fn status<I, S>(&self, args: I) -> Result<ExitStatus>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        cmd::status(
            Command::new(&self.vigil)
                .arg("-C")
                .arg(&self.project)
                .arg("--history")
                .arg(&self.history)
                .args(args)
                .env("VIGIL_TEST_PYTHON", &self.python)
                .current_dir(&self.repo),
        )
    }
}

/// Every step has run; the nightly fails if any of them did, naming each.
fn verdict(tests: ExitStatus, trends: ExitStatus, report: ExitStatus) -> Result<()> {
    let mut problems = Vec::new();
    if !tests.success() {
        problems.push(format!("the tests did not pass ({tests})"));
    }
    match trends.code() {
        Some(0) => {}
        Some(1) => {
            problems.push("vigil trends found new failures or performance regressions".into())
        }
        _ => problems.push(format!("vigil trends failed ({trends})")),
    }
    if !report.success() {
        problems.push(format!("vigil report failed ({report})"));
    }
    if !problems.is_empty() {
        bail!("nightly: {}", problems.join("; "));
    }
    println!("nightly: all tests passed, no new failures, no performance regressions");
    Ok(())
}
