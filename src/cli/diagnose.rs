//! `vigil diagnose [RUN]`: a recorded run's failures grouped by fingerprint, with category,
//! cause, history and recommended actions; `--score LABELS` measures the diagnoses against a
//! labeled corpus; `--fixed FP --note TEXT` records how a failure was fixed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use vigil::config::Loaded;
use vigil::diagnose::groups::{self, Group};
use vigil::diagnose::score::{self, Observed, Score};
use vigil::diagnose::Diagnoser;
use vigil::exit::ExitCode;
use vigil::history::{RunSummary, Store};
use vigil::report::{render_groups, GroupView};
use vigil::session::{diagnose_settings, HistorySettings};

use super::history::history_error;
use super::{json_format, print_json, usage, Failure};

#[derive(Args)]
pub struct DiagnoseArgs {
    /// The run to diagnose, as `vigil history` lists it (default: the latest).
    run: Option<i64>,
    /// text or json.
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    format: String,
    /// Score the run's diagnoses against labeled failures (`[[case]]` entries with test,
    /// category, nature, group) instead of listing them.
    #[arg(long, value_name = "LABELS")]
    score: Option<PathBuf>,
    /// With --score: exit 1 when a figure is below this (0–1).
    #[arg(long, value_name = "RATIO", requires = "score")]
    min_score: Option<f64>,
    /// Record a note on how the failure with this fingerprint was fixed; later diagnoses of
    /// it recommend the same fix.
    #[arg(
        long,
        value_name = "FINGERPRINT",
        requires = "note",
        conflicts_with = "score"
    )]
    fixed: Option<String>,
    #[arg(long, value_name = "TEXT", requires = "fixed")]
    note: Option<String>,
    /// The commit of the fix (with --fixed).
    #[arg(long, requires = "fixed")]
    commit: Option<String>,
}

impl DiagnoseArgs {
    /// Showing a diagnosis; `--fixed` records a note.
    pub fn only_reads(&self) -> bool {
        self.fixed.is_none()
    }
}

/// What `--format json` prints.
#[derive(Serialize)]
struct Report<'a> {
    run: &'a RunSummary,
    failures: usize,
    groups: &'a [Group],
}

pub fn diagnose(
    args: DiagnoseArgs,
    settings: &HistorySettings,
    invocation_dir: &Path,
    loaded: &Loaded,
) -> Result<ExitCode, Failure> {
    let json = json_format(&args.format)?;
    if let (Some(fingerprint), Some(note)) = (&args.fixed, &args.note) {
        return record_fix(settings, fingerprint, note, args.commit.as_deref());
    }
    let store = Store::open_existing(&settings.path).map_err(history_error)?;
    let run = pick_run(&store, args.run)?;
    let failures = store.run_failures(run.id).map_err(history_error)?;
    let diagnoser = diagnoser(loaded, invocation_dir)?;
    let mut found = groups::from_stored(&failures, &diagnoser);
    let lookup = |fp: &str| store.fingerprint_history(fp, Some(run.id)).ok().flatten();
    groups::annotate(&mut found, Some(lookup));
    if let Some(labels) = &args.score {
        return scored(labels, &found, json, args.min_score);
    }
    if json {
        print_json(&Report {
            run: &run,
            failures: failures.len(),
            groups: &found,
        })?;
    } else {
        print!("{}", render(&run, failures.len(), &found));
    }
    Ok(ExitCode::Ok)
}

fn record_fix(
    settings: &HistorySettings,
    fingerprint: &str,
    note: &str,
    commit: Option<&str>,
) -> Result<ExitCode, Failure> {
    let mut store = Store::open_existing(&settings.path).map_err(history_error)?;
    if store
        .fingerprint_history(fingerprint, None)
        .map_err(history_error)?
        .is_none()
    {
        return Err(usage(anyhow::anyhow!(
            "no failure with fingerprint {fingerprint} in {} (fingerprints are listed by `vigil diagnose`)",
            settings.path.display()
        )));
    }
    store
        .record_fix(fingerprint, note, commit)
        .map_err(history_error)?;
    println!("recorded a fix note for {fingerprint}");
    Ok(ExitCode::Ok)
}

