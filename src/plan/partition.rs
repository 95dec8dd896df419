//! Splitting one selection over N CI machines (`--partition KIND:M/N`): which shard each unit
//! of tests runs on. Pure: the same units, kind and durations give the same shards on every
//! machine, which is what lets N independent CI jobs agree without talking to each other.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// How tests are dealt out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// By a hash of the test id: a test stays on its shard whatever else is selected.
    Hash,
    /// Round-robin in selection order (nextest's `count`).
    Slice,
    /// Longest-processing-time-first over history's median durations.
    Duration,
}

/// `KIND:M/N`: this machine runs shard M (1-based) of N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    pub kind: Kind,
    pub index: usize,
    pub total: usize,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PartitionError {
    #[error("--partition takes KIND:M/N (hash, slice or duration, e.g. duration:1/4), not {0:?}")]
    Form(String),
    #[error("--partition kind must be hash, slice or duration, not {0:?}")]
    Kind(String),
    #[error("--partition {0:?}: M and N must be whole numbers with 1 <= M <= N")]
    Range(String),
}

impl FromStr for Partition {
    type Err = PartitionError;

    fn from_str(text: &str) -> Result<Partition, PartitionError> {
        let form = || PartitionError::Form(text.to_string());
        let (kind, shard) = text.split_once(':').ok_or_else(form)?;
        let (index, total) = shard.split_once('/').ok_or_else(form)?;
        let kind = match kind {
            "hash" => Kind::Hash,
            "slice" | "count" => Kind::Slice,
            "duration" => Kind::Duration,
            other => return Err(PartitionError::Kind(other.to_string())),
        };
        let range = || PartitionError::Range(text.to_string());
        let index: usize = index.trim().parse().map_err(|_| range())?;
        let total: usize = total.trim().parse().map_err(|_| range())?;
        if index == 0 || index > total {
            return Err(range());
        }
        Ok(Partition { kind, index, total })
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let kind = match self.kind {
            Kind::Hash => "hash",
            Kind::Slice => "slice",
            Kind::Duration => "duration",
        };
        write!(f, "{kind}:{}/{}", self.index, self.total)
    }
}

/// Tests that must run on one machine (joined by test dependencies), or a single test.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// In selection order; the first names the unit for hashing.
    pub ids: Vec<String>,
    /// Each test's median seconds from history, `None` when history has not seen it.
    pub seconds: Vec<Option<f64>>,
}

/// Where every unit goes, and what each shard is expected to cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// Per unit, its shard (0-based).
    pub shard_of: Vec<usize>,
    /// Per shard, the sum of its tests' expected seconds.
    pub expected: Vec<f64>,
    /// Per unit, its expected seconds (history's median, or the mean for unseen tests).
    pub unit_seconds: Vec<f64>,
}

/// Deals `units` into `total` shards. Tests history has not seen are expected to take the mean
/// of those it has (1 s each when it has none, so `duration` then balances counts).
pub fn assign(kind: Kind, total: usize, units: &[Unit]) -> Assignment {
    let total = total.max(1);
    let unit_seconds = expected_seconds(units);
    let shard_of: Vec<usize> = match kind {
        Kind::Hash => units.iter().map(|u| hash_shard(&u.ids[0], total)).collect(),
        Kind::Slice => (0..units.len()).map(|i| i % total).collect(),
        Kind::Duration => longest_first(&unit_seconds, total),
    };
    let mut expected = vec![0.0; total];
    for (unit, &shard) in shard_of.iter().enumerate() {
        expected[shard] += unit_seconds[unit];
    }
    Assignment {
        shard_of,
        expected,
        unit_seconds,
    }
}

/// The shard of a test id by hash: the first 8 bytes of its SHA-256, big-endian, modulo
/// `total`. The pytest plugin computes the same for a test the plan did not know of.
pub fn hash_shard(id: &str, total: usize) -> usize {
    let digest = Sha256::digest(id.as_bytes());
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(head) % total.max(1) as u64) as usize
}

/// What a test history has not seen is expected to take: the mean of those it has seen, or
/// 1 s when it has seen none.
pub fn unseen_seconds(units: &[Unit]) -> f64 {
    let known: Vec<f64> = units
        .iter()
        .flat_map(|u| u.seconds.iter().flatten())
        .copied()
        .collect();
    if known.is_empty() {
        1.0
    } else {
        known.iter().sum::<f64>() / known.len() as f64
    }
}

fn expected_seconds(units: &[Unit]) -> Vec<f64> {
    let mean = unseen_seconds(units);
    units
        .iter()
        .map(|u| u.seconds.iter().map(|s| s.unwrap_or(mean)).sum())
        .collect()
}

/// Longest-processing-time-first: the costliest unit goes to the least loaded shard. Ties
/// break by selection order and by lowest shard, so the result is the same on every machine.
fn longest_first(seconds: &[f64], total: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..seconds.len()).collect();
    order.sort_by(|&a, &b| seconds[b].total_cmp(&seconds[a]).then(a.cmp(&b)));
    let mut heap: BinaryHeap<Load> = (0..total)
        .map(|shard| Load {
            seconds: 0.0,
            shard,
        })
        .collect();
    let mut shard_of = vec![0; seconds.len()];
    for unit in order {
        let Some(mut least) = heap.pop() else { break };
        shard_of[unit] = least.shard;
        least.seconds += seconds[unit];
        heap.push(least);
    }
    shard_of
}

/// A shard's load, ordered so the max-heap pops the least loaded (lowest index on a tie).
#[derive(Debug, PartialEq)]
struct Load {
    seconds: f64,
    shard: usize,
}

