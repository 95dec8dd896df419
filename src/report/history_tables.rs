//! Terminal tables for `vigil history` and `vigil trends`.

use crate::history::{RunSummary, TestPoint, Trends};

use super::text_table::{render, timestamp};

/// `vigil history`: one line per run, newest first.
pub fn render_runs(runs: &[RunSummary]) -> String {
    if runs.is_empty() {
        return "no runs recorded yet\n".to_string();
    }
    // The shard column shows only when a listed run is a shard's or a merge of shards.
    let sharded = runs
        .iter()
        .any(|r| r.partition.is_some() || r.shards.is_some());
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let mut row = vec![
                r.id.to_string(),
                timestamp(r.started_ms),
                commit(r.commit.as_deref(), r.dirty),
                r.branch.clone().unwrap_or_else(|| "-".into()),
                r.profile.clone().unwrap_or_else(|| "-".into()),
                r.tiers.clone().unwrap_or_else(|| "all".into()),
                r.passed.to_string(),
                r.failed.to_string(),
                r.errors.to_string(),
                r.skipped.to_string(),
                seconds(r.duration_ms as f64 / 1e3),
                exit(r),
            ];
            if sharded {
                row.push(shards(r));
            }
            row
        })
        .collect();
    let mut header = vec![
        "run",
        "started (UTC)",
        "commit",
        "branch",
        "profile",
        "tiers",
        "passed",
        "failed",
        "errors",
        "skipped",
        "time",
        "exit",
    ];
    if sharded {
        header.push("shards");
    }
    render(&header, &rows, &[0, 6, 7, 8, 9, 10])
}

/// "shard 2/4 duration" for a shard's run (partition `duration:2/4`), "4 shards" for a merged
/// run, "-" for any other.
fn shards(run: &RunSummary) -> String {
    match (&run.partition, run.shards) {
        (Some(partition), _) => match partition.split_once(':') {
            Some((strategy, part)) => format!("shard {part} {strategy}"),
            None => format!("shard {partition}"),
        },
        (None, Some(1)) => "1 shard".into(),
        (None, Some(n)) => format!("{n} shards"),
        (None, None) => "-".into(),
    }
}

/// `vigil history TEST`: the test's results, newest first.
pub fn render_timeline(test: &str, points: &[TestPoint]) -> String {
    let rows: Vec<Vec<String>> = points
        .iter()
        .map(|p| {
            vec![
                p.run_id.to_string(),
                timestamp(p.started_ms),
                commit(p.commit.as_deref(), None),
                p.branch.clone().unwrap_or_else(|| "-".into()),
                p.outcome.label().to_string(),
                seconds(p.duration_us as f64 / 1e6),
                p.attempt.to_string(),
                first_line(p.message.as_deref()),
            ]
        })
        .collect();
    let table = render(
        &[
            "run",
            "started (UTC)",
            "commit",
            "branch",
            "outcome",
            "time",
            "attempt",
            "message",
        ],
        &rows,
        &[0, 5, 6],
    );
    format!("{test}\n{table}")
}

/// `vigil trends`: every section, each saying "none" rather than vanishing.
pub fn render_trends(trends: &Trends) -> String {
    let mut out = format!(
        "trends over the last {} runs of branch {}\n",
        trends.runs.len(),
        trends.branch.as_deref().unwrap_or("(none)")
    );
    out += &section(
        "pass rate by tier (recent window vs the one before)",
        &tier_rates(trends),
    );
    out += &section(
        "new failures",
        &changes(&trends.new_failures, "previous run"),
    );
    out += &section("fixed", &changes(&trends.fixed, "previous run"));
    out += &section("still failing", &still_failing(trends));
    out += &section(
        "flaky (pass and fail on one commit, or in one --repeat series)",
        &flaky(trends),
    );
    out += &section("duration regressions", &regressions(trends));
    out += &section(
        "slowest tests (median, recent window)",
        &slow(&trends.slowest_tests, "test"),
    );
    out += &section(
        "slowest tiers (median total per run)",
        &slow(&trends.slowest_tiers, "tier"),
    );
    out
}

