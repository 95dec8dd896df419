//! `cargo xtask`: developer and CI tasks for vigil (setup, test, ci, nightly, demo, bench).

mod bench;
mod ci;
mod cmd;
mod demo;
mod nightly;
mod paths;
mod setup;
mod vigil_bin;

use anyhow::{bail, Result};
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  setup    create .venv with pinned pytest and pytest-xdist (fast when already done)
  test     setup, then `cargo test --workspace` against .venv's python
  ci       cargo fmt --check, cargo clippy -D warnings, then `test` (what .ci/run runs)
  nightly  every test of every tier run by vigil with the nightly profile into
           .vigil/nightly/history.db (JUnit: reports/nightly.xml), then `vigil trends --fail-on
           new-failure,perf-regression`, then reports/nightly.html; fails if the tests or
           the trends do, after writing the report
  demo     build vigil and run it on fixtures/example (one test fails on purpose)
  bench    [--suites a,b] [--runs N] [--only-pytest] [--history-only] [--diagnosis-only]
           [--watch-only]
           vigil against plain pytest and pytest-xdist on real suites, then the history
           figures (ingest, trends, bytes per result), the diagnosis figures (the labeled
           failure corpus scored per --tb style, diagnosis cost), the watch latency (file
           saved → test process started, vigil watch and pytest-watcher) and the selection
           figure; writes reports/bench.md (--history-only: just the history figures,
           reports/bench-history.md; --diagnosis-only: just the diagnosis figures,
           reports/bench-diagnosis.md; --watch-only: just the watch figure,
           reports/bench-watch.md; --selection-only [--trials N]: just the selection figure,
           mutation trials on jinja2, click, itsdangerous, reports/bench-selection.md,
           target/bench/selection.json)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match dispatch(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(args: &[String]) -> Result<()> {
    let Some((task, rest)) = args.split_first() else {
        println!("{USAGE}");
        return Ok(());
    };
    if task != "bench" && !rest.is_empty() {
        bail!("`{task}` takes no arguments, got {rest:?}\n\n{USAGE}");
    }
    match task.as_str() {
        "setup" => setup::setup().map(drop),
        "test" => ci::test(),
        "ci" => ci::ci(),
        "nightly" => nightly::nightly(),
        "demo" => demo::demo(),
        "bench" => bench::run(rest),
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown task `{other}`\n\n{USAGE}"),
    }
}
