//! `vigil metrics` as OpenMetrics text (https://openmetrics.io), the format Prometheus scrapes
//! and node_exporter's textfile collector reads from `*.prom` files.
//!
//! Every family is a gauge without sample timestamps, and no HELP text holds a quote or a
//! backslash: that keeps the text readable by the older Prometheus text format (0.0.4) too,
//! which is what the textfile collector parses (it takes `# UNIT` and `# EOF` for comments).

use std::fmt::Write as _;

use crate::history::{Metrics, WindowTier};

/// One metric family: name, OpenMetrics unit (the name ends with it), help.
struct Family {
    name: &'static str,
    unit: Option<&'static str>,
    help: &'static str,
}

const TESTS: Family = Family {
    name: "vigil_tests",
    unit: None,
    help: "Tests of the latest run, by final outcome and tier.",
};
const TEST_DURATION: Family = Family {
    name: "vigil_test_duration_seconds",
    unit: Some("seconds"),
    help: "Sum of the final-attempt test durations of each tier in the latest run.",
};
const RUN_DURATION: Family = Family {
    name: "vigil_run_duration_seconds",
    unit: Some("seconds"),
    help: "Wall time of the latest run.",
};
const RUN_EXIT: Family = Family {
    name: "vigil_run_exit_code",
    unit: None,
    help: "Exit code of the latest run: 0 passed, 1 tests failed, 2 interrupted, \
           3 internal error, 4 usage error, 5 no tests collected.",
};
const RUN_END: Family = Family {
    name: "vigil_run_end_timestamp_seconds",
    unit: Some("seconds"),
    help: "When the latest run ended, in seconds since the Unix epoch.",
};
const RUN_ID: Family = Family {
    name: "vigil_run_id",
    unit: None,
    help: "Id of the latest run in the history database (vigil history lists it).",
};
const WINDOW_RUNS: Family = Family {
    name: "vigil_window_runs",
    unit: None,
    help: "Runs in the window the flaky counts and pass ratios look at.",
};
const FLAKY: Family = Family {
    name: "vigil_flaky_tests",
    unit: None,
    help: "Flaky tests of each tier over the window, as vigil trends counts them.",
};
const PASS_RATIO: Family = Family {
    name: "vigil_pass_ratio",
    unit: Some("ratio"),
    help: "Passed tests over tests that passed or failed, per tier, over the window.",
};

type Sample<'a> = (Vec<(&'static str, &'a str)>, f64);

/// The exposition: every family with its samples, each labelled with the branch, `# EOF` last.
pub fn render_openmetrics(metrics: &Metrics) -> String {
    let branch = metrics.branch.as_deref().unwrap_or("");
    let run = &metrics.latest;
    let one = |value: f64| vec![(vec![("branch", branch)], value)];
    let per_tier = |value: fn(&WindowTier) -> Option<f64>| -> Vec<Sample> {
        let tiers = metrics.window_tiers.iter();
        tiers
            .filter_map(|t| {
                Some((
                    vec![("branch", branch), ("tier", t.tier.as_str())],
                    value(t)?,
                ))
            })
            .collect()
    };
    let durations = metrics
        .latest_tiers
        .iter()
        .map(|(tier, t)| (vec![("branch", branch), ("tier", tier.as_str())], t.seconds))
        .collect();
    let families: [(&Family, Vec<Sample>); 9] = [
        (&TESTS, tests(metrics, branch)),
        (&TEST_DURATION, durations),
        (&RUN_DURATION, one(run.duration_ms as f64 / 1e3)),
        (&RUN_EXIT, one(f64::from(run.exit_code))),
        (&RUN_END, one(metrics.ended_ms as f64 / 1e3)),
        (&RUN_ID, one(run.id as f64)),
        (&WINDOW_RUNS, one(metrics.window_runs as f64)),
        (&FLAKY, per_tier(|t| Some(t.flaky as f64))),
        (&PASS_RATIO, per_tier(|t| t.pass_ratio)),
    ];
    let mut out = String::new();
    for (family, samples) in &families {
        write_family(&mut out, family, samples);
    }
    out.push_str("# EOF\n");
    out
}

/// Each tier of the latest run, every outcome (zeros too, so a series never just vanishes).
fn tests<'a>(metrics: &'a Metrics, branch: &'a str) -> Vec<Sample<'a>> {
    metrics
        .latest_tiers
        .iter()
        .flat_map(|(tier, t)| {
            t.outcomes.iter().map(move |(outcome, count)| {
                let labels = vec![
                    ("branch", branch),
                    ("tier", tier.as_str()),
                    ("outcome", outcome_label(*outcome)),
                ];
                (labels, *count as f64)
            })
        })
        .collect()
}