fn section(title: &str, body: &str) -> String {
    let body = if body.is_empty() {
        "  none\n".to_string()
    } else {
        indent(body)
    };
    format!("\n{title}\n{body}")
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

fn tier_rates(trends: &Trends) -> String {
    let rows: Vec<Vec<String>> = trends
        .tiers
        .iter()
        .map(|t| {
            let change = match (t.recent, t.previous) {
                (Some(r), Some(p)) => format!("{:+.1} pts", (r - p) * 100.0),
                _ => "-".into(),
            };
            vec![
                t.tier.clone(),
                percent(t.previous),
                percent(t.recent),
                change,
            ]
        })
        .collect();
    table_or_empty(&["tier", "before", "recent", "change"], &rows, &[1, 2, 3])
}

fn changes(list: &[crate::history::Change], previous: &str) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|c| {
            vec![
                c.test.clone(),
                c.tier.clone().unwrap_or_default(),
                c.previous_run
                    .map_or("new test".into(), |r| format!("#{r}")),
                first_line(c.message.as_deref()),
            ]
        })
        .collect();
    table_or_empty(&["test", "tier", previous, "message"], &rows, &[])
}

fn still_failing(trends: &Trends) -> String {
    let rows: Vec<Vec<String>> = trends
        .still_failing
        .iter()
        .map(|s| {
            // A streak that reaches the window's first run may be older than the window.
            let since = format!(
                "#{} {}{}",
                s.since_run,
                timestamp(s.since_ms),
                if s.at_least { " or earlier" } else { "" }
            );
            vec![
                s.test.clone(),
                since,
                commit(s.first_failing_commit.as_deref(), None),
                s.failing_runs.to_string(),
                first_line(s.message.as_deref()),
            ]
        })
        .collect();
    table_or_empty(
        &["test", "since", "first failing commit", "runs", "message"],
        &rows,
        &[3],
    )
}

fn flaky(trends: &Trends) -> String {
    let rows: Vec<Vec<String>> = trends
        .flaky
        .iter()
        .map(|f| {
            let commits = f.commits.iter().map(|c| commit(Some(c), None));
            // A series id says where the evidence came from when no clean commit does.
            let found_in: Vec<String> = commits.chain(f.series.iter().cloned()).collect();
            vec![
                f.test.clone(),
                format!("{:.2}", f.flip_rate),
                format!("{}/{}", f.passes, f.results),
                found_in.join(","),
            ]
        })
        .collect();
    table_or_empty(&["test", "flip rate", "passed", "commits"], &rows, &[1, 2])
}

fn regressions(trends: &Trends) -> String {
    let rows: Vec<Vec<String>> = trends
        .regressions
        .iter()
        .map(|r| {
            let c = &r.comparison;
            vec![
                r.test.clone(),
                seconds(c.before_median_ms / 1e3),
                seconds(c.after_median_ms / 1e3),
                format!("{:+.0}%", c.change * 100.0),
                format!("{:.1}", c.t),
                format!("#{}", r.since_run),
            ]
        })
        .collect();
    table_or_empty(
        &["test", "before", "after", "change", "t", "since"],
        &rows,
        &[1, 2, 3, 4],
    )
}

fn slow(list: &[crate::history::Slow], what: &str) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                seconds(s.median_ms / 1e3),
                s.runs.to_string(),
            ]
        })
        .collect();
    table_or_empty(&[what, "median", "runs"], &rows, &[1, 2])
}

fn table_or_empty(header: &[&str], rows: &[Vec<String>], right: &[usize]) -> String {
    if rows.is_empty() {
        String::new()
    } else {
        render(header, rows, right)
    }
}

fn commit(sha: Option<&str>, dirty: Option<bool>) -> String {
    match sha {
        Some(sha) => {
            let short: String = sha.chars().take(10).collect();
            if dirty == Some(true) {
                format!("{short}+")
            } else {
                short
            }
        }
        None => "-".into(),
    }
}

