//! `vigil trends`: what a team asks of its history, computed over one look-back window of one
//! branch — pass rate per tier (recent window against the one before), new failures, fixed
//! tests, tests still failing and since when, flaky tests, the slowest tests and tiers, and
//! duration regressions.

use std::collections::{BTreeMap, HashMap};

use globset::GlobSet;
use serde::Serialize;

use super::durations::median;
use super::flaky::{flaky_tests, Flaky};
use super::regressions::{Comparison, RegressionRule};
use super::store::Store;
use super::timeline::RunSummary;
use super::window::{BranchFilter, Point, Window};
use super::HistoryError;

#[derive(Debug, Clone)]
pub struct TrendOptions {
    pub branch: BranchFilter,
    /// How many runs back everything looks (streaks, flakiness, regressions).
    pub runs: usize,
    /// The recent window (runs) compared against the baseline window before it.
    pub recent: usize,
    pub baseline: usize,
    /// Tests checked for duration regressions besides the performance tier.
    pub perf_tests: GlobSet,
    pub rule: RegressionRule,
    /// How many slowest tests to list.
    pub slowest: usize,
}

impl Default for TrendOptions {
    fn default() -> Self {
        TrendOptions {
            branch: BranchFilter::Latest,
            runs: 30,
            recent: 5,
            baseline: 5,
            perf_tests: GlobSet::empty(),
            rule: RegressionRule::default(),
            slowest: 10,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Trends {
    pub branch: Option<String>,
    /// Runs in the window, oldest first.
    pub runs: Vec<RunSummary>,
    pub tiers: Vec<TierRate>,
    pub new_failures: Vec<Change>,
    pub fixed: Vec<Change>,
    pub still_failing: Vec<StillFailing>,
    pub flaky: Vec<Flaky>,
    pub slowest_tests: Vec<Slow>,
    pub slowest_tiers: Vec<Slow>,
    pub regressions: Vec<Regression>,
}

/// Pass rate of one tier: per run of the window, and recent window against the previous one.
#[derive(Debug, Clone, Serialize)]
pub struct TierRate {
    pub tier: String,
    /// (run id, pass rate) for each run of the window the tier ran in, oldest first.
    pub series: Vec<(i64, f64)>,
    pub recent: Option<f64>,
    pub previous: Option<f64>,
}

/// A test whose verdict changed between its previous run on the branch and the latest run.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub test: String,
    pub tier: Option<String>,
    /// The run the test last ran in before the latest (`None`: a new test).
    pub previous_run: Option<i64>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StillFailing {
    pub test: String,
    pub tier: Option<String>,
    /// The first run of the current failing streak, its start and commit.
    pub since_run: i64,
    pub since_ms: i64,
    pub first_failing_commit: Option<String>,
    /// The streak reaches back to the start of the window: it may be older.
    pub at_least: bool,
    pub failing_runs: usize,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Slow {
    pub name: String,
    pub median_ms: f64,
    pub runs: usize,
    /// A test's final-attempt duration in each run of the window it ran in, as (run id,
    /// seconds), oldest first (the HTML report's duration chart); empty for a tier.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub series: Vec<(i64, f64)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Regression {
    pub test: String,
    pub tier: Option<String>,
    #[serde(flatten)]
    pub comparison: Comparison,
    /// The first run of the recent window and its commit.
    pub since_run: i64,
    pub since_commit: Option<String>,
}

impl Trends {
    pub fn compute(store: &Store, options: &TrendOptions) -> Result<Trends, HistoryError> {
        let window = Window::load(store, &options.branch, options.runs.max(1))?;
        let (new_failures, fixed, still_failing) = changes(&window, store)?;
        Ok(Trends {
            branch: window.branch.clone(),
            tiers: tier_rates(&window, options),
            new_failures,
            fixed,
            still_failing,
            flaky: flaky_tests(&window, &|id| store.test_name(id))?,
            slowest_tests: slowest_tests(&window, options, store)?,
            slowest_tiers: slowest_tiers(&window, options),
            regressions: regressions(&window, options, store)?,
            runs: window.runs,
        })
    }

    /// Whether any of these kinds of finding is present (`new-failure`, `flaky`,
    /// `perf-regression`, `still-failing`).
    pub fn has(&self, kind: &str) -> bool {
        match kind {
            "new-failure" => !self.new_failures.is_empty(),
            "still-failing" => !self.still_failing.is_empty(),
            "flaky" => !self.flaky.is_empty(),
            "perf-regression" => !self.regressions.is_empty(),
            _ => false,
        }
    }
}

/// The names `--fail-on` accepts.
pub const FINDINGS: [&str; 4] = ["new-failure", "still-failing", "flaky", "perf-regression"];

fn tier_rates(window: &Window, options: &TrendOptions) -> Vec<TierRate> {
    // tier → (passed, ran) per run index; the tier is looked up once per test, not per point.
    let runs = window.runs.len();
    let mut counts: BTreeMap<String, Vec<(u64, u64)>> = BTreeMap::new();
    for (&test, points) in &window.series {
        let tier = window
            .tier_of(test)
            .unwrap_or_else(|| "untiered".to_string());
        let per_run = counts.entry(tier).or_insert_with(|| vec![(0, 0); runs]);
        for point in points {
            if let Some(passed) = point.verdict() {
                per_run[point.run].0 += passed as u64;
                per_run[point.run].1 += 1;
            }
        }
    }
    let recent = window.span(0, options.recent);
    let previous = window.span(options.recent, options.baseline);
    counts
        .into_iter()
        .map(|(tier, per_run)| {
            let rate_over = |range: std::ops::Range<usize>| {
                let (passed, ran) = per_run[range]
                    .iter()
                    .fold((0, 0), |(p, r), (dp, dr)| (p + dp, r + dr));
                (ran > 0).then(|| passed as f64 / ran as f64)
            };
            TierRate {
                series: per_run
                    .iter()
                    .enumerate()
                    .filter(|(_, &(_, ran))| ran > 0)
                    .map(|(run, &(p, r))| (window.runs[run].id, p as f64 / r as f64))
                    .collect(),
                recent: rate_over(recent.clone()),
                previous: rate_over(previous.clone()),
                tier,
            }
        })
        .collect()
}

type Changes = (Vec<Change>, Vec<Change>, Vec<StillFailing>);

/// New failures, fixed tests and tests still failing: each test of the latest run against its
/// previous verdict in the window.
fn changes(window: &Window, store: &Store) -> Result<Changes, HistoryError> {
    let (mut new_failures, mut fixed, mut still) = (vec![], vec![], vec![]);
    let Some(latest) = window.runs.len().checked_sub(1) else {
        return Ok((new_failures, fixed, still));
    };
    for (&test, points) in &window.series {
        let Some(now) = points.last().filter(|p| p.run == latest) else {
            continue;
        };
        let Some(passed_now) = now.verdict() else {
            continue;
        };
        let earlier: Vec<&Point> = points[..points.len() - 1]
            .iter()
            .filter(|p| p.verdict().is_some())
            .collect();
        let previous = earlier.last().copied();
        let change = || -> Result<Change, HistoryError> {
            Ok(Change {
                test: store.test_name(test)?,
                tier: window.tier_of(test),
                previous_run: previous.map(|p| window.runs[p.run].id),
                message: (!passed_now)
                    .then(|| window.messages.get(&test).cloned())
                    .flatten(),
            })
        };
        match (previous.and_then(|p| p.verdict()), passed_now) {
            (None | Some(true), false) => new_failures.push(change()?),
            (Some(false), true) => fixed.push(change()?),
            (Some(false), false) => still.push(still_failing(window, test, &earlier, now, store)?),
            _ => {}
        }
    }
    new_failures.sort_by(|a, b| a.test.cmp(&b.test));
    fixed.sort_by(|a, b| a.test.cmp(&b.test));
    still.sort_by(|a, b| a.since_ms.cmp(&b.since_ms).then(a.test.cmp(&b.test)));
    Ok((new_failures, fixed, still))
}

/// The failing streak that ends in the latest run, walked back over runs with a verdict.
fn still_failing(
    window: &Window,
    test: i64,
    earlier: &[&Point],
    now: &Point,
    store: &Store,
) -> Result<StillFailing, HistoryError> {
    let streak: Vec<&Point> = earlier
        .iter()
        .rev()
        .take_while(|p| p.verdict() == Some(false))
        .copied()
        .collect();
    let first = streak.last().copied().unwrap_or(now);
    let run = &window.runs[first.run];
    Ok(StillFailing {
        test: store.test_name(test)?,
        tier: window.tier_of(test),
        since_run: run.id,
        since_ms: run.started_ms,
        first_failing_commit: run.commit.clone(),
        at_least: streak.len() == earlier.len(),
        failing_runs: streak.len() + 1,
        message: window.messages.get(&test).cloned(),
    })
}

fn slowest_tests(
    window: &Window,
    options: &TrendOptions,
    store: &Store,
) -> Result<Vec<Slow>, HistoryError> {
    let recent = window.span(0, options.recent);
    let mut medians: Vec<(i64, f64, usize)> = window
        .series
        .iter()
        .filter_map(|(&test, points)| {
            let mut durations: Vec<f64> = points
                .iter()
                .filter(|p| recent.contains(&p.run) && p.verdict().is_some())
                .map(|p| p.seconds)
                .collect();
            (!durations.is_empty()).then(|| (test, median(&mut durations), durations.len()))
        })
        .collect();
    medians.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    medians
        .into_iter()
        .take(options.slowest)
        .map(|(test, seconds, runs)| {
            let points = window.series.get(&test).map_or(&[][..], Vec::as_slice);
            Ok(Slow {
                name: store.test_name(test)?,
                median_ms: seconds * 1e3,
                runs,
                series: points
                    .iter()
                    .map(|p| (window.runs[p.run].id, p.seconds))
                    .collect(),
            })
        })
        .collect()
}

/// Each tier's total test time per run, median over the recent window.
fn slowest_tiers(window: &Window, options: &TrendOptions) -> Vec<Slow> {
    let recent = window.span(0, options.recent);
    let mut totals: HashMap<String, BTreeMap<usize, f64>> = HashMap::new();
    for (&test, points) in &window.series {
        let tier = window
            .tier_of(test)
            .unwrap_or_else(|| "untiered".to_string());
        let per_run = totals.entry(tier).or_default();
        for point in points.iter().filter(|p| recent.contains(&p.run)) {
            *per_run.entry(point.run).or_default() += point.seconds;
        }
    }
    let mut tiers: Vec<Slow> = totals
        .into_iter()
        .map(|(name, per_run)| {
            let mut values: Vec<f64> = per_run.into_values().collect();
            Slow {
                name,
                runs: values.len(),
                median_ms: median(&mut values) * 1e3,
                series: vec![],
            }
        })
        .collect();
    tiers.sort_by(|a, b| {
        b.median_ms
            .total_cmp(&a.median_ms)
            .then(a.name.cmp(&b.name))
    });
    tiers
}

/// Performance-tier tests (and those `perf_tests` names): the passing durations of the recent
/// window against the baseline window before it.
fn regressions(
    window: &Window,
    options: &TrendOptions,
    store: &Store,
) -> Result<Vec<Regression>, HistoryError> {
    let recent = window.span(0, options.recent);
    let baseline = window.span(options.recent, options.baseline);
    let mut found = Vec::new();
    for (&test, points) in &window.series {
        let tier = window.tier_of(test);
        let requested =
            !options.perf_tests.is_empty() && options.perf_tests.is_match(store.test_name(test)?);
        if tier.as_deref() != Some("performance") && !requested {
            continue;
        }
        let durations = |range: &std::ops::Range<usize>| -> Vec<f64> {
            points
                .iter()
                .filter(|p| range.contains(&p.run) && p.outcome == crate::events::Outcome::Passed)
                .map(|p| p.seconds)
                .collect()
        };
        let Some(comparison) = Comparison::of(&durations(&baseline), &durations(&recent)) else {
            continue;
        };
        if comparison.is_regression(&options.rule) {
            let first = &window.runs[recent.start];
            found.push(Regression {
                test: store.test_name(test)?,
                tier,
                comparison,
                since_run: first.id,
                since_commit: first.commit.clone(),
            });
        }
    }
    found.sort_by(|a, b| b.comparison.change.total_cmp(&a.comparison.change));
    Ok(found)
}
