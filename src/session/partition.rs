//! `--partition KIND:M/N`: the whole selection is collected once (as `vigil plan` collects it),
//! dealt into N shards by `plan::partition`, and this machine's run narrowed to shard M. Every
//! CI job computes the same deal from the same selection and history, so the jobs agree
//! without talking to each other.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use serde::Serialize;

use crate::history::{test_medians, Store};
use crate::plan::partition::{self, Assignment, Partition, Unit};

use crate::discover::native::NativeTest;
use crate::discover::Discovery;

use super::preview::{collect, Preview};
use super::{Prepared, RunRequest, SessionError};

/// This machine's shard of the selection.
#[derive(Debug, Clone)]
pub struct Shard {
    pub partition: Partition,
    /// Every collected test id (and collection error) → its shard, 0-based.
    pub assign: BTreeMap<String, usize>,
    pub summary: PartitionSummary,
}

/// What `vigil plan --partition` shows and a shard's run announces.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct PartitionSummary {
    /// `duration:2/4`.
    pub spec: String,
    pub kind: partition::Kind,
    /// 1-based, as on the command line.
    pub index: usize,
    pub total: usize,
    /// Tests in the whole selection.
    pub selected: usize,
    /// How many tests history has a duration for (the rest are expected to take the mean).
    pub measured: usize,
    pub shards: Vec<ShardShare>,
    /// Every test with its shard and expected seconds (JSON only: a bench or a script can
    /// check the deal).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<TestShare>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct ShardShare {
    /// 1-based.
    pub shard: usize,
    pub tests: usize,
    pub expected_secs: f64,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct TestShare {
    pub id: String,
    pub shard: usize,
    pub expected_secs: f64,
    pub measured: bool,
}

impl Shard {
    /// Collects what discovery and preparation found (the whole selection) and deals it.
    pub(super) fn compute(
        request: &RunRequest,
        partition: Partition,
        found: (&Discovery, &Prepared, &[NativeTest]),
        cancel: &AtomicBool,
    ) -> Result<Shard, SessionError> {
        let (discovery, prepared, native) = found;
        let whole = collect(request, discovery, prepared, native, cancel)?;
        Ok(Shard::of_preview(request, &whole, partition))
    }

    /// Deals the tests `whole` collected, by history's durations where it has them.
    pub fn of_preview(request: &RunRequest, whole: &Preview, partition: Partition) -> Shard {
        let ids = selection_ids(whole);
        let units = units(&ids, &whole.groups, &whole.rootdir, &medians(request));
        let deal = partition::assign(partition.kind, partition.total, &units);
        let mut assign = BTreeMap::new();
        for (unit, &shard) in units.iter().zip(&deal.shard_of) {
            for id in &unit.ids {
                assign.insert(id.clone(), shard);
            }
        }
        let summary = summarize(partition, &units, &deal);
        Shard {
            partition,
            assign,
            summary,
        }
    }

    /// Whether a test (or collection error) id is this machine's.
    pub fn owns(&self, id: &str) -> bool {
        self.assign.get(id) == Some(&(self.partition.index - 1))
    }

    /// The test files (absolute) that hold at least one of this shard's tests.
    pub fn files(&self, rootdir: &Path) -> HashSet<PathBuf> {
        self.assign
            .iter()
            .filter(|(_, &shard)| shard == self.partition.index - 1)
            .map(|(id, _)| rootdir.join(id.split("::").next().unwrap_or(id)))
            .collect()
    }

    /// What the pytest plugin needs to keep only this shard's tests (see `_Partition`).
    pub fn plugin_plan(&self) -> serde_json::Value {
        serde_json::json!({
            "index": self.partition.index - 1,
            "total": self.partition.total,
            "assign": self.assign,
        })
    }
}

/// Every test the preview collected, in its order (waves, workers, then native), then the
/// collection and build errors, each once.
fn selection_ids(whole: &Preview) -> Vec<String> {
    let mut seen = HashSet::new();
    let tests = whole.waves.iter().flat_map(|wave| {
        let python = wave.workers.iter().flat_map(|w| w.tests.iter());
        python.chain(wave.native.iter()).map(|t| t.id.clone())
    });
    tests
        .chain(whole.error_ids.iter().cloned())
        .filter(|id| seen.insert(id.clone()))
        .collect()
}

/// One unit per test, except that the tests of files joined by test dependencies stay
/// together (a prerequisite on another machine would leave its dependents skipped).
fn units(
    ids: &[String],
    groups: &[BTreeSet<PathBuf>],
    rootdir: &Path,
    medians: &HashMap<String, f64>,
) -> Vec<Unit> {
    let group_of: HashMap<&PathBuf, usize> = groups
        .iter()
        .enumerate()
        .flat_map(|(g, files)| files.iter().map(move |f| (f, g)))
        .collect();
    let mut units: Vec<Unit> = Vec::new();
    let mut unit_of_group: HashMap<usize, usize> = HashMap::new();
    for id in ids {
        let file = rootdir.join(id.split("::").next().unwrap_or(id));
        let seconds = medians.get(id).copied();
        match group_of.get(&file) {
            Some(&group) if unit_of_group.contains_key(&group) => {
                let unit = &mut units[unit_of_group[&group]];
                unit.ids.push(id.clone());
                unit.seconds.push(seconds);
            }
            found => {
                if let Some(&group) = found {
                    unit_of_group.insert(group, units.len());
                }
                units.push(Unit {
                    ids: vec![id.clone()],
                    seconds: vec![seconds],
                });
            }
        }
    }
    units
}

/// Tests' median durations from history; none when there is no history to read.
fn medians(request: &RunRequest) -> HashMap<String, f64> {
    request
        .history
        .as_ref()
        .filter(|h| h.path.is_file())
        .and_then(|h| Store::open_existing(&h.path).ok())
        .and_then(|store| test_medians(&store).ok())
        .unwrap_or_default()
}

fn summarize(partition: Partition, units: &[Unit], deal: &Assignment) -> PartitionSummary {
    let mut shards: Vec<ShardShare> = (0..partition.total)
        .map(|shard| ShardShare {
            shard: shard + 1,
            tests: 0,
            expected_secs: deal.expected[shard],
        })
        .collect();
    let mut tests = Vec::new();
    let mean = partition::unseen_seconds(units);
    for (unit, &shard) in units.iter().zip(&deal.shard_of) {
        shards[shard].tests += unit.ids.len();
        for (id, seconds) in unit.ids.iter().zip(&unit.seconds) {
            tests.push(TestShare {
                id: id.clone(),
                shard: shard + 1,
                expected_secs: seconds.unwrap_or(mean),
                measured: seconds.is_some(),
            });
        }
    }
    PartitionSummary {
        spec: partition.to_string(),
        kind: partition.kind,
        index: partition.index,
        total: partition.total,
        selected: tests.len(),
        measured: tests.iter().filter(|t| t.measured).count(),
        shards,
        tests,
    }
}
