//! Wall-time measurement: one warm-up round, then N rounds alternating the tools.

use super::tools::{Runner, Tool};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::Path;
use std::process::Stdio;
use std::time::Instant;

pub struct Timings {
    samples: BTreeMap<Tool, Vec<f64>>,
    /// Why a tool has no median (it failed and was dropped).
    pub notes: Vec<String>,
}

impl Timings {
    pub fn median(&self, tool: Tool) -> Option<f64> {
        median(self.samples.get(&tool)?)
    }

    /// Median over rounds of `tool / peer` in the same round: slow drifts of a shared machine
    /// (other load, a growing coverage file) cancel out of each pair.
    pub fn paired_ratio(&self, tool: Tool, peer: Tool) -> Option<f64> {
        let (a, b) = (self.samples.get(&tool)?, self.samples.get(&peer)?);
        let ratios: Vec<f64> = a.iter().zip(b).map(|(x, y)| x / y).collect();
        median(&ratios)
    }
}

/// Round 0 is the untimed warm-up (page cache, .pyc files). Tools alternate within a round
/// (starting with a different one each round) so machine noise hits all of them alike. A tool that fails once is dropped from the suite.
pub fn measure(runner: &Runner, runs: usize, work: &Path) -> Timings {
    let mut live = runner.tools();
    let mut samples: BTreeMap<Tool, Vec<f64>> = live.iter().map(|&t| (t, Vec::new())).collect();
    let mut notes = Vec::new();
    for round in 0..=runs {
        eprintln!(
            "{}: round {round}/{runs}{}",
            runner.suite.name,
            if round == 0 { " (warm-up)" } else { "" }
        );
        // Rotate who goes first each round, so no tool always runs right after another.
        let mut order = live.clone();
        let shift = round % order.len().max(1);
        order.rotate_left(shift);
        for tool in order {
            match time_once(runner, tool, work) {
                Ok(secs) if round > 0 => samples.entry(tool).or_default().push(secs),
                Ok(_) => {}
                Err(err) => {
                    eprintln!("bench: {} on {}: {err:#}", tool.label(), runner.suite.name);
                    notes.push(format!("{} timing dropped: {err:#}", tool.label()));
                    samples.remove(&tool);
                    live.retain(|&t| t != tool);
                }
            }
        }
    }
    Timings { samples, notes }
}

/// One run with output to a log file (cheaper and fairer than a terminal or a pipe).
/// Exit 1 (some tests failed) is fine: real suites may fail a test or two on any machine.
fn time_once(runner: &Runner, tool: Tool, work: &Path) -> Result<f64> {
    let log = work.join(format!("{}.log", tool.slug()));
    let out = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    let mut cmd = runner.command(tool, None).context("tool not available")?;
    cmd.stdout(Stdio::from(out.try_clone()?))
        .stderr(Stdio::from(out));
    let start = Instant::now();
    let status = cmd
        .status()
        .with_context(|| format!("could not start {}", tool.label()))?;
    let secs = start.elapsed().as_secs_f64();
    if !matches!(status.code(), Some(0 | 1)) {
        bail!(
            "exited with {status}; log {}:\n{}",
            log.display(),
            tail(&log, 15)
        );
    }
    Ok(secs)
}

pub(super) fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

pub fn median(samples: &[f64]) -> Option<f64> {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[mid]),
        _ => Some((sorted[mid - 1] + sorted[mid]) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }
}
