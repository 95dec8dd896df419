//! `--partition KIND:M/N`: the selection dealt into N shards from what discovery found and
//! what history remembers, without collecting anything first, and this machine's run narrowed
//! to shard M. Every CI job computes the same deal from the same files and history, so the
//! jobs agree without talking to each other.
//!
//! Test files are dealt whole where balance allows: a pytest worker imports only its own
//! files, so a file dealt whole is collected on one machine only. A file too large for a
//! balanced deal is split into the tests history knows of it (its new tests go with the
//! first of them); native tests are dealt one by one (each is its own process anyway).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::discover::native::NativeTest;
use crate::discover::TestFile;
use crate::history::{test_medians, Store};
use crate::plan::partition::{self, hash_shard, Assignment, Kind, Partition, Unit};
use crate::plan::{Estimate, FileSizeEstimate};

use super::prepare::relative;
use super::RunRequest;

/// The deal, as every machine computes it, and this machine's part of it.
#[derive(Debug, Clone)]
pub struct Shard {
    pub partition: Partition,
    /// Tests dealt one by one (of split files; native tests) → shard, 0-based.
    pub tests: BTreeMap<String, usize>,
    /// Files (relative to the rootdir) → the shard of their tests not dealt one by one.
    pub files: BTreeMap<String, usize>,
    pub summary: PartitionSummary,
}

/// What `vigil plan --partition` shows and a shard's run announces.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct PartitionSummary {
    /// `duration:2/4`.
    pub spec: String,
    pub kind: Kind,
    /// 1-based, as on the command line.
    pub index: usize,
    pub total: usize,
    /// A digest of the whole deal: shards of one run must agree on it, or some tests may have
    /// run twice or not at all (the jobs read different histories or files).
    #[serde(default)]
    pub deal: String,
    /// Test files in the selection, and how many of them were split between shards.
    pub files: usize,
    pub split_files: usize,
    /// Tests history knows in the selection (and native tests).
    pub known_tests: usize,
    pub shards: Vec<ShardShare>,
    /// Every known test (or unknown file) with its shard and expected seconds (JSON only:
    /// a bench or a script can check the deal).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<TestShare>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct ShardShare {
    /// 1-based.
    pub shard: usize,
    /// Files it runs (a split file counts on every shard that runs some of it).
    pub files: usize,
    pub expected_secs: f64,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct TestShare {
    pub id: String,
    pub shard: usize,
    pub expected_secs: f64,
    /// False for a file history has no tests of (estimated from its size).
    pub measured: bool,
}

/// What the deal is made of.
struct Found<'a> {
    files: Vec<String>,
    sizes: HashMap<&'a str, u64>,
    groups: Vec<BTreeSet<String>>,
    native: Vec<String>,
    medians: HashMap<String, f64>,
}

impl Shard {
    /// Deals the discovered files (`groups`: files joined by test dependencies, which stay
    /// together) and native tests, by history's per-test durations.
    pub fn compute(
        request: &RunRequest,
        partition: Partition,
        files: &[TestFile],
        groups: &[BTreeSet<PathBuf>],
        native: &[NativeTest],
        rootdir: &Path,
    ) -> Shard {
        let rel = |p: &Path| relative(p, rootdir);
        let rel_files: Vec<String> = files.iter().map(|f| rel(&f.path)).collect();
        let found = Found {
            sizes: rel_files
                .iter()
                .zip(files)
                .map(|(r, f)| (r.as_str(), FileSizeEstimate.estimate(f) as u64))
                .collect(),
            files: rel_files.clone(),
            groups: groups
                .iter()
                .map(|g| g.iter().map(|p| rel(p)).collect())
                .collect(),
            native: native.iter().map(|t| t.id.clone()).collect(),
            medians: medians(request),
        };
        deal(&found, partition)
    }

