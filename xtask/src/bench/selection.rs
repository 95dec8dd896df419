//! The selection figure of `cargo xtask bench`: mutation trials on real suites. In a git copy
//! of a suite, one source function at a time gets `raise RuntimeError("vigil mutation")` as
//! its first statement; plain pytest says which tests then fail, and `vigil list --changed`
//! which tests it would run. Reported: the share of tests selected and the failing tests
//! the selection missed (selection_report.rs prints and writes them).
//!
//! The copy imports its own `src/` (PYTHONPATH goes before the venv's editable install of the
//! cached tree), and `.git/info/exclude` keeps `__pycache__/` and vigil's `.vigil/` out of
//! the changes, as a real project's .gitignore would.

use super::diagnosis::stdout_of;
use super::selection_report::{Section, SuiteResult, Trial};
use super::suites::Suite;
use super::timing;
use crate::{cmd, paths};
use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The suites measured when `--suites` names none.
pub const DEFAULT_SUITES: [&str; 3] = ["jinja2", "click", "itsdangerous"];
/// Kept trials per suite unless `--trials` says otherwise.
pub const DEFAULT_TRIALS: usize = 15;
/// Candidates tried per kept trial at most (a mutation no test notices is not kept).
const ATTEMPTS_PER_TRIAL: usize = 4;
/// The candidate order: the sorted function list shuffled with this seed.
const SEED: u64 = 0x5EED_0F5E_1EC7;
/// Lists the mutation points of a source tree (see its docstring).
const POINTS_PY: &str = include_str!("selection_points.py");
/// The pytest plugin that writes collected and failed node ids.
const OUTCOMES_PY: &str = include_str!("selection_outcomes.py");
pub const RAISE: &str = "raise RuntimeError(\"vigil mutation\")";
/// Left out of the copy: the venv (the suite's python is used in place), caches, fetch.sh's mark.
const SKIP: [&str; 6] = [
    ".venv",
    "__pycache__",
    ".pytest_cache",
    ".vigil",
    ".ready",
    ".git",
];
const EXCLUDE: &str = "__pycache__/\n*.py[cod]\n.pytest_cache/\n.vigil/\n";

/// The suites to measure: those `--suites` named, else the defaults.
pub fn wanted(names: &[String]) -> Vec<String> {
    match names.is_empty() {
        true => DEFAULT_SUITES.iter().map(|s| s.to_string()).collect(),
        false => names.to_vec(),
    }
}

/// Runs the trials on every suite; a suite that cannot be set up becomes a note.
pub fn measure(vigil: &Path, suites: &[&Suite], trials: usize) -> Result<Section> {
    let logs = paths::target_dir().join("bench").join("selection");
    // The logs of an earlier run would mix with this one's.
    let _ = fs::remove_dir_all(&logs);
    fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let mut section = Section {
        trials_wanted: trials,
        suites: Vec::new(),
        notes: Vec::new(),
    };
    for suite in suites {
        eprintln!(
            "\n== selection: {trials} mutation trials on {} ==",
            suite.name
        );
        match measure_suite(vigil, suite, trials, &logs) {
            Ok(result) => section.suites.push(result),
            Err(err) => section.notes.push(format!("{}: {err:#}", suite.name)),
        }
    }
    Ok(section)
}

/// One function's mutation point, as selection_points.py lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Relative to the tree, `/`-separated.
    pub file: String,
    /// 1-based: the raise goes before this line.
    pub line: usize,
    pub indent: String,
    /// Qualified: `Class.method` or `function`.
    pub name: String,
    pub def_line: usize,
}

impl Point {
    pub fn label(&self) -> String {
        format!("{}:{} {}", self.file, self.def_line, self.name)
    }
}

/// What the outcomes plugin wrote.
#[derive(Debug, Default, PartialEq)]
pub struct Outcomes {
    pub collected: Vec<String>,
    pub failed: Vec<String>,
}

/// A suite's git copy and the commands run in it.
struct Work<'a> {
    vigil: &'a Path,
    python: &'a Path,
    tree: PathBuf,
    /// PYTHONPATH: the plugin's dir, then the copy's import root.
    python_path: String,
    outcomes: PathBuf,
    logs: &'a Path,
    name: &'a str,
    timeout: Duration,
}

