//! The watch figure of `cargo xtask bench`: file saved → affected test process started, median
//! and p90 over SAVES saves, for `vigil watch` (and with `--debounce 0`, which leaves only its
//! own set-up) beside the peer, pytest-watcher, measured the same way when pip can install it
//! into a venv of its own. Both watch a temp copy of fixtures/watch (a git repository, so
//! vigil's history records git facts as in a real checkout).

use super::table::padded;
use super::timing::median;
use super::watch_probe::{write_wrapper, Watcher};
use crate::{cmd, paths};
use anyhow::{Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Saves timed per watcher.
pub const SAVES: usize = 20;
const TARGET_MS: f64 = 100.0;
/// The peer, pinned; its runner is plain pytest (it selects nothing: every save runs it all).
const PEER: &str = "pytest-watcher==0.6.3";
const PEER_DOCUMENTED: &str = "200 ms delay + 100 ms poll (documented)";
/// What the measured peer really does, read in its source (pytest_watcher/watcher.py).
const PEER_NOTE: &str = "pytest-watcher 0.6.3 parses --delay (default 0.2 s) but builds its \
    trigger without it, so a save waits only for its 100 ms poll; it runs with \
    --patterns '*.py,**/*.py' because under watchdog 7 its default '*.py' matches only files at \
    the top of the watched directory";

pub struct Row {
    pub tool: String,
    /// Latencies in milliseconds; `None` when not measured (a note says why).
    pub samples: Option<Vec<f64>>,
    pub target: String,
}

pub struct Section {
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
}

/// Measures vigil (default debounce, then `--debounce 0`) and the peer; a watcher that cannot
/// be measured becomes a note and an empty row, so the others still print.
pub fn measure(vigil: &Path, python: &Path) -> Result<Section> {
    let tmp = tempfile::Builder::new()
        .prefix("vigil-bench-watch-")
        .tempdir()
        .context("creating a temp dir for the watch figure")?;
    let mut section = Section {
        rows: Vec::new(),
        notes: Vec::new(),
    };
    for (name, debounce) in [
        ("vigil watch", None),
        ("vigil watch --debounce 0", Some("0")),
    ] {
        let target = match debounce {
            None => format!("<= {TARGET_MS} ms"),
            Some(_) => "- (set-up only)".to_string(),
        };
        let work = tmp.path().join(name.replace(' ', "_"));
        eprintln!("\n== watch: {SAVES} saves under {name} ==");
        let samples = time_vigil(vigil, python, &work, debounce);
        section.push(name, samples, target);
    }
    let peer = time_peer(&tmp.path().join("peer"));
    if peer.is_ok() {
        section.notes.push(PEER_NOTE.to_string());
    }
    section.push("pytest-watcher 0.6.3", peer, PEER_DOCUMENTED.to_string());
    Ok(section)
}

impl Section {
    fn push(&mut self, tool: &str, samples: Result<Vec<f64>>, target: String) {
        let samples = match samples {
            Ok(samples) => Some(samples),
            Err(err) => {
                self.notes.push(format!("{tool}: not measured: {err:#}"));
                None
            }
        };
        self.rows.push(Row {
            tool: tool.to_string(),
            samples,
            target,
        });
    }
}

/// `vigil watch --no-initial-run` on a fresh copy, Python through the logging wrapper.
fn time_vigil(
    vigil: &Path,
    python: &Path,
    work: &Path,
    debounce: Option<&str>,
) -> Result<Vec<f64>> {
    let project = project(work)?;
    let log = work.join("starts.log");
    let wrapper = work.join("python.sh");
    write_wrapper(&wrapper, &log, &[python.display().to_string()], false)?;
    let mut watch = Command::new(vigil);
    watch
        .arg("-C")
        .arg(&project)
        .args(["watch", "--no-initial-run", "--python"])
        .arg(&wrapper)
        .env("NO_COLOR", "1")
        .env_remove("VIGIL_PROFILE");
    if let Some(ms) = debounce {
        watch.args(["--debounce", ms]);
    }
    let watcher = Watcher::start(watch, &log, "vigil watch: watching")?;
    // Only pytest workers count: vigil also runs the interpreter to probe it.
    let is_worker = |l: &str| l.contains("-m pytest") && l.contains("vigil_plugin");
    let samples = watcher.time_saves(&project, SAVES, &is_worker, Some("vigil watch: finished"));
    watcher.stop();
    samples
}

/// pytest-watcher in a venv of its own, its runner the logging wrapper around pytest.
fn time_peer(work: &Path) -> Result<Vec<f64>> {
    eprintln!("\n== watch: {SAVES} saves under {PEER} ==");
    let python = peer_venv()?;
    let project = project(work)?;
    let log = work.join("starts.log");
    let wrapper = work.join("pytest.sh");
    let pytest = [python.display().to_string(), "-m".into(), "pytest".into()];
    write_wrapper(&wrapper, &log, &pytest, true)?;
    let ptw = python.with_file_name("ptw");
    let mut watch = Command::new(&ptw);
    watch
        .arg(".")
        .arg("--runner")
        .arg(&wrapper)
        // With watchdog 7 its default `*.py` matches whole paths, so only top-level files:
        // a save in app/ would start nothing.
        .args(["--patterns", "*.py,**/*.py"])
        .current_dir(&project)
        // Its banner goes through a buffered sys.stdout; the pipe must see it at once.
        .env("PYTHONUNBUFFERED", "1");
    let watcher = Watcher::start(watch, &log, "Waiting for file changes")?;
    let is_start = |l: &str| !l.ends_with(" end");
    let samples = watcher.time_saves(&project, SAVES, &is_start, None);
    watcher.stop();
    samples
}

/// target/bench/watch/peer-venv with the peer and the pytest vigil's own venv pins.
fn peer_venv() -> Result<PathBuf> {
    let venv = paths::target_dir()
        .join("bench")
        .join("watch")
        .join("peer-venv");
    let python = venv.join("bin").join("python");
    let ready = |p: &Path| p.with_file_name("ptw").exists();
    if !ready(&python) {
        cmd::run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
        let pytest = format!("pytest=={}", crate::setup::PYTEST);
        cmd::run(Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            &pytest,
            PEER,
        ]))
        .with_context(|| format!("pip could not install {PEER}"))?;
    }
    Ok(python)
}

