//! Splits test files into one batch per worker so the batches finish together: contiguous runs
//! of files in discovery order, cut where the longest batch's expected duration is smallest.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::discover::TestFile;

/// The expected cost of a file: its size ([`FileSizeEstimate`]), or its median duration from
/// history (`history::HistoryEstimate`, which falls back to size for files it has not seen).
pub trait Estimate {
    fn estimate(&self, file: &TestFile) -> f64;
}

/// Cost proportional to the file's size in bytes (plus a constant for import and collection).
pub struct FileSizeEstimate;

impl Estimate for FileSizeEstimate {
    fn estimate(&self, file: &TestFile) -> f64 {
        const PER_FILE_OVERHEAD_BYTES: f64 = 2048.0;
        file.size as f64 + PER_FILE_OVERHEAD_BYTES
    }
}

/// At most `workers` non-empty batches, each a contiguous run of files in discovery order, cut
/// so that the longest batch is as short as it can be (as pytest-split's duration-based chunks
/// are). Contiguous, not longest-first scattered: a file then runs in a process that has seen
/// the files pytest would have run before it, and suites whose tests lean on what an earlier
/// module left behind (an import, a patched module) pass under vigil as under pytest. Files in
/// one of `together` (joined by test dependencies) always land in the same batch.
pub fn balance(
    files: &[TestFile],
    together: &[BTreeSet<PathBuf>],
    workers: usize,
    estimate: &dyn Estimate,
) -> Vec<Vec<PathBuf>> {
    let units = units(files, together);
    let costs: Vec<f64> = units
        .iter()
        .map(|unit| unit.iter().map(|&f| estimate.estimate(&files[f])).sum())
        .collect();
    let workers = workers.max(1).min(units.len().max(1));
    let capacity = smallest_capacity(&costs, workers);
    chunks(&costs, capacity)
        .into_iter()
        .map(|range| {
            let mut members: Vec<usize> = units[range].iter().flatten().copied().collect();
            members.sort_unstable();
            members.into_iter().map(|i| files[i].path.clone()).collect()
        })
        .collect()
}

/// The smallest batch cost that lets `costs`, cut in order, fit in `workers` batches
/// (bisection between the largest single cost and the total).
fn smallest_capacity(costs: &[f64], workers: usize) -> f64 {
    let mut low = costs.iter().copied().fold(0.0, f64::max);
    let mut high = costs.iter().sum::<f64>();
    for _ in 0..64 {
        let middle = (low + high) / 2.0;
        if chunks(costs, middle).len() <= workers {
            high = middle;
        } else {
            low = middle;
        }
    }
    high
}

/// Cuts `costs` in order, starting a new batch whenever the next cost would overflow
/// `capacity`.
fn chunks(costs: &[f64], capacity: f64) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let (mut start, mut load) = (0, 0.0);
    for (i, &cost) in costs.iter().enumerate() {
        if i > start && load + cost > capacity {
            ranges.push(start..i);
            (start, load) = (i, 0.0);
        }
        load += cost;
    }
    if start < costs.len() {
        ranges.push(start..costs.len());
    }
    ranges
}

/// File indices that must stay together: each group present in `files` is one unit, every
/// other file is a unit of its own; units in the order of their first file.
fn units(files: &[TestFile], together: &[BTreeSet<PathBuf>]) -> Vec<Vec<usize>> {
    let mut units: Vec<Vec<usize>> = Vec::new();
    let mut unit_of_group: Vec<Option<usize>> = vec![None; together.len()];
    for (index, file) in files.iter().enumerate() {
        match together.iter().position(|g| g.contains(&file.path)) {
            Some(g) => match unit_of_group[g] {
                Some(u) => units[u].push(index),
                None => {
                    unit_of_group[g] = Some(units.len());
                    units.push(vec![index]);
                }
            },
            None => units.push(vec![index]),
        }
    }
    units
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;
    impl Estimate for Fixed {
        fn estimate(&self, file: &TestFile) -> f64 {
            file.size as f64
        }
    }

    fn files(sizes: &[u64]) -> Vec<TestFile> {
        sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| TestFile {
                path: format!("/t/test_{i}.py").into(),
                size,
            })
            .collect()
    }

    #[test]
    fn contiguous_batches_with_the_shortest_longest_batch() {
        let batches = balance(&files(&[10, 70, 20, 30, 40]), &[], 2, &Fixed);
        assert_eq!(batches.len(), 2);
        let names: Vec<Vec<String>> = batches
            .iter()
            .map(|b| {
                b.iter()
                    .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                    .collect()
            })
            .collect();
        // 10+70 | 20+30+40 (80 | 90) beats 10+70+20 | 30+40 (100 | 70).
        assert_eq!(names[0], ["test_0.py", "test_1.py"]);
        assert_eq!(names[1], ["test_2.py", "test_3.py", "test_4.py"]);
    }

    #[test]
    fn never_more_batches_than_files_and_at_least_one() {
        assert_eq!(balance(&files(&[5]), &[], 8, &Fixed).len(), 1);
        assert!(balance(&[], &[], 4, &Fixed).is_empty());
    }

    #[test]
    fn files_joined_by_dependencies_share_a_batch() {
        let together = [BTreeSet::from([
            PathBuf::from("/t/test_0.py"),
            PathBuf::from("/t/test_3.py"),
        ])];
        let batches = balance(&files(&[50, 50, 50, 50]), &together, 2, &Fixed);
        let with_0 = batches
            .iter()
            .find(|b| b.contains(&PathBuf::from("/t/test_0.py")))
            .unwrap();
        assert!(
            with_0.contains(&PathBuf::from("/t/test_3.py")),
            "{batches:?}"
        );
        assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), 4);
    }
}
