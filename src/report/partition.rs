//! Renders a partition: the one line a shard's run starts with, and the table of every
//! shard's share that `vigil plan --partition` prints.

use std::fmt::Write;

use crate::session::partition::PartitionSummary;

/// `shard 2/4 (duration): 9 of 31 test files, expected 12.3 s (slowest shard 12.4 s)`.
pub fn render_partition_line(summary: &PartitionSummary) -> String {
    let mine = &summary.shards[summary.index - 1];
    let slowest = summary
        .shards
        .iter()
        .map(|s| s.expected_secs)
        .fold(0.0, f64::max);
    format!(
        "vigil: shard {}/{} ({}): {} of {} test files, expected {} (slowest shard {})",
        summary.index,
        summary.total,
        kind_name(summary),
        mine.files,
        summary.files,
        seconds(mine.expected_secs),
        seconds(slowest)
    )
}

/// Every shard's tests and expected time, this one marked, and the balance (max / mean).
pub fn render_partition_table(summary: &PartitionSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\npartition {}: {} test files ({} split between shards), {} tests with a duration in \
         history",
        summary.spec, summary.files, summary.split_files, summary.known_tests
    );
    for shard in &summary.shards {
        let mark = if shard.shard == summary.index {
            "  <- this one"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  shard {:>2}: {:>5} files, expected {:>9}{mark}",
            shard.shard,
            shard.files,
            seconds(shard.expected_secs)
        );
    }
    let _ = writeln!(out, "  balance: max/mean {:.3}", balance(summary));
    out
}

/// The slowest shard's expected time over the mean shard's: 1.0 is a perfect split.
pub fn balance(summary: &PartitionSummary) -> f64 {
    let times: Vec<f64> = summary.shards.iter().map(|s| s.expected_secs).collect();
    let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
    let max = times.iter().copied().fold(0.0, f64::max);
    if mean > 0.0 {
        max / mean
    } else {
        1.0
    }
}

/// Seconds with the precision that matters at their size: `0.042 s`, `3.21 s`, `412.0 s`.
fn seconds(value: f64) -> String {
    match value {
        v if v >= 100.0 => format!("{v:.0} s"),
        v if v >= 1.0 => format!("{v:.2} s"),
        v => format!("{v:.3} s"),
    }
}

fn kind_name(summary: &PartitionSummary) -> &str {
    summary.spec.split(':').next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::partition::Kind;
    use crate::session::partition::ShardShare;

    fn summary() -> PartitionSummary {
        let share = |shard, files, expected_secs| ShardShare {
            shard,
            files,
            expected_secs,
        };
        PartitionSummary {
            spec: "duration:2/3".into(),
            kind: Kind::Duration,
            index: 2,
            total: 3,
            deal: "0123456789abcdef".into(),
            files: 12,
            split_files: 1,
            known_tests: 340,
            shards: vec![share(1, 5, 41.25), share(2, 4, 40.5), share(3, 4, 0.042)],
            tests: vec![],
        }
    }

    #[test]
    fn the_partition_line_and_table() {
        let s = summary();
        insta::assert_snapshot!(format!(
            "{}\n{}",
            render_partition_line(&s),
            render_partition_table(&s)
        ));
        assert!((balance(&s) - 41.25 / ((41.25 + 40.5 + 0.042) / 3.0)).abs() < 1e-9);
    }
}
