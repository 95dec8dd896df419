//! `vigil verify --patch FILE | --command CMD | --working-tree`: the healer's check. The failures to fix are
//! the latest recorded run's (or `--tests`); the fix is snapshot, applied, verified by a real
//! run of those tests plus the tests beside the changed files, and kept or rolled back. The
//! verdict is JSON on stdout; every attempt is recorded in history against its fingerprints.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::AtomicBool;

use clap::Args;

use vigil::affected::{Before, Change, Selection, Selector, Settings};
use vigil::config::Loaded;
use vigil::diagnose::groups;
use vigil::diagnose::Diagnosis;
use vigil::events::{Event, TestResult};
use vigil::exit::ExitCode;
use vigil::history::{now_ms, Store};
use vigil::report::Reporter;
use vigil::rollback::{Diff, SnapshotStore};
use vigil::session::{self, request, HistorySettings};
use vigil::verify::{self, patch, working_tree, Fix, TestOutcome, Verdict};

use super::history::history_error;
use super::{print_json, usage, Failure};

#[derive(Args)]
pub struct VerifyArgs {
    /// The fix as a unified diff (applied with `git apply`).
    #[arg(long, value_name = "FILE", conflicts_with = "command")]
    patch: Option<PathBuf>,
    /// The fix as a shell command that edits the tree.
    #[arg(long, value_name = "CMD", conflicts_with = "working_tree")]
    command: Option<String>,
    /// The fix is the work tree's uncommitted changes (a git repository).
    #[arg(long, conflicts_with = "patch")]
    working_tree: bool,
    /// The failing tests the fix is for (default: the latest recorded run's failures).
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    tests: Vec<String>,
    /// Also try fixes for failures diagnosed as permission/security problems.
    #[arg(long)]
    allow_security: bool,
    /// Attempts per fingerprint per hour before vigil refuses more.
    #[arg(long, value_name = "N", default_value_t = 3)]
    max_attempts: usize,
}

/// Collects each test's latest attempt from the verification run (shared, so it can be
/// read once the run has the reporters back).
#[derive(Default, Clone)]
struct Collector(Rc<RefCell<BTreeMap<String, TestResult>>>);

impl Reporter for Collector {
    fn on_event(&mut self, event: &Event) {
        if let Event::TestFinished(result) = event {
            self.0
                .borrow_mut()
                .insert(result.id.clone(), result.clone());
        }
    }
}

/// The failures the fix is for: ids and their diagnoses.
struct Targets {
    tests: Vec<String>,
    diagnoses: Vec<Diagnosis>,
}

pub fn verify(
    args: VerifyArgs,
    settings: &HistorySettings,
    invocation_dir: &Path,
    loaded: &Loaded,
    cancel: &AtomicBool,
) -> Result<ExitCode, Failure> {
    let root = loaded.dir().unwrap_or(invocation_dir).to_path_buf();
    let fix = match (&args.patch, &args.command) {
        (Some(patch), _) => Fix::Patch(std::env::current_dir().unwrap_or_default().join(patch)),
        (None, Some(command)) => Fix::Command(command.clone()),
        (None, None) if args.working_tree => Fix::WorkingTree,
        (None, None) => {
            return Err(usage(anyhow::anyhow!(
                "give --patch FILE, --command CMD or --working-tree"
            )))
        }
    };
    let mut history = Store::open(&settings.path).map_err(history_error)?;
    let targets = targets(&history, &args.tests, loaded, invocation_dir)?;
    let hour_ago = now_ms() - 3_600_000;
    let refused = verify::refusal(
        &targets.diagnoses,
        args.allow_security,
        args.max_attempts,
        |fp| history.attempts_since(fp, hour_ago).unwrap_or(usize::MAX),
    );
    let verdict = match refused {
        Some(reason) => Verdict::refused(&fix, reason),
        None => attempt(&fix, &root, &targets, invocation_dir, loaded, cancel)?,
    };
    for diagnosis in &targets.diagnoses {
        let note = format!("{}: {}", fix.describe(), verdict.reason);
        history
            .record_attempt(&diagnosis.fingerprint, verdict.verdict, &note, None)
            .map_err(history_error)?;
    }
    print_json(&verdict)?;
    Ok(match verdict.verdict {
        "kept" => ExitCode::Ok,
        _ => ExitCode::TestsFailed,
    })
}

