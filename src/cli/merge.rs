//! `vigil merge SHARD...`: the shards of a partitioned run, as CI jobs left them (event logs,
//! JUnit reports, history databases), become one run: one terminal summary, one JUnit file,
//! one event log, and one history run that records how many shards it combines.

use std::path::{Path, PathBuf};

use clap::Args;

use vigil::config::Loaded;
use vigil::discover;
use vigil::exit::ExitCode;
use vigil::history::{self, GitInfo, ImportOptions, RunRecord, Store};
use vigil::merge::{self, event_log, Merged, ShardRun};
use vigil::plan::Tiers;
use vigil::redact::Redactor;
use vigil::report::Reporter;
use vigil::session::{self, request, HistorySettings};

use super::history::history_error;
use super::outputs::OutputArgs;
use super::{usage, Failure};

#[derive(Args)]
pub struct MergeArgs {
    /// Shard directories (as CI artifacts download them), or their files: JSON event logs
    /// (`vigil run --json`), JUnit reports, history databases.
    #[arg(required = true, value_name = "SHARD")]
    shards: Vec<PathBuf>,
    #[command(flatten)]
    outputs: OutputArgs,
    /// Do not record the merged run in history.
    #[arg(long)]
    no_history: bool,
}

pub fn merge(
    args: MergeArgs,
    history: Option<PathBuf>,
    invocation_dir: &Path,
    loaded: &Loaded,
) -> Result<ExitCode, Failure> {
    let paths: Vec<PathBuf> = args
        .shards
        .iter()
        .map(|p| discover::absolute(invocation_dir, p))
        .collect();
    let inputs = merge::find_inputs(&paths).map_err(usage)?;
    // The shards ran elsewhere, perhaps with an older vigil: this machine's secrets are
    // blotted out of them again before any report or the history sees them.
    let redact = Redactor::for_project(loaded).map_err(usage)?;
    redact.warn_once();
    let mut shards = read_shards(&inputs, invocation_dir, loaded, &redact)?;
    for shard in &mut shards {
        shard.events.iter_mut().for_each(|e| redact.event(e));
    }
    if shards.is_empty() {
        return Err(usage(anyhow::anyhow!(
            "no shard results to merge: give each shard's event log (vigil run --json) or JUnit report"
        )));
    }
    let count = shards.len();
    let merged = merge::merge(shards).map_err(usage)?;
    let settings =
        request::history_settings(history.as_deref(), args.no_history, invocation_dir, loaded);
    let outputs = args.outputs.resolve(invocation_dir, None)?;
    let mut reporters = outputs.reports(Some(settings.path.clone()));
    reporters.extend(outputs.event_logs(None).map_err(usage)?);
    replay(&merged, &mut reporters)?;
    if settings.record {
        record(
            &settings,
            &inputs.databases,
            merged.run,
            count,
            invocation_dir,
            &redact,
        )?;
    }
    Ok(merged.exit)
}

fn read_shards(
    inputs: &merge::Inputs,
    invocation_dir: &Path,
    loaded: &Loaded,
    redact: &Redactor,
) -> Result<Vec<ShardRun>, Failure> {
    let mut shards = Vec::new();
    for path in &inputs.logs {
        let log = event_log::read(path).map_err(usage)?;
        if log.truncated {
            eprintln!(
                "vigil: warning: {}: the last line is cut off (the run was killed?)",
                path.display()
            );
        }
        shards.push(ShardRun::from_log(log));
    }
    if !inputs.junit.is_empty() {
        let project_dir = loaded.dir().unwrap_or(invocation_dir);
        let tiers = Tiers::new(&loaded.tiers());
        let diagnoser = super::diagnose::diagnoser(loaded, project_dir)?;
        let options = ImportOptions {
            project_dir,
            tiers: &tiers,
            git: GitInfo::default(),
            diagnoser: Some(&diagnoser),
            redact,
        };
        for path in &inputs.junit {
            let run = history::read_file(path, &options).map_err(usage)?;
            shards.push(ShardRun::from_junit(path.clone(), run));
        }
    }
    Ok(shards)
}

/// The merged events through the reporters, as a run sends them; every reporter finishes
/// even when one fails.
fn replay(merged: &Merged, reporters: &mut [Box<dyn Reporter>]) -> Result<(), Failure> {
    for event in &merged.events {
        for reporter in reporters.iter_mut() {
            reporter.on_event(event);
        }
    }
    session::finish_reporters(reporters).map_err(|e| (ExitCode::InternalError, e.into()))
}

/// The merged run goes into history, after the runs the shards' own databases hold that this
/// one does not: a shared history each CI job restored and added to comes back whole. The
/// shards' own runs are left out: the merged run stands for them.
fn record(
    settings: &HistorySettings,
    databases: &[PathBuf],
    mut run: RunRecord,
    shards: usize,
    invocation_dir: &Path,
    redact: &Redactor,
) -> Result<(), Failure> {
    let mut store = Store::open(&settings.path).map_err(history_error)?;
    for database in databases {
        let summary = history::import_database(&mut store, database, &|r| r.partition.is_none())
            .map_err(history_error)?;
        if summary.imported > 0 {
            println!(
                "vigil merge: {} runs imported from {} ({} already present)",
                summary.imported,
                database.display(),
                summary.already_present
            );
        }
    }
    run.git = GitInfo::detect(invocation_dir);
    run.shards = Some(shards as u32);
    redact.run_record(&mut run);
    store.record(&run).map_err(history_error)?;
    settings
        .retention
        .apply(&mut store)
        .map_err(history_error)?;
    Ok(())
}