    /// The shard (0-based) of a test or collection error id.
    pub fn shard_of(&self, id: &str) -> usize {
        if let Some(&shard) = self.tests.get(id) {
            return shard;
        }
        match self.files.get(file_part(id)) {
            Some(&shard) => shard,
            None => hash_shard(id, self.partition.total),
        }
    }

    /// Whether a test (or collection error) id is this machine's.
    pub fn owns(&self, id: &str) -> bool {
        self.shard_of(id) == self.partition.index - 1
    }

    /// The test files (absolute) this machine runs: those dealt to it whole, and split ones
    /// it has tests of.
    pub fn run_files(&self, rootdir: &Path) -> BTreeSet<PathBuf> {
        let mine = self.partition.index - 1;
        let whole = self
            .files
            .iter()
            .filter(|(_, &s)| s == mine)
            .map(|(f, _)| f);
        let split = self
            .tests
            .iter()
            .filter(|(_, &s)| s == mine)
            .map(|(id, _)| file_part(id))
            .filter(|f| self.files.contains_key(*f));
        whole
            .map(String::as_str)
            .chain(split)
            // Ids hold a non-UTF-8 file name lossily: the file to run is the one on disk.
            .map(|f| crate::discover::lossy_path::on_disk(&rootdir.join(f)))
            .collect()
    }

    /// What the pytest plugin needs to keep only this shard's tests (see `_Partition`).
    pub fn plugin_plan(&self) -> serde_json::Value {
        let python: BTreeMap<&String, &usize> = self
            .tests
            .iter()
            .filter(|(id, _)| self.files.contains_key(file_part(id)))
            .collect();
        serde_json::json!({
            "index": self.partition.index - 1,
            "total": self.partition.total,
            "tests": python,
            "files": self.files,
        })
    }
}