fn measure_suite(vigil: &Path, suite: &Suite, trials: usize, logs: &Path) -> Result<SuiteResult> {
    let tmp = tempfile::Builder::new()
        .prefix(&format!("vigil-bench-selection-{}-", suite.name))
        .tempdir()
        .context("creating a temp dir for the suite copy")?;
    let tree = tmp.path().join(&suite.name);
    super::diagnosis::copy_tree(&suite.dir, &tree, &SKIP)?;
    let plugin_dir = tmp.path().join("plugin");
    fs::create_dir_all(&plugin_dir)?;
    fs::write(plugin_dir.join("vigil_bench_outcomes.py"), OUTCOMES_PY)?;
    fs::write(tmp.path().join("selection_points.py"), POINTS_PY)?;
    let src = tree.join("src");
    let import_root = if src.is_dir() { src } else { tree.clone() };
    let mut work = Work {
        vigil,
        python: &suite.python,
        python_path: format!("{}:{}", plugin_dir.display(), import_root.display()),
        outcomes: tmp.path().join("outcomes.json"),
        tree,
        logs,
        name: &suite.name,
        timeout: Duration::from_secs(600),
    };
    work.git_init()?;
    work.check_imports_copy(&import_root)?;

    eprintln!("selection: baseline of {}", suite.name);
    let start = Instant::now();
    let base = work.pytest(&[], "baseline")?;
    let base = base.context("the baseline pytest run did not finish")?;
    let took = start.elapsed();
    // A mutation that makes the suite much slower (or hang) is cut off, not waited for.
    work.timeout = took * 10 + Duration::from_secs(300);
    let all = work.vigil_list_all()?;
    let mut result = SuiteResult::new(&suite.name, all.len());
    result.compare_collections(&all, &base.collected);
    let all_set: BTreeSet<String> = all.iter().cloned().collect();
    let mut baseline_failing = expand(&base.failed, &all);
    result.baseline_failing = baseline_failing.iter().cloned().collect();
    eprintln!(
        "selection: {} tests, {} failing at baseline ({:.1} s)",
        all.len(),
        baseline_failing.len(),
        took.as_secs_f64()
    );

    let mut points = work.points(tmp.path())?;
    result.functions = points.len();
    shuffle(&mut points, SEED);
    let max_attempts = trials * ATTEMPTS_PER_TRIAL;
    for point in points.iter().take(max_attempts) {
        if result.trials.len() >= trials {
            break;
        }
        result.tried += 1;
        let attempt = result.tried;
        match work.trial(point, attempt, &all, &all_set, &mut baseline_failing) {
            Ok(Ok(trial)) => {
                eprintln!("selection: [{} {attempt}] {}", suite.name, trial.progress());
                result.trials.push(trial);
            }
            Ok(Err(skip)) => {
                eprintln!(
                    "selection: [{} {attempt}] {}: {skip}",
                    suite.name,
                    point.label()
                );
                *result.skipped.entry(skip).or_default() += 1;
            }
            Err(err) => {
                let note = format!("{}: {err:#}", point.label());
                eprintln!("selection: [{} {attempt}] {note}", suite.name);
                result.notes.push(note);
            }
        }
        work.restore()?;
    }
    if result.trials.len() < trials {
        result.notes.push(format!(
            "{} of {trials} trials kept after {} candidates ({} functions)",
            result.trials.len(),
            result.tried,
            result.functions
        ));
    }
    Ok(result)
}