/// A copy of fixtures/watch in `work`, committed to a fresh git repository.
fn project(work: &Path) -> Result<PathBuf> {
    let project = work.join("project");
    super::diagnosis::copy_tree(
        &paths::repo().join("fixtures").join("watch"),
        &project,
        &super::diagnosis::SKIP,
    )?;
    fs::write(
        project.join(".gitignore"),
        ".vigil/\n__pycache__/\n.pytest_cache/\n",
    )
    .context("writing the copy's .gitignore")?;
    let git = |args: &[&str]| {
        cmd::run(
            Command::new("git")
                .args([
                    "-c",
                    "user.name=bench",
                    "-c",
                    "user.email=bench@example.invalid",
                ])
                .args(args)
                .current_dir(&project),
        )
    };
    git(&["init", "-q"])?;
    git(&["add", "-A"])?;
    git(&["commit", "-q", "-m", "watch fixture"])?;
    Ok(project)
}

fn percentile(samples: &[f64], p: f64) -> Option<f64> {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied()
}

fn rows(section: &Section) -> Vec<[String; 5]> {
    let header = ["watcher", "median", "p90", "saves", "target / reference"].map(String::from);
    let ms = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.0} ms"));
    let mut rows = vec![header];
    for row in &section.rows {
        let samples = row.samples.as_deref().unwrap_or(&[]);
        let median = median(samples);
        let verdict = match (row.target.starts_with("<="), median) {
            (true, Some(m)) if m <= TARGET_MS => " ok",
            (true, Some(_)) => " MISS",
            _ => "",
        };
        rows.push([
            row.tool.clone(),
            ms(median),
            ms(percentile(samples, 0.9)),
            samples.len().to_string(),
            format!("{}{verdict}", row.target),
        ]);
    }
    rows
}

const LEGEND: &str = "watch latency: file saved (written and closed) → the test process \
    started (a wrapper script logs its start). pytest-watcher runs every test on each save; \
    vigil runs the tests the change affects";

impl Section {
    pub fn text(&self) -> String {
        let mut out = format!("watch latency\n{}{LEGEND}\n", padded(&rows(self)));
        for note in &self.notes {
            out += &format!("note: {note}\n");
        }
        out
    }

    pub fn markdown(&self) -> String {
        let mut out = String::from("\n## Watch\n\n");
        for (i, row) in rows(self).iter().enumerate() {
            out += &format!("| {} |\n", row.join(" | "));
            if i == 0 {
                out += "|---|---|---|---|---|\n";
            }
        }
        out += &format!("\n{LEGEND}.\n");
        for note in &self.notes {
            out += &format!("\n- {}", note.replace('\n', " "));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let samples: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&samples, 0.9), Some(18.0));
        assert_eq!(percentile(&[5.0], 0.9), Some(5.0));
        assert_eq!(percentile(&[], 0.9), None);
    }

    #[test]
    fn rows_mark_the_target_and_keep_unmeasured_tools() {
        let section = Section {
            rows: vec![
                Row {
                    tool: "vigil watch".into(),
                    samples: Some(vec![60.0, 70.0, 80.0]),
                    target: "<= 100 ms".into(),
                },
                Row {
                    tool: "peer".into(),
                    samples: None,
                    target: PEER_DOCUMENTED.into(),
                },
            ],
            notes: vec!["peer: not measured: pip".into()],
        };
        let rows = rows(&section);
        assert_eq!(rows[1][1], "70 ms");
        assert_eq!(rows[1][4], "<= 100 ms ok");
        assert_eq!(rows[2][1], "-");
        assert!(section.text().contains("note: peer: not measured"));
    }
}