/// `--tests`, else the latest run's failures, each with its diagnosis.
fn targets(
    history: &Store,
    only: &[String],
    loaded: &Loaded,
    invocation_dir: &Path,
) -> Result<Targets, Failure> {
    let latest = history.recent_runs(1).map_err(history_error)?.pop();
    let failures = match latest {
        Some(run) => history.run_failures(run.id).map_err(history_error)?,
        None => Vec::new(),
    };
    let diagnoser = super::diagnose::diagnoser(loaded, invocation_dir)?;
    let found = groups::from_stored(&failures, &diagnoser);
    let wanted = |id: &str| only.is_empty() || only.iter().any(|t| t == id);
    let mut targets = Targets {
        tests: only.to_vec(),
        diagnoses: Vec::new(),
    };
    for group in &found {
        let members: Vec<&str> = group
            .tests
            .iter()
            .map(|m| m.test.as_str())
            .filter(|t| wanted(t))
            .collect();
        if members.is_empty() {
            continue;
        }
        if only.is_empty() {
            targets.tests.extend(members.iter().map(|m| m.to_string()));
        }
        targets.diagnoses.push(group.diagnosis.clone());
    }
    Ok(targets)
}

/// Snapshot, apply, run, then keep or roll back.
fn attempt(
    fix: &Fix,
    root: &Path,
    targets: &Targets,
    invocation_dir: &Path,
    loaded: &Loaded,
    cancel: &AtomicBool,
) -> Result<Verdict, Failure> {
    let internal = |e: String| (ExitCode::InternalError, anyhow::anyhow!(e));
    let store = SnapshotStore::open(root).map_err(|e| internal(e.to_string()))?;
    let covered = covered_paths(fix, root)?;
    let take = || store.create(&covered, Some("verify"));
    // A work-tree fix is already applied: the state to return to is the tree without it.
    let snapshot = match fix {
        Fix::WorkingTree => {
            working_tree::while_stashed(root, take).map_err(|e| usage(anyhow::anyhow!(e)))?
        }
        _ => take(),
    }
    .map_err(|e| internal(e.to_string()))?;
    let applied = match fix {
        Fix::Patch(path) => patch::apply(path, root),
        Fix::Command(command) => run_command(command, root),
        Fix::WorkingTree => Ok(()),
    };
    let diff = store
        .diff(&snapshot.id)
        .map_err(|e| internal(e.to_string()))?;
    let touched: Vec<PathBuf> = diff
        .modified
        .iter()
        .chain(&diff.added)
        .chain(&diff.deleted)
        .cloned()
        .collect();
    let mut verdict = Verdict {
        verdict: "kept",
        reason: String::new(),
        fix: fix.describe(),
        touched: touched.iter().map(|p| p.display().to_string()).collect(),
        selection: verify::selection(
            &targets.tests,
            &affected(&store, &snapshot.id, &diff, root, invocation_dir, loaded)?,
        ),
        results: vec![],
        snapshot: Some(snapshot.id.clone()),
        restored: None,
    };
    let outcome = match applied {
        Err(error) => Err(format!("the fix did not apply: {error}")),
        Ok(()) => check(&verdict.selection, invocation_dir, loaded, cancel).map(|results| {
            verdict.results = results;
        }),
    };
    let failing: Vec<&str> = verdict
        .results
        .iter()
        .filter(|r| r.outcome.is_failure())
        .map(|r| r.test.as_str())
        .collect();
    let problem = match outcome {
        Err(error) => Some(error),
        Ok(()) if !failing.is_empty() => Some(format!(
            "{} test(s) still fail: {}",
            failing.len(),
            failing.join(", ")
        )),
        Ok(()) if verdict.results.is_empty() => Some("no test ran to verify the fix".to_string()),
        Ok(()) => None,
    };
    match problem {
        None => verdict.reason = format!("{} test(s) passed", verdict.results.len()),
        Some(reason) => {
            roll_back(fix, &store, &snapshot.id, root).map_err(internal)?;
            let after = store
                .diff(&snapshot.id)
                .map_err(|e| internal(e.to_string()))?;
            verdict.verdict = "rolled_back";
            verdict.reason = reason;
            verdict.restored = Some(after.is_empty());
        }
    }
    Ok(verdict)
}

