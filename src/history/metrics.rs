//! The numbers `vigil metrics` exports for Prometheus: the latest run of a branch (its tests
//! by final outcome and tier, each tier's test time, the run's duration, exit code and end)
//! and, over a window of recent runs, each tier's flaky tests and pass ratio exactly as
//! `vigil trends` counts them.

use std::collections::BTreeMap;

use crate::events::Outcome;

use super::store::Store;
use super::timeline::RunSummary;
use super::trends::{TrendOptions, Trends};
use super::window::BranchFilter;
use super::HistoryError;

/// The tier name trends give tests without one.
const UNTIERED: &str = "untiered";

#[derive(Debug, Clone)]
pub struct MetricsOptions {
    pub branch: BranchFilter,
    /// How many runs the window looks back (the latest included).
    pub runs: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    /// The branch the window follows (`None`: runs recorded without a branch).
    pub branch: Option<String>,
    /// The latest run of the branch.
    pub latest: RunSummary,
    /// When the latest run ended, Unix milliseconds.
    pub ended_ms: i64,
    /// Tier → the latest run's tests in it.
    pub latest_tiers: BTreeMap<String, LatestTier>,
    /// Runs in the window.
    pub window_runs: usize,
    /// Every tier that ran in the window, by name.
    pub window_tiers: Vec<WindowTier>,
}

/// One tier of the latest run.
#[derive(Debug, Clone, PartialEq)]
pub struct LatestTier {
    /// Tests per final outcome, every outcome of [`Outcome::ALL`] (zeros included, so a
    /// Prometheus series does not vanish when its count drops to none).
    pub outcomes: Vec<(Outcome, u64)>,
    /// The sum of the tests' final-attempt durations.
    pub seconds: f64,
}

/// One tier over the window.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowTier {
    pub tier: String,
    /// Passed ÷ results with a verdict over the window; `None` when nothing passed or failed.
    pub pass_ratio: Option<f64>,
    /// Flaky tests of the tier, by trends' rule.
    pub flaky: usize,
}

impl Metrics {
    pub fn compute(store: &Store, options: &MetricsOptions) -> Result<Metrics, HistoryError> {
        let runs = options.runs.max(1);
        // The whole window as trends' "recent" one: each tier's recent rate is then its pass
        // ratio over the window, computed by trends itself.
        let trend_options = TrendOptions {
            branch: options.branch.clone(),
            runs,
            recent: runs,
            ..TrendOptions::default()
        };
        let trends = Trends::compute(store, &trend_options)?;
        let Some(latest) = trends.runs.last().cloned() else {
            return Err(no_runs(store, &options.branch));
        };
        Ok(Metrics {
            ended_ms: store.ended_ms(latest.id)?,
            latest_tiers: latest_tiers(store, latest.id)?,
            window_runs: trends.runs.len(),
            window_tiers: window_tiers(&trends),
            branch: trends.branch,
            latest,
        })
    }
}

fn no_runs(store: &Store, branch: &BranchFilter) -> HistoryError {
    let path = store.path().display();
    HistoryError::Query(match branch {
        BranchFilter::Named(name) => format!(
            "no runs of branch {name:?} in the history at {path} (`vigil history` lists the runs)"
        ),
        _ => format!("no runs in the history at {path} yet: `vigil run` records one"),
    })
}

fn latest_tiers(store: &Store, run_id: i64) -> Result<BTreeMap<String, LatestTier>, HistoryError> {
    let mut tiers: BTreeMap<String, LatestTier> = BTreeMap::new();
    for result in store.run_results(run_id)? {
        let tier = result.tier.unwrap_or_else(|| UNTIERED.to_string());
        let entry = tiers.entry(tier).or_insert_with(|| LatestTier {
            outcomes: Outcome::ALL.iter().map(|&o| (o, 0)).collect(),
            seconds: 0.0,
        });
        if let Some(count) = entry
            .outcomes
            .iter_mut()
            .find(|(o, _)| *o == result.outcome)
        {
            count.1 += 1;
        }
        entry.seconds += result.duration_us as f64 / 1e6;
    }
    Ok(tiers)
}

fn window_tiers(trends: &Trends) -> Vec<WindowTier> {
    trends
        .tiers
        .iter()
        .map(|rate| WindowTier {
            tier: rate.tier.clone(),
            pass_ratio: rate.recent,
            flaky: trends
                .flaky
                .iter()
                .filter(|f| f.tier.as_deref().unwrap_or(UNTIERED) == rate.tier)
                .count(),
        })
        .collect()
}