fn file_part(id: &str) -> &str {
    id.split("::").next().unwrap_or(id)
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

/// How far from even a `duration` deal may be before more files are split.
const GOOD_ENOUGH: f64 = 1.02;
/// Rounds of halving the largest whole file allowed.
const SPLIT_ROUNDS: usize = 12;

fn deal(found: &Found, partition: Partition) -> Shard {
    let costs = FileCosts::new(found);
    let mut limit = f64::INFINITY;
    let mut rounds = 0;
    loop {
        let pieces = pieces(found, &costs, limit);
        let units: Vec<Unit> = pieces.iter().map(|p| p.unit.clone()).collect();
        let deal = partition::assign(partition.kind, partition.total, &units);
        let largest = largest_whole(&pieces);
        let done = partition.kind != Kind::Duration
            || near_best(&deal, &pieces)
            || rounds >= SPLIT_ROUNDS
            || largest == 0.0;
        if done {
            return shard(partition, found, &costs, &pieces, &deal);
        }
        limit = largest / 2.0;
        rounds += 1;
    }
}

/// Whether the slowest shard is within [`GOOD_ENOUGH`] of the best any deal could do: the
/// mean shard, or the largest piece that cannot be split (one long test), whichever is more.
/// Past that, splitting more files only costs collections.
fn near_best(deal: &Assignment, pieces: &[Piece]) -> bool {
    let expected = &deal.expected;
    let mean = expected.iter().sum::<f64>() / expected.len().max(1) as f64;
    let fixed = pieces
        .iter()
        .zip(&deal.unit_seconds)
        .filter(|(p, _)| !p.splittable)
        .map(|(_, &s)| s)
        .fold(0.0, f64::max);
    let max = expected.iter().copied().fold(0.0, f64::max);
    max <= mean.max(fixed) * GOOD_ENOUGH
}

/// Each file's expected seconds: the sum of its known tests' medians, or, for a file history
/// has no test of, its size at the seconds per byte of the files it has (1 s a file when it
/// has none).
struct FileCosts {
    known: HashMap<String, Vec<(String, f64)>>,
    cost: HashMap<String, f64>,
}

impl FileCosts {
    fn new(found: &Found) -> FileCosts {
        let mut known: HashMap<String, Vec<(String, f64)>> = HashMap::new();
        let selected: BTreeSet<&str> = found.files.iter().map(String::as_str).collect();
        for (id, &seconds) in &found.medians {
            if selected.contains(file_part(id)) {
                known
                    .entry(file_part(id).to_string())
                    .or_default()
                    .push((id.clone(), seconds));
            }
        }
        for tests in known.values_mut() {
            tests.sort_by(|a, b| a.0.cmp(&b.0));
        }
        let sum = |f: &str| known.get(f).map(|t| t.iter().map(|(_, s)| s).sum::<f64>());
        let ratios: Vec<f64> = found
            .files
            .iter()
            .filter_map(|f| Some(sum(f)? / *found.sizes.get(f.as_str())?.max(&1) as f64))
            .collect();
        let per_byte =
            (!ratios.is_empty()).then(|| ratios.iter().sum::<f64>() / ratios.len() as f64);
        let cost = found
            .files
            .iter()
            .map(|f| {
                let size = *found.sizes.get(f.as_str()).unwrap_or(&0) as f64;
                let estimate = per_byte.map_or(1.0, |r| size * r);
                (f.clone(), sum(f).unwrap_or(estimate))
            })
            .collect();
        FileCosts { known, cost }
    }
}

/// A unit of the deal and what it stands for.
struct Piece {
    unit: Unit,
    what: Holds,
    /// A whole file history knows two tests of or more: it could be split further.
    splittable: bool,
}

enum Holds {
    /// Files dealt whole (several when joined by test dependencies).
    Files(Vec<String>),
    /// A test of a split file, dealt on its own.
    SplitTest,
    /// A native test (each is its own process, so always dealt on its own).
    Native,
}

/// Files dealt whole unless they cost more than `limit` and history knows two tests of them
/// or more (files joined by dependencies are never split); native tests one by one.
fn pieces(found: &Found, costs: &FileCosts, limit: f64) -> Vec<Piece> {
    let grouped: HashMap<&str, usize> = found
        .groups
        .iter()
        .enumerate()
        .flat_map(|(g, files)| files.iter().map(move |f| (f.as_str(), g)))
        .collect();
    let mut pieces = Vec::new();
    let mut groups_done = BTreeSet::new();
    for file in &found.files {
        if let Some(&group) = grouped.get(file.as_str()) {
            if groups_done.insert(group) {
                let files: Vec<String> = found.groups[group].iter().cloned().collect();
                let seconds = files.iter().map(|f| costs.cost.get(f).copied()).collect();
                let unit = Unit {
                    ids: files.clone(),
                    seconds,
                };
                pieces.push(Piece {
                    unit,
                    what: Holds::Files(files),
                    splittable: false,
                });
            }
            continue;
        }
        let cost = costs.cost[file];
        let splittable = costs.known.get(file).is_some_and(|t| t.len() > 1);
        match costs.known.get(file).filter(|_| splittable && cost > limit) {
            Some(tests) => pieces.extend(
                tests
                    .iter()
                    .map(|(id, s)| test_piece(id, Some(*s), Holds::SplitTest)),
            ),
            None => pieces.push(Piece {
                unit: Unit {
                    ids: vec![file.clone()],
                    seconds: vec![Some(cost)],
                },
                what: Holds::Files(vec![file.clone()]),
                splittable,
            }),
        }
    }
    let native = found.native.iter();
    pieces.extend(native.map(|id| test_piece(id, found.medians.get(id).copied(), Holds::Native)));
    pieces
}

fn test_piece(id: &str, seconds: Option<f64>, what: Holds) -> Piece {
    Piece {
        unit: Unit {
            ids: vec![id.to_string()],
            seconds: vec![seconds],
        },
        what,
        splittable: false,
    }
}

/// The cost of the largest file still dealt whole that could be split.
fn largest_whole(pieces: &[Piece]) -> f64 {
    pieces
        .iter()
        .filter(|p| p.splittable)
        .map(|p| p.unit.seconds[0].unwrap_or(0.0))
        .fold(0.0, f64::max)
}

fn shard(
    partition: Partition,
    found: &Found,
    costs: &FileCosts,
    pieces: &[Piece],
    deal: &Assignment,
) -> Shard {
    let mut tests = BTreeMap::new();
    let mut files = BTreeMap::new();
    for (piece, &shard) in pieces.iter().zip(&deal.shard_of) {
        let id = &piece.unit.ids[0];
        match &piece.what {
            Holds::Files(list) => list.iter().for_each(|f| {
                files.insert(f.clone(), shard);
            }),
            Holds::SplitTest => {
                tests.insert(id.clone(), shard);
                // A split file's tests history does not know go with its first known test.
                files.entry(file_part(id).to_string()).or_insert(shard);
            }
            Holds::Native => {
                tests.insert(id.clone(), shard);
            }
        }
    }
    let summary = summarize(
        partition,
        digest(&files, &tests),
        found,
        costs,
        pieces,
        deal,
    );
    Shard {
        partition,
        tests,
        files,
        summary,
    }
}

fn summarize(
    partition: Partition,
    deal_digest: String,
    found: &Found,
    costs: &FileCosts,
    pieces: &[Piece],
    deal: &Assignment,
) -> PartitionSummary {
    let total = partition.total;
    let mut run_files: Vec<BTreeSet<&str>> = vec![BTreeSet::new(); total];
    let mut tests = Vec::new();
    let mut split = BTreeSet::new();
    for (index, (piece, &s)) in pieces.iter().zip(&deal.shard_of).enumerate() {
        match &piece.what {
            Holds::Files(list) => {
                for file in list {
                    run_files[s].insert(file);
                    tests.extend(file_tests(costs, file, s));
                }
            }
            Holds::SplitTest | Holds::Native => {
                let id = &piece.unit.ids[0];
                if matches!(piece.what, Holds::SplitTest) {
                    run_files[s].insert(file_part(id));
                    split.insert(file_part(id));
                }
                let seconds = piece.unit.seconds[0];
                tests.push(TestShare {
                    id: id.clone(),
                    shard: s + 1,
                    expected_secs: deal.unit_seconds[index],
                    measured: seconds.is_some(),
                });
            }
        }
    }
    PartitionSummary {
        spec: partition.to_string(),
        kind: partition.kind,
        index: partition.index,
        total,
        deal: deal_digest,
        files: found.files.len(),
        split_files: split.len(),
        known_tests: tests.iter().filter(|t| t.measured).count(),
        shards: (0..total)
            .map(|s| ShardShare {
                shard: s + 1,
                files: run_files[s].len(),
                expected_secs: deal.expected[s],
            })
            .collect(),
        tests,
    }
}

/// The first 16 hex digits of a SHA-256 over every file's and test's shard, in order.
fn digest(files: &BTreeMap<String, usize>, tests: &BTreeMap<String, usize>) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for (name, s) in files.iter().chain(tests) {
        hasher.update(name.as_bytes());
        hasher.update(b"\0");
        hasher.update(s.to_le_bytes());
    }
    hasher.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The known tests of a file dealt whole, or the file itself (with its size-based estimate)
/// when history knows none.
fn file_tests(costs: &FileCosts, file: &str, shard: usize) -> Vec<TestShare> {
    let share = |id: &str, expected_secs: f64, measured: bool| TestShare {
        id: id.to_string(),
        shard: shard + 1,
        expected_secs,
        measured,
    };
    match costs.known.get(file) {
        Some(known) => known.iter().map(|(id, s)| share(id, *s, true)).collect(),
        None => vec![share(file, costs.cost[file], false)],
    }
}

#[cfg(test)]
#[path = "partition_tests.rs"]
mod tests;