/// The outcome as vigil's JSON names it (`timed_out`, not `timed out`).
fn outcome_label(outcome: crate::events::Outcome) -> &'static str {
    use crate::events::Outcome::*;
    match outcome {
        Passed => "passed",
        Failed => "failed",
        Error => "error",
        Skipped => "skipped",
        XFailed => "xfailed",
        XPassed => "xpassed",
        Crashed => "crashed",
        TimedOut => "timed_out",
    }
}

fn write_family(out: &mut String, family: &Family, samples: &[Sample]) {
    let name = family.name;
    let _ = writeln!(out, "# TYPE {name} gauge");
    if let Some(unit) = family.unit {
        let _ = writeln!(out, "# UNIT {name} {unit}");
    }
    let _ = writeln!(out, "# HELP {name} {}", family.help);
    for (labels, value) in samples {
        let labels: Vec<String> = labels
            .iter()
            .map(|(key, value)| format!("{key}=\"{}\"", escape_label(value)))
            .collect();
        let _ = writeln!(out, "{name}{{{}}} {}", labels.join(","), number(*value));
    }
}

/// A label value with backslash, double quote and newline escaped (the three escapes both
/// OpenMetrics and the 0.0.4 text format know).
fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A sample value: Rust's shortest exact decimal (never an exponent), and OpenMetrics'
/// spellings of the non-finite values.
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_string()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("feat/\"x\"\\y\nz"), "feat/\\\"x\\\"\\\\y\\nz");
        assert_eq!(escape_label("plain ünïcode"), "plain ünïcode");
    }

    #[test]
    fn numbers_are_openmetrics_numbers() {
        assert_eq!(number(3.0), "3");
        assert_eq!(number(1_767_603_600.5), "1767603600.5");
        assert_eq!(number(1e-7), "0.0000001");
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(f64::NEG_INFINITY), "-Inf");
        assert_eq!(number(f64::NAN), "NaN");
    }

    #[test]
    fn families_suit_both_text_formats() {
        use crate::history::{LatestTier, RunSummary};
        let metrics = Metrics {
            branch: Some("main".into()),
            latest: RunSummary {
                id: 7,
                started_ms: 0,
                commit: None,
                branch: Some("main".into()),
                dirty: None,
                profile: None,
                tiers: None,
                total: 0,
                passed: 0,
                failed: 0,
                errors: 0,
                skipped: 0,
                duration_ms: 1_500,
                exit_code: 1,
                interrupted: false,
                source: "vigil".into(),
                series: None,
                uid: "run-7".into(),
                partition: None,
                shards: None,
            },
            ended_ms: 2_000,
            latest_tiers: [(
                "unit".to_string(),
                LatestTier {
                    outcomes: vec![],
                    seconds: 0.5,
                },
            )]
            .into(),
            window_runs: 1,
            window_tiers: vec![WindowTier {
                tier: "unit".into(),
                pass_ratio: None,
                flaky: 0,
            }],
        };
        let text = render_openmetrics(&metrics);
        assert!(text.ends_with("\nvigil_window_runs{branch=\"main\"} 1\n# TYPE vigil_flaky_tests gauge\n# HELP vigil_flaky_tests Flaky tests of each tier over the window, as vigil trends counts them.\nvigil_flaky_tests{branch=\"main\",tier=\"unit\"} 0\n# TYPE vigil_pass_ratio gauge\n# UNIT vigil_pass_ratio ratio\n# HELP vigil_pass_ratio Passed tests over tests that passed or failed, per tier, over the window.\n# EOF\n"), "{text}");
        for line in text.lines() {
            let words: Vec<&str> = line.split(' ').collect();
            match words[..] {
                // A unit is the name's suffix (OpenMetrics requires it).
                ["#", "UNIT", name, unit] => assert!(name.ends_with(&format!("_{unit}")), "{line}"),
                // HELP escapes differ between the two formats: a help text needs none.
                ["#", "HELP", ..] => assert!(!line.contains(['"', '\\']), "{line}"),
                // Suffixes OpenMetrics reserves for counters, histograms and info.
                ["#", "TYPE", name, "gauge"] => {
                    for reserved in ["_total", "_created", "_count", "_sum", "_bucket", "_info"] {
                        assert!(!name.ends_with(reserved), "{line}");
                    }
                }
                ["#", "TYPE", ..] => panic!("not a gauge: {line}"),
                _ => {}
            }
        }
    }
}
