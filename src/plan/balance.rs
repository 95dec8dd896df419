//! Splits test files into one batch per worker so the batches finish together:
//! longest-processing-time-first over each file's expected duration.

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
/// runs them in the order it would have.
pub fn balance(files: &[TestFile], workers: usize, estimate: &dyn Estimate) -> Vec<Vec<PathBuf>> {
    let workers = workers.max(1).min(files.len().max(1));
    let mut order: Vec<(usize, f64)> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (i, estimate.estimate(f)))
        .collect();
    // Longest first; ties by discovery order, so the plan is deterministic.
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut loads = vec![0.0f64; workers];
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); workers];
    for (index, cost) in order {
        let lightest = (0..workers)
            .min_by(|&a, &b| loads[a].total_cmp(&loads[b]).then(a.cmp(&b)))
            .unwrap_or(0);
        loads[lightest] += cost;
        members[lightest].push(index);
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
        let batches = balance(&files(&[10, 70, 20, 30, 40]), 2, &Fixed);
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
        assert_eq!(balance(&files(&[5]), 8, &Fixed).len(), 1);
        assert!(balance(&[], 4, &Fixed).is_empty());
    }
}