/// The tests the fix's changes can affect; a file's text before the fix comes from the
/// snapshot taken before it was applied.
fn affected(
    store: &SnapshotStore,
    id: &str,
    diff: &Diff,
    root: &Path,
    invocation_dir: &Path,
    loaded: &Loaded,
) -> Result<Selection, Failure> {
    let mut changes = Vec::new();
    for path in diff.modified.iter().chain(&diff.deleted) {
        let before = match store.file_bytes(id, path) {
            Ok(Some(bytes)) => Before::Text(String::from_utf8_lossy(&bytes).into_owned()),
            _ => Before::Unknown,
        };
        changes.push(Change {
            path: root.join(path),
            before,
        });
    }
    changes.extend(diff.added.iter().map(|path| Change {
        path: root.join(path),
        before: Before::Absent,
    }));
    let discovery = vigil::discover::discover(invocation_dir, &[]).map_err(usage)?;
    let tests: Vec<PathBuf> = discovery.files.iter().map(|f| f.path.clone()).collect();
    let settings = Settings::from_config(loaded, &discovery.config.rootdir);
    let mut selection = Selector::new(settings).select(&changes, &tests);
    // As the failing ids are written, so one test is not named twice.
    let prefix = format!("{}/", invocation_dir.display());
    for target in &mut selection.python {
        if let Some(relative) = target.strip_prefix(&prefix) {
            *target = relative.to_string();
        }
    }
    Ok(selection)
}

/// Back to the snapshot. A work-tree fix is stashed rather than overwritten: the tree goes
/// back to the same state, and the healer's change is kept in `git stash`.
fn roll_back(fix: &Fix, store: &SnapshotStore, id: &str, root: &Path) -> Result<(), String> {
    if let Fix::WorkingTree = fix {
        working_tree::stash(root, "vigil verify: rolled back")?;
    }
    store
        .restore(id, false)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// What to snapshot: the directories of the files a patch (or the work tree) changes, so
/// files it adds are removed again on rollback, or the whole tree for a command (its reach
/// is unknown).
fn covered_paths(fix: &Fix, root: &Path) -> Result<Vec<PathBuf>, Failure> {
    let files = match fix {
        Fix::Command(_) => return Ok(Vec::new()),
        Fix::WorkingTree => working_tree::changed(root).map_err(|e| usage(anyhow::anyhow!(e)))?,
        Fix::Patch(path) => {
            let diff = std::fs::read_to_string(path)
                .map_err(|e| usage(anyhow::anyhow!("cannot read {}: {e}", path.display())))?;
            patch::touched(&diff)
        }
    };
    let mut dirs: Vec<PathBuf> = files.iter().map(|file| nearest_dir(root, file)).collect();
    dirs.sort();
    dirs.dedup();
    Ok(dirs)
}

/// The deepest existing directory holding `file` (relative to `root`; `.` is the root).
fn nearest_dir(root: &Path, file: &Path) -> PathBuf {
    let mut dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    while !dir.as_os_str().is_empty() && !root.join(&dir).is_dir() {
        dir = dir.parent().map(Path::to_path_buf).unwrap_or_default();
    }
    if dir.as_os_str().is_empty() {
        root.to_path_buf()
    } else {
        root.join(dir)
    }
}

fn run_command(command: &str, root: &Path) -> Result<(), String> {
    let status = std::process::Command::new("sh")
        .args(["-c", command])
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run sh: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{command}` exited with {status}"))
    }
}

/// A real run of `selection`; each test's final outcome. It is not recorded as a run: the
/// tree it saw may be rolled back, and the history of runs is the project's, not the
/// healer's (its attempts go to `fixes`).
fn check(
    selection: &[String],
    invocation_dir: &Path,
    loaded: &Loaded,
    cancel: &AtomicBool,
) -> Result<Vec<TestOutcome>, String> {
    let flags = request::Flags {
        paths: selection.to_vec(),
        capture_cap: 1 << 20,
        ..request::Flags::default()
    };
    let resolved = request::resolve(flags, invocation_dir, loaded).map_err(|e| e.to_string())?;
    let collector = Collector::default();
    let mut reporters: Vec<Box<dyn Reporter>> = vec![Box::new(collector.clone())];
    session::run(&resolved.request, &mut reporters, cancel).map_err(|e| e.to_string())?;
    drop(reporters);
    let results: Vec<TestResult> = collector.0.borrow().values().cloned().collect();
    Ok(results
        .into_iter()
        .map(|r| TestOutcome {
            test: r.id,
            outcome: r.outcome,
            diagnosis: r.diagnosis,
        })
        .collect())
}
