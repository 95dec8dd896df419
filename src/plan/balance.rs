//! Splits test files into one batch per worker so the batches finish together:
//! longest-processing-time-first over each file's expected duration.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::discover::TestFile;

/// The expected cost of a file. File size stands in until history gives real durations; this
/// trait is the seam the history-based estimate plugs into.
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

/// At most `workers` non-empty batches; files keep discovery order inside a batch, so pytest
/// runs them in the order it would have. Files in one of `together` (joined by test
/// dependencies) always land in the same batch.
pub fn balance(
    files: &[TestFile],
    together: &[BTreeSet<PathBuf>],
    workers: usize,
    estimate: &dyn Estimate,
) -> Vec<Vec<PathBuf>> {
    let units = units(files, together);
    let workers = workers.max(1).min(units.len().max(1));
    let mut order: Vec<(usize, f64)> = units
        .iter()
        .enumerate()
        .map(|(i, unit)| (i, unit.iter().map(|&f| estimate.estimate(&files[f])).sum()))
        .collect();
    // Longest first; ties by discovery order, so the plan is deterministic.
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut loads = vec![0.0f64; workers];
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); workers];
    for (unit, cost) in order {
        let lightest = (0..workers)
            .min_by(|&a, &b| loads[a].total_cmp(&loads[b]).then(a.cmp(&b)))
            .unwrap_or(0);
        loads[lightest] += cost;
        members[lightest].extend(&units[unit]);
    }
    members
        .into_iter()
        .filter(|m| !m.is_empty())
        .map(|mut m| {
            m.sort_unstable();
            m.into_iter().map(|i| files[i].path.clone()).collect()
        })
        .collect()
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
    fn longest_first_balances_and_keeps_discovery_order() {
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
        // 70 | 40+30, then 20 to the first of the tied sides (90), then 10 to the other (80).
        assert_eq!(names[0], ["test_1.py", "test_2.py"]);
        assert_eq!(names[1], ["test_0.py", "test_3.py", "test_4.py"]);
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
