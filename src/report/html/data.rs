//! What the HTML report shows, loaded from history in one place: the run (latest, or the one
//! asked for), its final results, its failures grouped by fingerprint with what history knows
//! of each group, and the trends over the window of runs on its branch (which carry the
//! per-run durations of the slowest tests).

use crate::diagnose::groups::{self, Group};
use crate::history::{
    BranchFilter, HistoryError, RunResult, RunSummary, Store, TrendOptions, Trends,
};

use super::HtmlOptions;

/// How many of the slowest tests get a line in the duration chart.
pub const SLOWEST: usize = 5;

/// A test and its (run id, seconds) points, oldest run first.
pub type DurationSeries = (String, Vec<(i64, f64)>);

pub struct ReportData {
    pub run: RunSummary,
    pub results: Vec<RunResult>,
    /// The run's failures grouped by fingerprint, biggest group first, annotated with history
    /// up to this run and recommendations (as `vigil diagnose` shows them).
    pub groups: Vec<Group>,
    pub trends: Trends,
    /// The slowest tests, slowest first, over the window.
    pub durations: Vec<DurationSeries>,
    /// The run was chosen with `--run` (the charts then mark it).
    pub chosen: bool,
    /// Whose runs the window holds, in words ("branch main", "all branches").
    pub window: String,
}

pub fn load(store: &Store, options: &HtmlOptions) -> Result<ReportData, HistoryError> {
    let latest = store.recent_runs(1)?.pop().ok_or_else(|| {
        HistoryError::Query(format!(
            "history {} has no runs yet: `vigil run` records one",
            store.path().display()
        ))
    })?;
    let run = match options.run {
        Some(id) => store.run(id)?.ok_or_else(|| {
            HistoryError::Query(format!(
                "no run #{id} in history {} (`vigil history` lists the runs)",
                store.path().display()
            ))
        })?,
        None => latest.clone(),
    };
    let branch = window_branch(&run, &latest);
    let window = match (&branch, &run.branch) {
        (BranchFilter::All, _) => "all branches".to_string(),
        (_, Some(name)) => format!("branch {name}"),
        (_, None) => "runs without a branch".to_string(),
    };
    let trend_options = TrendOptions {
        branch,
        runs: options.runs.max(1),
        slowest: SLOWEST,
        ..TrendOptions::default()
    };
    let trends = Trends::compute(store, &trend_options)?;
    let durations = slowest_durations(&trends);
    Ok(ReportData {
        results: store.run_results(run.id)?,
        groups: failure_groups(store, run.id, options)?,
        chosen: options.run.is_some(),
        run,
        trends,
        durations,
        window,
    })
}

/// The run's failures as `vigil diagnose` groups them. History is read up to this run, so a
/// fingerprint the run recorded is always found; a group it finds nothing for was diagnosed
/// now, from a message recorded without a diagnosis.
fn failure_groups(
    store: &Store,
    run_id: i64,
    options: &HtmlOptions,
) -> Result<Vec<Group>, HistoryError> {
    let failures = store.run_failures(run_id)?;
    let mut found = groups::from_stored(&failures, &options.diagnoser);
    // A history that cannot be read for one fingerprint costs that group its history line,
    // not the whole report.
    let lookup = |fp: &str| store.fingerprint_history(fp, Some(run_id)).ok().flatten();
    groups::annotate(&mut found, Some(lookup));
    Ok(found)
}

/// The window follows the run's branch. `BranchFilter::Latest` also covers "no branch" when
/// the latest run had none; a branchless older run falls back to every branch.
fn window_branch(run: &RunSummary, latest: &RunSummary) -> BranchFilter {
    match &run.branch {
        _ if run.branch == latest.branch => BranchFilter::Latest,
        Some(name) => BranchFilter::Named(name.clone()),
        None => BranchFilter::All,
    }
}

/// The slowest tests' per-run durations, slowest first, as the trends window read them.
fn slowest_durations(trends: &Trends) -> Vec<DurationSeries> {
    trends
        .slowest_tests
        .iter()
        .map(|slow| (slow.name.clone(), slow.series.clone()))
        .collect()
}
