//! `cargo xtask bench`: vigil against plain pytest and pytest-xdist on real public suites, the
//! history figures (ingest, trends, bytes per result), the diagnosis figures (the labeled
//! failure corpus per traceback style, and what diagnosis costs), the watch latency (file
//! saved → test process started, against pytest-watcher) and the selection figure (mutation
//! trials: the share of tests `vigil list --changed` selects, the failures it misses) and the
//! partition figure (max/mean shard time per partition kind, beside pytest-split).

mod args;
mod diagnosis;
mod diagnosis_cost;
mod fidelity;
mod history;
mod memory;
mod partition;
mod selection;
mod selection_report;
mod suites;
mod table;
mod timing;
mod tools;
mod watch;
mod watch_probe;

use crate::{paths, setup, vigil_bin};
use anyhow::{Context, Result};
use std::fs;
use table::Row;
use tools::{Runner, Tool};

pub fn run(raw: &[String]) -> Result<()> {
    let args = args::Args::parse(raw)?;
    let only = [
        args.history_only,
        args.diagnosis_only,
        args.watch_only,
        args.selection_only,
        args.partition_only,
    ];
    if only.contains(&true) {
        return sections_only(&args);
    }
    let suites = suites::fetch(&args.suites)?;
    let vigil = match args.only_pytest {
        true => None,
        false => Some(vigil_bin::build_release()?),
    };
    let mut rows = Vec::new();
    for suite in &suites {
        let runner = Runner {
            suite,
            vigil: vigil.as_deref(),
        };
        rows.push(bench_suite(&runner, args.runs)?);
    }
    let Some(vigil) = vigil else {
        let report = table::Report {
            rows,
            runs: args.runs,
            memory: "vigil peak RSS: not measured (--only-pytest)".to_string(),
        };
        println!("\n{}", report.text());
        return write_markdown("bench.md", report.markdown());
    };
    let python = setup::setup()?;
    let report = table::Report {
        rows,
        runs: args.runs,
        memory: memory::report(&vigil, &python),
    };
    let figures = history_figures(&vigil)?;
    let diagnosis = diagnosis_figures(&vigil, &python)?;
    let watch = watch_figure(&vigil, &python)?;
    println!(
        "\n{}\n{}\n{}\n{}",
        report.text(),
        history::text(&figures),
        diagnosis.text(),
        watch.text()
    );
    let selection = selection_figures(&vigil, &suites, &args)?;
    println!("\n{}", selection.text());
    let partition = partition_figure(&vigil, &suites)?;
    println!("\n{}", partition.text());
    let markdown = report.markdown()
        + &history::markdown(&figures)
        + &diagnosis.markdown()
        + &watch.markdown()
        + &selection.markdown()
        + &partition.markdown();
    write_markdown("bench.md", markdown)
}

/// `--history-only`, `--diagnosis-only`, `--watch-only`, `--selection-only`: those sections,
/// each in its own report file.
fn sections_only(args: &args::Args) -> Result<()> {
    let vigil = vigil_bin::build_release()?;
    if args.history_only {
        let figures = history_figures(&vigil)?;
        println!("\n{}", history::text(&figures));
        write_markdown("bench-history.md", history::markdown(&figures))?;
    }
    if args.diagnosis_only {
        let diagnosis = diagnosis_figures(&vigil, &setup::setup()?)?;
        println!("\n{}", diagnosis.text());
        write_markdown("bench-diagnosis.md", diagnosis.markdown())?;
    }
    if args.watch_only {
        let watch = watch_figure(&vigil, &setup::setup()?)?;
        println!("\n{}", watch.text());
        write_markdown("bench-watch.md", watch.markdown())?;
    }
    if args.selection_only {
        let suites = suites::fetch(&selection::wanted(&args.suites))?;
        let selection = selection_figures(&vigil, &suites, args)?;
        println!("\n{}", selection.text());
        write_markdown("bench-selection.md", selection.markdown())?;
    }
    if args.partition_only {
        let partition = partition_figure(&vigil, &suites::fetch(&args.suites)?)?;
        println!("\n{}", partition.text());
        write_markdown("bench-partition.md", partition.markdown())?;
    }
    Ok(())
}

fn partition_figure(
    vigil: &std::path::Path,
    suites: &[suites::Suite],
) -> Result<partition::Section> {
    eprintln!("\n== partition: shard balance on real suites' history, and 4 shards merged ==");
    let chosen: Vec<&suites::Suite> = suites.iter().collect();
    partition::measure(vigil, &chosen)
}

fn watch_figure(vigil: &std::path::Path, python: &std::path::Path) -> Result<watch::Section> {
    eprintln!("\n== watch: file saved → test process started, vigil and pytest-watcher ==");
    watch::measure(vigil, python)
}

/// The selection trials on the fetched suites that `--suites` (or the default) names, and
/// their per-trial data in target/bench/selection.json.
fn selection_figures(
    vigil: &std::path::Path,
    suites: &[suites::Suite],
    args: &args::Args,
) -> Result<selection_report::Section> {
    let wanted = selection::wanted(&args.suites);
    let chosen: Vec<&suites::Suite> = suites.iter().filter(|s| wanted.contains(&s.name)).collect();
    let section = selection::measure(vigil, &chosen, args.trials)?;
    let path = paths::target_dir().join("bench").join("selection.json");
    let json = serde_json::to_string_pretty(&section.json())?;
    fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("bench: per-trial data written to {}", path.display());
    Ok(section)
}

fn history_figures(vigil: &std::path::Path) -> Result<Vec<history::Figure>> {
    eprintln!("\n== history: ingest, trends, bytes per result ==");
    history::measure(vigil, &paths::target_dir().join("bench").join("history"))
}

fn diagnosis_figures(
    vigil: &std::path::Path,
    python: &std::path::Path,
) -> Result<diagnosis::Section> {
    eprintln!("\n== diagnosis: the labeled failure corpus per traceback style, and the cost ==");
    diagnosis::measure(vigil, python)
}

/// Times every tool on one suite, then checks per-test outcomes against plain pytest.
fn bench_suite(runner: &Runner, runs: usize) -> Result<Row> {
    let name = &runner.suite.name;
    let work = paths::target_dir().join("bench").join(name);
    fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    eprintln!(
        "\n== {name}: {runs} timed rounds of {:?} ==",
        runner.tools()
    );
    let timings = timing::measure(runner, runs, &work);
    let fidelity = fidelity::check(runner, &work);
    let mut row = Row::new(name);
    for tool in Tool::ALL {
        row.secs.insert(tool, timings.median(tool));
    }
    row.ratios.insert(
        Tool::VigilJ1,
        timings.paired_ratio(Tool::VigilJ1, Tool::Pytest),
    );
    row.ratios.insert(
        Tool::VigilJ2,
        timings.paired_ratio(Tool::VigilJ2, Tool::Xdist),
    );
    row.fidelity = fidelity.counts;
    row.notes = [timings.notes, fidelity.notes].concat();
    Ok(row)
}

fn write_markdown(name: &str, text: String) -> Result<()> {
    let dir = paths::repo().join("reports");
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(name);
    fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    println!("bench: table written to {}", path.display());
    Ok(())
}
