//! `vigil plan`: what a run would do, without running a test: per wave of tiers, each worker's
//! tests in the order they would run, with tier and any skip decided in advance (a missing
//! capability), the native tests, and the test dependencies. Workers only collect.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use serde::Serialize;

use crate::discover::native::NativeTest;
use crate::discover::Discovery;
use crate::events::{Event, PlannedTest};
use crate::execute::{self, Work};

use super::partition::{PartitionSummary, Shard};
use super::{discover_python, selected_native, RunRequest, SessionError};
use super::{execute_options, native_tier, plugin_plan, prepare, wave_work, waves, Prepared};

#[derive(Debug, Serialize)]
pub struct Preview {
    pub profile: String,
    pub jobs: usize,
    pub rootdir: PathBuf,
    /// Every tier the project knows, in order.
    pub tiers: Vec<String>,
    pub waves: Vec<PreviewWave>,
    /// dependent → the tests it runs after (from the static reader).
    pub dependencies: BTreeMap<String, BTreeSet<String>>,
    /// Capability → why it is missing (`null` when present).
    pub capabilities: BTreeMap<String, Option<String>>,
    /// Files pytest could not collect, native binaries that could not be built.
    pub errors: Vec<String>,
    /// The ids of those errors, as their results carry them.
    #[serde(skip)]
    pub error_ids: Vec<String>,
    /// With `--partition`: how the selection is dealt, and this shard's share.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<PartitionSummary>,
}

#[derive(Debug, Serialize)]
pub struct PreviewWave {
    pub tiers: Vec<String>,
    /// False when the wave runs whatever pytest selects, every tier alike.
    pub filtered: bool,
    /// Gates of this wave's tiers: they run only when these tiers pass.
    pub gates: BTreeMap<String, Vec<String>>,
    pub workers: Vec<PreviewWorker>,
    pub native: Vec<PlannedTest>,
}

#[derive(Debug, Serialize)]
pub struct PreviewWorker {
    pub worker: usize,
    pub files: usize,
    pub tests: Vec<PlannedTest>,
}

pub fn preview(request: &RunRequest, cancel: &AtomicBool) -> Result<Preview, SessionError> {
    let (discovery, _) = discover_python(request)?;
    let rootdir = discovery.config.rootdir.clone();
    let prepared = prepare::prepare(request, &discovery.files, &rootdir)?;
    let native = selected_native(request, &prepared.native);
    let mut preview = collect(request, &discovery, &prepared, &native, cancel)?;
    if let Some(partition) = request.partition {
        let groups = &prepared.groups;
        let shard = Shard::compute(
            request,
            partition,
            &discovery.files,
            groups,
            &native,
            &rootdir,
        );
        narrow(&mut preview, &shard);
    }
    Ok(preview)
}

/// The plan of what discovery and preparation found: workers collect, nothing runs.
fn collect(
    request: &RunRequest,
    discovery: &Discovery,
    prepared: &Prepared,
    native: &[NativeTest],
    cancel: &AtomicBool,
) -> Result<Preview, SessionError> {
    let rootdir = discovery.config.rootdir.clone();
    let estimate = super::history::estimate(request, &rootdir, &discovery.files);
    let mut errors: Vec<String> = prepared
        .native_errors
        .iter()
        .map(|e| format!("{}: {}", e.id, first_message(e)))
        .collect();
    let mut error_ids: Vec<String> = prepared
        .native_errors
        .iter()
        .map(|e| e.id.clone())
        .collect();
    let mut preview_waves = Vec::new();
    for wave in waves(&request.planning)? {
        let work = wave_work(
            request,
            discovery,
            prepared,
            native,
            &wave,
            &BTreeMap::new(),
            &*estimate,
        );
        let plan = plugin_plan(request, prepared, &wave, &BTreeMap::new());
        let mut options = execute_options(request, rootdir.clone(), plan);
        options
            .pytest_args
            .extend(["--collect-only".into(), "-q".into()]);
        let all_files: Vec<PathBuf> = discovery.files.iter().map(|f| f.path.clone()).collect();
        let mut workers: Vec<PreviewWorker> = work
            .batches
            .iter()
            .enumerate()
            .map(|(worker, files)| PreviewWorker {
                worker,
                files: files.len(),
                tests: vec![],
            })
            .collect();
        let python = Work {
            batches: &work.batches,
            all_files: &all_files,
            native: &[],
        };
        if !work.batches.is_empty() {
            let done = execute::execute(&python, &options, cancel, &mut |event| match event {
                Event::Collected { worker, tests } => {
                    if let Some(w) = workers.get_mut(worker) {
                        w.tests.extend(tests);
                    }
                }
                Event::TestFinished(result) => {
                    errors.push(format!("{}: {}", result.id, first_message(&result)));
                    error_ids.push(result.id);
                }
                _ => {}
            })?;
            if let Some(message) = done.usage_error.or(done.internal_error) {
                return Err(SessionError::Plan(message));
            }
        }
        preview_waves.push(PreviewWave {
            gates: wave
                .tiers
                .iter()
                .filter_map(|t| {
                    request
                        .planning
                        .gates
                        .get(t)
                        .map(|g| (t.clone(), g.clone()))
                })
                .collect(),
            native: work
                .native
                .iter()
                .map(|t| PlannedTest {
                    id: t.id.clone(),
                    tier: Some(native_tier(&request.planning.tiers, t).to_string()),
                    skip: (t.ignored && !options.include_ignored).then(|| "ignored".to_string()),
                    after: vec![],
                })
                .collect(),
            filtered: wave.filtered,
            tiers: wave.tiers,
            workers,
        });
    }
    Ok(Preview {
        profile: request.planning.profile.clone(),
        jobs: request.jobs,
        rootdir,
        tiers: request
            .planning
            .tiers
            .names()
            .iter()
            .map(|s| s.to_string())
            .collect(),
        waves: preview_waves,
        dependencies: prepared.graph.edges.clone(),
        capabilities: prepared
            .probes
            .iter()
            .map(|(req, missing)| (req.key(), missing.map(str::to_string)))
            .collect(),
        errors,
        error_ids,
        partition: None,
    })
}

/// `vigil plan --partition`: the plan of this shard alone, with every shard's share.
fn narrow(preview: &mut Preview, shard: &Shard) {
    for wave in &mut preview.waves {
        for worker in &mut wave.workers {
            worker.tests.retain(|t| shard.owns(&t.id));
        }
        wave.workers.retain(|w| !w.tests.is_empty());
        wave.native.retain(|t| shard.owns(&t.id));
    }
    // `errors` and `error_ids` are parallel: the message and the id of each error.
    let errors = std::mem::take(&mut preview.errors);
    let ids = std::mem::take(&mut preview.error_ids);
    (preview.errors, preview.error_ids) = errors
        .into_iter()
        .zip(ids)
        .filter(|(_, id)| shard.owns(id))
        .unzip();
    preview.partition = Some(shard.summary.clone());
}

fn first_message(result: &crate::events::TestResult) -> String {
    result
        .problems
        .first()
        .map(|p| p.message.clone())
        .or_else(|| result.skip.as_ref().map(|s| s.message.clone()))
        .unwrap_or_default()
}