impl Work<'_> {
    fn git(&self) -> Command {
        let mut cmd = Command::new("git");
        cmd.args([
            "-c",
            "user.name=vigil bench",
            "-c",
            "user.email=bench@vigil.invalid",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .current_dir(&self.tree);
        cmd
    }

    fn git_quiet(&self, args: &[&str]) -> Result<()> {
        let mut cmd = self.git();
        cmd.args(args);
        stdout_of(&mut cmd).map(drop)
    }

    fn git_init(&self) -> Result<()> {
        self.git_quiet(&["init", "-q"])?;
        let exclude = self.tree.join(".git").join("info").join("exclude");
        fs::create_dir_all(exclude.parent().context("exclude has a parent")?)?;
        fs::write(&exclude, EXCLUDE).with_context(|| format!("writing {}", exclude.display()))?;
        self.git_quiet(&["add", "-A"])?;
        self.git_quiet(&["commit", "-q", "-m", "the suite as fetched"])
    }

    /// Undoes a mutation and whatever the runs left behind.
    fn restore(&self) -> Result<()> {
        self.git_quiet(&["checkout", "-q", "--", "."])?;
        self.git_quiet(&["clean", "-fdq"])
    }

    /// The copy must import its own package, or mutating it would change nothing.
    fn check_imports_copy(&self, import_root: &Path) -> Result<()> {
        let packages: Vec<String> = fs::read_dir(import_root)?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("__init__.py").is_file())
            .filter_map(|e| e.file_name().to_str().map(String::from))
            .collect();
        for package in packages {
            let mut cmd = self.python_cmd();
            cmd.args([
                "-c",
                &format!("import {package}; print({package}.__file__)"),
            ]);
            let file = stdout_of(&mut cmd)?;
            ensure!(
                Path::new(file.trim()).starts_with(&self.tree),
                "`import {package}` in the copy loads {}, not the copy's",
                file.trim()
            );
        }
        Ok(())
    }

    fn python_cmd(&self) -> Command {
        let mut cmd = Command::new(self.python);
        cmd.current_dir(&self.tree)
            .env("PYTHONPATH", &self.python_path)
            .env_remove("PYTEST_ADDOPTS");
        cmd
    }

    fn points(&self, helper_dir: &Path) -> Result<Vec<Point>> {
        let mut cmd = self.python_cmd();
        cmd.arg(helper_dir.join("selection_points.py"))
            .arg(&self.tree)
            .arg("src");
        parse_points(&stdout_of(&mut cmd)?)
    }

    /// Plain pytest on the copy (or on `ids`); `None` when pytest ended without writing
    /// outcomes (it could not start: a conftest failed to import). Errors on a timeout.
    fn pytest(&self, ids: &[String], log: &str) -> Result<Option<Outcomes>> {
        let _ = fs::remove_file(&self.outcomes);
        let mut cmd = self.python_cmd();
        // No tracebacks: the plugin has the ids, and formatting a thousand tracebacks (a
        // mutation most tests reach) takes minutes.
        cmd.args(["-m", "pytest", "-q", "--tb=no", "-p", "no:cacheprovider"])
            .args([
                "-p",
                "vigil_bench_outcomes",
                "--continue-on-collection-errors",
            ])
            .args(ids)
            .env("VIGIL_BENCH_OUTCOMES", &self.outcomes);
        let log = self.logs.join(format!("{}-{log}.log", self.name));
        let code = run_with_timeout(&mut cmd, &log, self.timeout)?;
        if !self.outcomes.exists() {
            return match code {
                Some(0 | 1) | None => bail!("pytest wrote no outcomes; log {}", log.display()),
                Some(_) => Ok(None),
            };
        }
        let json = fs::read_to_string(&self.outcomes)?;
        parse_outcomes(&json).map(Some)
    }

    fn vigil_cmd(&self) -> Command {
        let mut cmd = Command::new(self.vigil);
        cmd.arg("list")
            .arg("--python")
            .arg(self.python)
            .current_dir(&self.tree)
            .env("PYTHONPATH", &self.python_path)
            .env_remove("PYTEST_ADDOPTS");
        cmd
    }

    fn vigil_list_all(&self) -> Result<Vec<String>> {
        let ids = lines(&stdout_of(&mut self.vigil_cmd())?);
        ensure!(!ids.is_empty(), "`vigil list` listed no test");
        Ok(ids)
    }

    /// Mutates `point`, runs the suite, and when a test fails because of it, asks vigil.
    /// `Ok(Err(reason))`: the candidate was not kept.
    fn trial(
        &self,
        point: &Point,
        attempt: usize,
        all: &[String],
        all_set: &BTreeSet<String>,
        baseline_failing: &mut BTreeSet<String>,
    ) -> Result<std::result::Result<Trial, String>> {
        let path = self.tree.join(&point.file);
        let text =
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let mutated = insert_raise(&text, point.line, &point.indent)
            .with_context(|| format!("line {} is past the end of {}", point.line, point.file))?;
        fs::write(&path, mutated).with_context(|| format!("writing {}", path.display()))?;

        let start = Instant::now();
        let outcomes = match self.pytest(&[], &format!("trial-{attempt}")) {
            Ok(outcomes) => outcomes,
            Err(err) => return Ok(Err(format!("pytest did not finish ({err:#})"))),
        };
        let pytest_secs = start.elapsed().as_secs_f64();
        let broke_collection = outcomes.is_none();
        let failing: BTreeSet<String> = match &outcomes {
            Some(o) => expand(&o.failed, all),
            // pytest could not even start: every test fails.
            None => all.iter().cloned().collect(),
        };
        let failing: BTreeSet<String> = failing.difference(baseline_failing).cloned().collect();
        if failing.is_empty() {
            return Ok(Err("no test failed".to_string()));
        }
        // Only the mutation may be a change: files the run wrote go.
        self.git_quiet(&["clean", "-fdq"])?;

        let start = Instant::now();
        let selected = self.vigil_changed()?;
        let list_ms = start.elapsed().as_millis();
        let mut selected_ids = match &selected.from_files {
            true => files_to_ids(&selected.lines, all),
            false => selected.lines.iter().cloned().collect(),
        };
        selected_ids.extend(files_to_ids(&selected.uncollected, all));
        let unknown: Vec<String> = selected_ids.difference(all_set).cloned().collect();
        let mut trial = Trial {
            point: point.clone(),
            total: all.len(),
            selected: selected_ids.intersection(all_set).cloned().collect(),
            failing: failing.iter().cloned().collect(),
            missed: missed(&failing, &selected_ids),
            flaky: Vec::new(),
            broke_collection,
            from_files: selected.from_files,
            vigil_said: selected.summary,
            list_error: selected.error,
            unknown_selected: unknown,
            pytest_secs,
            list_ms,
        };
        if !trial.missed.is_empty() {
            self.recheck(&mut trial, attempt, all_set, baseline_failing)?;
        }
        Ok(Ok(trial))
    }

    /// Runs the missed tests on the unmutated tree: those that fail there too fail without
    /// the mutation (flaky or order-dependent here) and are dropped from this trial and from
    /// later ones.
    fn recheck(
        &self,
        trial: &mut Trial,
        attempt: usize,
        all_set: &BTreeSet<String>,
        baseline_failing: &mut BTreeSet<String>,
    ) -> Result<()> {
        self.restore()?;
        let log = format!("trial-{attempt}-recheck");
        let known: Vec<String> = trial
            .missed
            .iter()
            .filter(|id| all_set.contains(*id))
            .cloned()
            .collect();
        if known.is_empty() {
            return Ok(());
        }
        let Some(outcomes) = self.pytest(&known, &log)? else {
            return Ok(());
        };
        let again: BTreeSet<String> = outcomes.failed.iter().map(|f| normalize(f)).collect();
        let flaky: Vec<String> = trial
            .missed
            .iter()
            .filter(|id| again.contains(*id))
            .cloned()
            .collect();
        trial.missed.retain(|id| !again.contains(id));
        trial.failing.retain(|id| !again.contains(id));
        baseline_failing.extend(flaky.iter().cloned());
        trial.flaky = flaky;
        Ok(())
    }

    /// The files `vigil list --changed --files` selects of which `ids` holds no test.
    fn uncollected(&self, ids: &[String]) -> Result<Vec<String>> {
        let mut files = self.vigil_cmd();
        files.args(["--changed", "--files"]);
        let (_, out, _) = output(&mut files)?;
        let listed: BTreeSet<String> = ids
            .iter()
            .map(|id| normalize(id.split("::").next().unwrap_or(id)))
            .collect();
        Ok(lines(&out)
            .into_iter()
            .filter(|file| !listed.contains(&normalize(file)))
            .collect())
    }

    /// `vigil list --changed`; when vigil cannot collect the mutated tree, its `--files`.
    fn vigil_changed(&self) -> Result<Listed> {
        let mut cmd = self.vigil_cmd();
        cmd.arg("--changed");
        let (code, out, err) = output(&mut cmd)?;
        match code {
            Some(0) | Some(5) => {
                let ids = lines(&out);
                Ok(Listed {
                    uncollected: self.uncollected(&ids)?,
                    lines: ids,
                    summary: summary_line(&err),
                    from_files: false,
                    error: None,
                })
            }
            _ => {
                let mut files = self.vigil_cmd();
                files.args(["--changed", "--files"]);
                let (code2, out2, err2) = output(&mut files)?;
                ensure!(
                    matches!(code2, Some(0 | 5)),
                    "`vigil list --changed` exited {code:?} ({}) and `--files` {code2:?} ({})",
                    last_line(&err),
                    last_line(&err2)
                );
                Ok(Listed {
                    lines: lines(&out2),
                    uncollected: Vec::new(),
                    summary: summary_line(&err2),
                    from_files: true,
                    error: Some(format!("exit {code:?}: {}", first_error(&err))),
                })
            }
        }
    }
}