impl Store {
    /// When run `run_id` ended (Unix milliseconds).
    fn ended_ms(&self, run_id: i64) -> Result<i64, HistoryError> {
        self.conn
            .query_row("SELECT ended_ms FROM runs WHERE id = ?1", [run_id], |r| {
                r.get(0)
            })
            .map_err(|e| self.error(e))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::history::{GitInfo, ResultRecord, RunRecord};

    fn result(test: &str, tier: Option<&str>, outcome: Outcome, ms: u64) -> ResultRecord {
        ResultRecord {
            test: test.into(),
            tier: tier.map(String::from),
            outcome,
            duration: Duration::from_millis(ms),
            attempt: 1,
            message: None,
            diagnosis: None,
        }
    }

    fn run(started_ms: i64, branch: &str, results: Vec<ResultRecord>) -> RunRecord {
        let mut run = RunRecord {
            started_ms,
            ended_ms: started_ms + 2_500,
            git: GitInfo {
                commit: Some("c1".into()),
                branch: Some(branch.into()),
                dirty: Some(false),
            },
            duration: Duration::from_millis(2_000),
            exit_code: 1,
            source: "vigil".into(),
            results,
            ..RunRecord::default()
        };
        run.tally_results();
        run
    }

    #[test]
    fn latest_run_by_tier_and_the_window_as_trends_count_it() -> Result<(), HistoryError> {
        let dir = tempfile::tempdir().map_err(|e| HistoryError::Query(e.to_string()))?;
        let mut store = Store::open(&dir.path().join("h.db"))?;
        let a = |o| result("t.py::a", Some("unit"), o, 100);
        // t.py::a passes then fails on one commit: flaky; the other branch is not looked at.
        store.record(&run(1_000, "main", vec![a(Outcome::Passed)]))?;
        store.record(&run(2_000, "other", vec![a(Outcome::Failed)]))?;
        let latest = store.record(&run(
            3_000,
            "main",
            vec![
                a(Outcome::Failed),
                result("t.py::b", Some("unit"), Outcome::Skipped, 50),
                result("t.py::c", None, Outcome::Passed, 250),
            ],
        ))?;
        let options = MetricsOptions {
            branch: BranchFilter::Latest,
            runs: 30,
        };
        let metrics = Metrics::compute(&store, &options)?;
        assert_eq!(metrics.latest.id, latest);
        assert_eq!((metrics.ended_ms, metrics.window_runs), (5_500, 2));
        let unit = &metrics.latest_tiers["unit"];
        let count = |o| unit.outcomes.iter().find(|(x, _)| *x == o).map(|c| c.1);
        assert_eq!(
            (count(Outcome::Failed), count(Outcome::Skipped)),
            (Some(1), Some(1))
        );
        assert_eq!(count(Outcome::Passed), Some(0));
        assert!((unit.seconds - 0.15).abs() < 1e-9, "{}", unit.seconds);
        assert_eq!(metrics.latest_tiers["untiered"].seconds, 0.25);
        let window: Vec<_> = metrics
            .window_tiers
            .iter()
            .map(|t| (t.tier.as_str(), t.pass_ratio, t.flaky))
            .collect();
        assert_eq!(window, [("unit", Some(0.5), 1), ("untiered", Some(1.0), 0)]);
        Ok(())
    }

    #[test]
    fn no_runs_is_a_query_error_naming_the_branch() -> Result<(), HistoryError> {
        let dir = tempfile::tempdir().map_err(|e| HistoryError::Query(e.to_string()))?;
        let store = Store::open(&dir.path().join("h.db"))?;
        let latest = MetricsOptions {
            branch: BranchFilter::Latest,
            runs: 30,
        };
        let error = Metrics::compute(&store, &latest).expect_err("no runs");
        assert!(
            error.to_string().contains("no runs in the history"),
            "{error}"
        );
        let named = MetricsOptions {
            branch: BranchFilter::Named("dev".into()),
            ..latest
        };
        let error = Metrics::compute(&store, &named).expect_err("no runs");
        assert!(matches!(error, HistoryError::Query(_)));
        assert!(error.to_string().contains("branch \"dev\""), "{error}");
        Ok(())
    }
}
