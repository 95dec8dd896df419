//! Renders `vigil plan` (waves, workers, tests in order with tier, skips and why) and
//! `vigil list --by-tier` (counts per tier) as plain text.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::events::PlannedTest;
use crate::session::{Preview, PreviewWave};

/// The whole plan: one block per wave, then dependencies, capabilities and a count line.
pub fn render_plan(preview: &Preview) -> String {
    let mut out = String::new();
    let waves = preview.waves.len();
    let _ = writeln!(
        out,
        "vigil plan: profile {}, {} wave{}, -j {}",
        preview.profile,
        waves,
        if waves == 1 { "" } else { "s" },
        preview.jobs
    );
    for (index, wave) in preview.waves.iter().enumerate() {
        render_wave(&mut out, index + 1, wave);
    }
    if !preview.dependencies.is_empty() {
        let _ = writeln!(out, "\ndependencies:");
        for (dependent, prereqs) in &preview.dependencies {
            let list: Vec<&str> = prereqs.iter().map(String::as_str).collect();
            let _ = writeln!(out, "  {dependent} after {}", list.join(", "));
        }
    }
    if !preview.capabilities.is_empty() {
        let _ = writeln!(out, "\ncapabilities:");
        for (key, missing) in &preview.capabilities {
            let state = missing.as_deref().unwrap_or("present");
            let _ = writeln!(out, "  {key}: {state}");
        }
    }
    for error in &preview.errors {
        let _ = writeln!(out, "error: {error}");
    }
    if let Some(partition) = &preview.partition {
        out.push_str(&super::render_partition_table(partition));
    }
    let all: Vec<&PlannedTest> = preview.waves.iter().flat_map(wave_tests).collect();
    let skipped = all.iter().filter(|t| t.skip.is_some()).count();
    let _ = writeln!(
        out,
        "\n{} to run, {skipped} skipped before running",
        all.len() - skipped
    );
    out
}

fn wave_tests(wave: &PreviewWave) -> impl Iterator<Item = &PlannedTest> {
    wave.workers
        .iter()
        .flat_map(|w| w.tests.iter())
        .chain(wave.native.iter())
}

fn render_wave(out: &mut String, number: usize, wave: &PreviewWave) {
    let gates: Vec<String> = wave
        .gates
        .iter()
        .map(|(tier, needs)| format!("{tier} runs only when {} pass", needs.join(", ")))
        .collect();
    let tiers = if wave.filtered {
        wave.tiers.join(", ")
    } else {
        "every tier".to_string()
    };
    let _ = write!(out, "\nwave {number}: {tiers}");
    if !gates.is_empty() {
        let _ = write!(out, " ({})", gates.join("; "));
    }
    out.push('\n');
    for worker in &wave.workers {
        let _ = writeln!(
            out,
            "  worker {} ({} file{}):",
            worker.worker,
            worker.files,
            if worker.files == 1 { "" } else { "s" }
        );
        worker.tests.iter().for_each(|t| render_test(out, t));
    }
    if !wave.native.is_empty() {
        let _ = writeln!(out, "  native (one process per test):");
        wave.native.iter().for_each(|t| render_test(out, t));
    }
}

fn render_test(out: &mut String, test: &PlannedTest) {
    let tier = test.tier.as_deref().unwrap_or("-");
    let _ = write!(out, "    {:<11} {}", tier, test.id);
    if !test.after.is_empty() {
        let _ = write!(out, "  [after {}]", test.after.join(", "));
    }
    if let Some(reason) = &test.skip {
        let _ = write!(out, "  SKIP: {reason}");
    }
    out.push('\n');
}

/// `vigil list --by-tier`: each tier that has tests, in the project's tier order, and a total.
pub fn render_tier_counts(tests: &[&PlannedTest], order: &[String]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for test in tests {
        *counts
            .entry(test.tier.as_deref().unwrap_or("untiered"))
            .or_default() += 1;
    }
    let mut out = String::new();
    for tier in order.iter().filter(|t| counts.contains_key(t.as_str())) {
        let _ = writeln!(out, "{tier:<12} {}", counts[tier.as_str()]);
    }
    let _ = writeln!(out, "{:<12} {}", "total", tests.len());
    out
}