/// What `vigil list --changed` printed.
struct Listed {
    lines: Vec<String>,
    /// Test files the selection holds that listed no id: the mutation breaks their import, so
    /// collection lists nothing, but a run of the selection runs (and fails) them whole.
    uncollected: Vec<String>,
    /// Its `vigil: N files changed since HEAD: ...` line.
    summary: String,
    /// The lines are test files (`--files`), not ids.
    from_files: bool,
    /// Why `vigil list --changed` failed, when it did.
    error: Option<String>,
}

fn output(cmd: &mut Command) -> Result<(Option<i32>, String, String)> {
    eprintln!("$ {}", cmd::show(cmd));
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not start `{}`", cmd::show(cmd)))?;
    Ok((
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// Runs `cmd` with its output in `log`; `Ok(None)`: killed by a signal. A run past `timeout`
/// is killed and is an error. (Same process group as ours, so Ctrl-C stops it too.)
fn run_with_timeout(cmd: &mut Command, log: &Path, timeout: Duration) -> Result<Option<i32>> {
    eprintln!("$ {}", cmd::show(cmd));
    let out = File::create(log).with_context(|| format!("creating {}", log.display()))?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(out.try_clone()?))
        .stderr(Stdio::from(out));
    let mut child = cmd
        .spawn()
        .with_context(|| format!("could not start `{}`", cmd::show(cmd)))?;
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status.code());
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "timed out after {:.0} s; log {}:\n{}",
                timeout.as_secs_f64(),
                log.display(),
                timing::tail(log, 5)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn lines(out: &str) -> Vec<String> {
    out.lines()
        .map(normalize)
        .filter(|l| !l.is_empty())
        .collect()
}

/// The first line of vigil's error message.
fn first_error(err: &str) -> &str {
    let mut lines = err.lines().map(str::trim);
    lines
        .find(|l| l.contains("error"))
        .unwrap_or_else(|| last_line(err))
}

fn last_line(err: &str) -> &str {
    err.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
}

/// vigil's one-line account of the selection (`vigil: 1 file changed since HEAD: ...`).
pub fn summary_line(stderr: &str) -> String {
    let mut lines = stderr.lines().map(str::trim);
    let found = lines.find(|l| l.contains("changed since"));
    found.unwrap_or_else(|| last_line(stderr)).to_string()
}

/// A node id as both sides print it: `vigil list` and pytest's report nodeid are the same
/// string (both are pytest's nodeid, relative to the rootdir), so this only trims whitespace
/// and a leading `./`, and turns Windows separators in the path part into `/`.
pub fn normalize(id: &str) -> String {
    let id = id.trim();
    let id = id.strip_prefix("./").unwrap_or(id);
    match id.split_once("::") {
        Some((path, rest)) => format!("{}::{rest}", path.replace('\\', "/")),
        None => id.replace('\\', "/"),
    }
}

/// Failed node ids as test ids: a collection error of a module or class (its id has no
/// test of its own) stands for every collected test under it; other ids stay as they are.
pub fn expand(failed: &[String], all: &[String]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for id in failed.iter().map(|f| normalize(f)) {
        let prefix = format!("{id}::");
        let under: Vec<&String> = all.iter().filter(|a| a.starts_with(&prefix)).collect();
        if under.is_empty() || all.contains(&id) {
            out.insert(id);
        } else {
            out.extend(under.into_iter().cloned());
        }
    }
    out
}

/// `vigil list --files` output as the collected ids in those files.
pub fn files_to_ids(files: &[String], all: &[String]) -> BTreeSet<String> {
    let files: BTreeSet<String> = files.iter().map(|f| normalize(f)).collect();
    all.iter()
        .filter(|id| files.contains(id.split("::").next().unwrap_or(id)))
        .cloned()
        .collect()
}

/// Failing ids the selection does not hold, in order.
pub fn missed(failing: &BTreeSet<String>, selected: &BTreeSet<String>) -> Vec<String> {
    failing.difference(selected).cloned().collect()
}

/// `text` with the raise inserted before 1-based `line` (the text split on `\n`, as the
/// points helper split it); `None` when the line is past the end.
pub fn insert_raise(text: &str, line: usize, indent: &str) -> Option<String> {
    let mut parts: Vec<&str> = text.split('\n').collect();
    if line == 0 || line > parts.len() + 1 {
        return None;
    }
    let raise = format!("{indent}{RAISE}");
    parts.insert(line - 1, &raise);
    Some(parts.join("\n"))
}

/// Parses selection_points.py's JSON lines.
pub fn parse_points(out: &str) -> Result<Vec<Point>> {
    let mut points = Vec::new();
    for line in out.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line)
            .with_context(|| format!("selection_points.py printed `{line}`"))?;
        let text = |key: &str| {
            v.get(key)
                .and_then(Value::as_str)
                .map(String::from)
                .with_context(|| format!("no `{key}` in `{line}`"))
        };
        let number = |key: &str| {
            v.get(key)
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok())
                .with_context(|| format!("no `{key}` in `{line}`"))
        };
        points.push(Point {
            file: text("file")?,
            line: number("line")?,
            indent: text("indent")?,
            name: text("name")?,
            def_line: number("def_line")?,
        });
    }
    Ok(points)
}