impl Eq for Load {}

impl Ord for Load {
    fn cmp(&self, other: &Load) -> Ordering {
        other
            .seconds
            .total_cmp(&self.seconds)
            .then(other.shard.cmp(&self.shard))
    }
}

impl PartialOrd for Load {
    fn partial_cmp(&self, other: &Load) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn units(seconds: &[Option<f64>]) -> Vec<Unit> {
        seconds
            .iter()
            .enumerate()
            .map(|(i, s)| Unit {
                ids: vec![format!("tests/test_{}.py::test_{i}", i % 7)],
                seconds: vec![*s],
            })
            .collect()
    }

    #[test]
    fn the_spec_is_read_and_bad_ones_say_why() {
        let p: Partition = "duration:2/4".parse().unwrap();
        assert_eq!((p.kind, p.index, p.total), (Kind::Duration, 2, 4));
        assert_eq!(p.to_string(), "duration:2/4");
        assert_eq!("count:1/2".parse::<Partition>().unwrap().kind, Kind::Slice);
        assert!(matches!(
            "hash".parse::<Partition>(),
            Err(PartitionError::Form(_))
        ));
        assert!(matches!(
            "size:1/2".parse::<Partition>(),
            Err(PartitionError::Kind(_))
        ));
        for bad in ["hash:0/2", "hash:3/2", "hash:a/2", "hash:1/0"] {
            assert!(
                matches!(bad.parse::<Partition>(), Err(PartitionError::Range(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn duration_puts_the_longest_first_on_the_emptiest_shard() {
        let all = units(&[Some(1.0), Some(5.0), Some(3.0), Some(3.0), Some(2.0)]);
        let a = assign(Kind::Duration, 2, &all);
        // 5 → shard 0; 3 → 1; 3 → 1 (3 < 5); 2 → 0 (5 < 6); 1 → 1 (6 < 7).
        assert_eq!(a.shard_of, vec![1, 0, 1, 1, 0]);
        assert_eq!(a.expected, vec![7.0, 7.0]);
    }

    #[test]
    fn unseen_tests_cost_the_mean_and_no_history_balances_counts() {
        let a = assign(Kind::Duration, 2, &units(&[Some(4.0), None, Some(2.0)]));
        assert_eq!(a.unit_seconds, vec![4.0, 3.0, 2.0]);
        let blind = assign(Kind::Duration, 3, &units(&[None; 7]));
        let mut counts = [0; 3];
        blind.shard_of.iter().for_each(|&s| counts[s] += 1);
        assert_eq!(counts, [3, 2, 2]);
    }

    #[test]
    fn hash_keeps_a_test_on_its_shard_whatever_else_is_selected() {
        let all = units(&[None; 40]);
        let full = assign(Kind::Hash, 4, &all);
        let some: Vec<Unit> = all.iter().step_by(3).cloned().collect();
        let part = assign(Kind::Hash, 4, &some);
        for (k, unit) in some.iter().enumerate() {
            let i = all.iter().position(|u| u == unit).unwrap();
            assert_eq!(part.shard_of[k], full.shard_of[i]);
        }
        // Pinned: the plugin's Python computes the same value (see vigil_plugin.py).
        // Values from Python's int.from_bytes(sha256(id).digest()[:8], "big") % n.
        assert_eq!(hash_shard("tests/test_a.py::test_one", 1000), 918);
        assert_eq!(hash_shard("native:c::b::t", 1000), 522);
        assert_eq!(hash_shard("native:c::b::t", 7), 4);
    }

    fn arb_units() -> impl Strategy<Value = Vec<Unit>> {
        prop::collection::vec(prop::option::of(0.0f64..30.0), 0..200).prop_map(|s| units(&s))
    }

    proptest! {
        /// Every unit lands on exactly one shard in range, so the N shards are disjoint and
        /// together are the selection; the expected times add up to the whole.
        #[test]
        fn shards_are_disjoint_and_cover_the_selection(
            all in arb_units(),
            total in 1usize..12,
            kind in prop_oneof![Just(Kind::Hash), Just(Kind::Slice), Just(Kind::Duration)],
        ) {
            let a = assign(kind, total, &all);
            prop_assert_eq!(a.shard_of.len(), all.len());
            prop_assert!(a.shard_of.iter().all(|&s| s < total));
            let mut seen = std::collections::BTreeMap::new();
            for shard in 0..total {
                for (unit, _) in a.shard_of.iter().enumerate().filter(|(_, &s)| s == shard) {
                    prop_assert!(seen.insert(unit, shard).is_none());
                }
            }
            prop_assert_eq!(seen.len(), all.len());
            let sum: f64 = a.expected.iter().sum();
            let whole: f64 = a.unit_seconds.iter().sum();
            prop_assert!((sum - whole).abs() <= 1e-6 * whole.max(1.0));
            prop_assert_eq!(assign(kind, total, &all), a);
        }

        /// LPT's bound: no shard exceeds the mean by more than the largest unit.
        #[test]
        fn duration_shards_are_within_one_unit_of_the_mean(all in arb_units(), total in 1usize..12) {
            let a = assign(Kind::Duration, total, &all);
            let mean = a.expected.iter().sum::<f64>() / total as f64;
            let largest = a.unit_seconds.iter().copied().fold(0.0, f64::max);
            let max = a.expected.iter().copied().fold(0.0, f64::max);
            prop_assert!(max <= mean + largest + 1e-9);
        }
    }
}