fn exit(run: &RunSummary) -> String {
    if run.interrupted {
        format!("{} (interrupted)", run.exit_code)
    } else {
        run.exit_code.to_string()
    }
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or("-".into(), |r| format!("{:.1}%", r * 100.0))
}

/// Seconds with a unit that keeps three significant-ish digits.
pub fn seconds(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.2}s")
    } else {
        format!("{:.1}ms", s * 1e3)
    }
}

/// Messages can span lines (pytest's assertion rewriting); a table cell shows the first.
fn first_line(message: Option<&str>) -> String {
    message
        .and_then(|m| m.lines().next())
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::events::Outcome;
    use crate::history::{GitInfo, ResultRecord, RunRecord, Store, TrendOptions};

    /// Twelve runs a minute apart on two commits: `a` breaks in the last run, `b` gets fixed,
    /// `c` always fails, `d` flakes on the first commit, `perf` doubles in the last five runs.
    fn history(dir: &std::path::Path) -> Store {
        let mut store = Store::open(&dir.join("h.db")).expect("open");
        for n in 0..12i64 {
            let last = n == 11;
            let outcome = |pass: bool| {
                if pass {
                    Outcome::Passed
                } else {
                    Outcome::Failed
                }
            };
            let perf_ms = if n >= 7 {
                200 + n as u64
            } else {
                100 + n as u64 % 3
            };
            let tests = [
                ("tests/unit/test_a.py::test_a", "unit", outcome(!last), 3),
                ("tests/unit/test_b.py::test_b", "unit", outcome(last), 4),
                ("tests/unit/test_c.py::test_<c>", "unit", outcome(false), 5),
                ("tests/unit/test_d.py::test_d", "unit", outcome(n != 4), 6),
                (
                    "tests/performance/test_p.py::test_perf",
                    "performance",
                    Outcome::Passed,
                    perf_ms,
                ),
            ];
            let results = tests
                .iter()
                .map(|&(test, tier, outcome, ms)| ResultRecord {
                    test: test.into(),
                    tier: Some(tier.into()),
                    outcome,
                    duration: Duration::from_millis(ms),
                    attempt: 1,
                    message: outcome
                        .is_failure()
                        .then(|| format!("AssertionError: {test}\nmore")),
                    diagnosis: None,
                })
                .collect();
            let mut run = RunRecord {
                started_ms: 1_767_225_600_000 + n * 60_000,
                ended_ms: 1_767_225_600_000 + n * 60_000 + 1_500,
                git: GitInfo {
                    commit: Some(
                        if last {
                            "bbbbbbbbbbbbbbbb"
                        } else {
                            "aaaaaaaaaaaaaaaa"
                        }
                        .into(),
                    ),
                    branch: Some("main".into()),
                    dirty: Some(false),
                },
                profile: Some("ci".into()),
                duration: Duration::from_millis(1_500),
                exit_code: 1,
                source: "vigil".into(),
                results,
                ..RunRecord::default()
            };
            run.tally_results();
            store.record(&run).expect("record");
        }
        store
    }

    #[test]
    fn trends_and_runs_render_as_tables() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = history(dir.path());
        let trends = Trends::compute(&store, &TrendOptions::default()).expect("trends");
        insta::assert_snapshot!("trends", render_trends(&trends));
        let runs = store.recent_runs(3).expect("runs");
        insta::assert_snapshot!("runs", render_runs(&runs));
    }

    #[test]
    fn shard_runs_and_merged_runs_are_marked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = history(dir.path());
        let latest = store.recent_runs(1).expect("runs").remove(0);
        let mut shard = crate::history::read_run(&store, latest.id).expect("read");
        shard.uid = String::new();
        for (partition, shards) in [(Some("duration:2/4"), None), (None, Some(4))] {
            shard.started_ms += 60_000;
            shard.partition = partition.map(String::from);
            shard.shards = shards;
            store.record(&shard).expect("record");
        }
        let runs = store.recent_runs(3).expect("runs");
        insta::assert_snapshot!("runs_with_shards", render_runs(&runs));
    }
}