fn pick_run(store: &Store, id: Option<i64>) -> Result<RunSummary, Failure> {
    let found = match id {
        Some(id) => store.run(id).map_err(history_error)?,
        None => store.recent_runs(1).map_err(history_error)?.pop(),
    };
    found.ok_or_else(|| {
        usage(match id {
            Some(id) => anyhow::anyhow!("no run {id} in history (`vigil history` lists the runs)"),
            None => anyhow::anyhow!("history has no runs yet: `vigil run` records one"),
        })
    })
}

/// The project's diagnoser: `[diagnose]` rules ahead of the built-in ones, paths relative to
/// the config's directory (`vigil diagnose`, `vigil report`
/// and `vigil history import` use it).
pub fn diagnoser(loaded: &Loaded, invocation_dir: &Path) -> Result<Diagnoser, Failure> {
    let settings = diagnose_settings(loaded, invocation_dir).map_err(usage)?;
    let root = loaded.dir().unwrap_or(invocation_dir);
    Ok(Diagnoser::new(settings.rules, root))
}

fn render(run: &RunSummary, failures: usize, found: &[Group]) -> String {
    let mut out = format!("run {}", run.id);
    if let Some(branch) = &run.branch {
        out.push_str(&format!(" · {branch}"));
    }
    if let Some(commit) = &run.commit {
        out.push_str(&format!(" @ {}", &commit[..commit.len().min(8)]));
    }
    if failures == 0 {
        out.push_str(": no failures\n");
        return out;
    }
    out.push_str(&format!(
        ": {failures} failure{} in {} group{}\n\n",
        if failures == 1 { "" } else { "s" },
        found.len(),
        if found.len() == 1 { "" } else { "s" },
    ));
    let view = GroupView {
        max_tests: 10,
        max_actions: 3,
        color: false,
        run: Some(run.id),
    };
    out.push_str(&render_groups(found, view));
    out
}

/// `--score`: the figures, and exit 1 below `--min-score`.
fn scored(
    labels: &Path,
    found: &[Group],
    json: bool,
    min: Option<f64>,
) -> Result<ExitCode, Failure> {
    let cases = score::read_labels(labels).map_err(usage)?;
    let observed: BTreeMap<String, Observed> = found
        .iter()
        .flat_map(|g| {
            g.tests.iter().map(|m| {
                let seen = Observed {
                    category: g.diagnosis.category,
                    nature: g.diagnosis.nature,
                    fingerprint: g.fingerprint.clone(),
                };
                (m.test.clone(), seen)
            })
        })
        .collect();
    let figures = score::score(&cases, &observed);
    if json {
        print_json(&figures)?;
    } else {
        print!("{}", render_score(&figures));
    }
    Ok(match min {
        Some(min) if figures.worst() < min => ExitCode::TestsFailed,
        _ => ExitCode::Ok,
    })
}

fn render_score(s: &Score) -> String {
    let pct = |x: f64| format!("{:.1}%", x * 100.0);
    let mut out = format!(
        "{} labeled failures, {} diagnosed; {} groups labeled, {} fingerprints\n\
         category accuracy  {}\nnature accuracy    {}\ngroup precision    {}\ngroup recall       {}\n",
        s.cases,
        s.found,
        s.groups,
        s.fingerprints,
        pct(s.category_accuracy),
        pct(s.nature_accuracy),
        pct(s.group_precision),
        pct(s.group_recall),
    );
    for miss in &s.misses {
        out.push_str(&format!(
            "  miss: {}: expected {}, got {}\n",
            miss.test, miss.expected, miss.got
        ));
    }
    for split in &s.split {
        out.push_str(&format!("  split: {split}\n"));
    }
    for merged in &s.merged {
        out.push_str(&format!("  merged: {merged}\n"));
    }
    for test in &s.unlabeled {
        out.push_str(&format!("  unlabeled failure: {test}\n"));
    }
    out
}