/// Parses what the outcomes plugin wrote.
pub fn parse_outcomes(json: &str) -> Result<Outcomes> {
    let v: Value = serde_json::from_str(json).context("the outcomes plugin wrote no JSON")?;
    let ids = |key: &str| -> Result<Vec<String>> {
        let list = v.get(key).and_then(Value::as_array);
        let list = list.with_context(|| format!("no `{key}` list in the outcomes"))?;
        Ok(list
            .iter()
            .filter_map(Value::as_str)
            .map(normalize)
            .collect())
    };
    Ok(Outcomes {
        collected: ids("collected")?,
        failed: ids("failed")?,
    })
}

/// Fisher–Yates with splitmix64: the same order for the same list and seed, everywhere.
pub fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    for i in (1..items.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// Ids only one side collected, for a note: (only vigil, only pytest).
pub fn collection_diff(vigil: &[String], pytest: &[String]) -> (Vec<String>, Vec<String>) {
    let v: BTreeSet<&String> = vigil.iter().collect();
    let p: BTreeSet<&String> = pytest.iter().collect();
    (
        v.difference(&p).map(|s| s.to_string()).collect(),
        p.difference(&v).map(|s| s.to_string()).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn set(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn inserts_the_raise_with_the_given_indent() {
        let text = "def f():\n    \"\"\"Doc.\"\"\"\n    return 1\n";
        let out = insert_raise(text, 3, "    ").unwrap();
        assert_eq!(
            out,
            "def f():\n    \"\"\"Doc.\"\"\"\n    raise RuntimeError(\"vigil mutation\")\n    return 1\n"
        );
        // One past the last line appends (a docstring-only function at the end, no newline).
        let out = insert_raise("def f():\n    \"\"\"Doc.\"\"\"", 3, "    ").unwrap();
        assert!(out.ends_with("\"\"\"\n    raise RuntimeError(\"vigil mutation\")"));
        assert!(insert_raise("a\nb", 4, "").is_none());
        assert!(insert_raise("a\nb", 0, "").is_none());
        // \r\n files keep their \r on the lines around the insertion.
        assert_eq!(
            insert_raise("a\r\nb\r\n", 2, "").unwrap(),
            "a\r\nraise RuntimeError(\"vigil mutation\")\nb\r\n"
        );
    }

    #[test]
    fn normalizes_ids_and_keeps_parameters() {
        assert_eq!(
            normalize(" ./tests/test_a.py::T::t[a - b] \n"),
            "tests/test_a.py::T::t[a - b]"
        );
        assert_eq!(
            normalize("tests\\test_a.py::t[x\\y]"),
            "tests/test_a.py::t[x\\y]"
        );
        assert_eq!(normalize("tests/test_a.py"), "tests/test_a.py");
    }

    #[test]
    fn collection_errors_stand_for_their_tests() {
        let all = ids(&["t/a.py::x", "t/a.py::C::y", "t/a.py::C::z[1]", "t/b.py::w"]);
        let failed = ids(&["t/a.py::C", "t/b.py::w", "t/gone.py"]);
        assert_eq!(
            expand(&failed, &all),
            set(&["t/a.py::C::y", "t/a.py::C::z[1]", "t/b.py::w", "t/gone.py"])
        );
        assert_eq!(expand(&ids(&["t/a.py"]), &all).len(), 3);
    }

    #[test]
    fn missed_and_files_compare_as_strings() {
        let all = ids(&["t/a.py::x[1]", "t/a.py::x[2]", "t/b.py::y"]);
        let selected = files_to_ids(&ids(&["t/a.py"]), &all);
        assert_eq!(selected, set(&["t/a.py::x[1]", "t/a.py::x[2]"]));
        let failing = set(&["t/a.py::x[2]", "t/b.py::y"]);
        assert_eq!(missed(&failing, &selected), ["t/b.py::y"]);
        assert!(missed(&failing, &set(&["t/a.py::x[2]", "t/b.py::y", "z"])).is_empty());
    }

    #[test]
    fn parses_points_and_outcomes() {
        let out = r#"{"file": "src/p/m.py", "line": 12, "indent": "        ", "name": "C.f", "def_line": 11}

{"file": "src/p/n.py", "line": 3, "indent": "    ", "name": "g", "def_line": 2}"#;
        let points = parse_points(out).unwrap();
        assert_eq!(points.len(), 2);
        assert_eq!(points[0].label(), "src/p/m.py:11 C.f");
        assert_eq!(points[0].indent.len(), 8);
        assert!(parse_points(r#"{"file": "a.py"}"#).is_err());
        let o = parse_outcomes(r#"{"collected": ["a::b", "a::c"], "failed": ["a::c"], "exit": 1}"#)
            .unwrap();
        assert_eq!(
            (o.collected.len(), o.failed.as_slice()),
            (2, &["a::c".to_string()][..])
        );
        assert!(parse_outcomes("{}").is_err());
    }

    #[test]
    fn shuffle_is_a_fixed_permutation() {
        let mut a: Vec<u32> = (0..50).collect();
        let mut b = a.clone();
        shuffle(&mut a, SEED);
        shuffle(&mut b, SEED);
        assert_eq!(a, b);
        assert_ne!(a, (0..50).collect::<Vec<_>>());
        a.sort();
        assert_eq!(a, (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn summary_is_vigils_changed_line() {
        let err = "warning: x\nvigil: 1 file changed since HEAD: 3 affected test targets\n";
        assert_eq!(
            summary_line(err),
            "vigil: 1 file changed since HEAD: 3 affected test targets"
        );
        assert_eq!(summary_line("vigil: error: boom\n\n"), "vigil: error: boom");
    }

    /// The points helper on a small module, when a python3 is at hand.
    #[test]
    fn points_helper_finds_functions_and_methods() {
        if !cmd::succeeds(Command::new("python3").arg("--version")) {
            eprintln!("python3 not found: skipped");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let pkg = dir.path().join("src").join("p");
        fs::create_dir_all(&pkg).unwrap();
        let module = "import typing\n\n\
            def f(x):\n    \"\"\"Doc\n    more.\"\"\"\n    return x\n\n\
            class C:\n    @typing.overload\n    def g(self) -> int: ...\n\n    def h(self):\n        # note\n        @dec\n        def inner():\n            pass\n        return inner\n\n\
            def one(): return 1\n\n\
            def only_doc():\n    \"\"\"Doc.\"\"\"\n";
        fs::write(pkg.join("m.py"), module).unwrap();
        let helper = dir.path().join("points.py");
        fs::write(&helper, POINTS_PY).unwrap();
        let mut cmd = Command::new("python3");
        cmd.arg(&helper).arg(dir.path()).arg("src");
        let points = parse_points(&stdout_of(&mut cmd).unwrap()).unwrap();
        let found: Vec<(&str, usize, usize)> = points
            .iter()
            .map(|p| (p.name.as_str(), p.line, p.indent.len()))
            .collect();
        // f after its docstring; h before the decorated inner def; only_doc appended after
        // the docstring; the overload stub and the one-liner are no points.
        assert_eq!(found, [("f", 6, 4), ("C.h", 14, 8), ("only_doc", 23, 4)]);
        let lines: Vec<&str> = module.split('\n').collect();
        assert_eq!(lines[13].trim(), "@dec");
        let p = &points[2];
        let mutated = insert_raise(module, p.line, &p.indent).unwrap();
        assert!(mutated.ends_with("\"\"\"Doc.\"\"\"\n    raise RuntimeError(\"vigil mutation\")\n"));
    }
}
