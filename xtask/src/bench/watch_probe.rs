//! Timing one file watcher the way a person meets it: save a file, and see how long until the
//! test process starts. The watcher runs tests through a wrapper script that logs
//! `date +%s%N` and its arguments before it starts the real Python; a save's latency is the
//! first logged start of a test process after it, minus the wall-clock time just after the
//! file was written and closed.

use anyhow::{bail, Context, Result};
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Longest wait for a watcher to start, a test process to start, or a run to end.
const PATIENCE: Duration = Duration::from_secs(60);
/// After a run ends, before the next save: late events of the run (caches, bytecode) settle.
const SETTLE: Duration = Duration::from_millis(300);
/// Plus up to this much, varied per save: a peer that polls would otherwise see every save
/// at the same point of its cycle (its cycle starts again when its run ends).
const JITTER_MS: u64 = 100;

/// The file every save rewrites, and the two bodies it alternates between: both keep the test
/// passing and both change `add`, so a selector that reads definitions still picks its test.
pub const SAVED_FILE: &str = "app/calc.py";
const BODIES: [&str; 2] = ["return a + b", "return b + a"];

/// A wrapper script around `command` (a program and its first arguments) that logs every
/// start; with `logs_end` it also logs the end (it then waits for the command instead of
/// becoming it: for a peer whose runs print no end line of their own).
pub fn write_wrapper(path: &Path, log: &Path, command: &[String], logs_end: bool) -> Result<()> {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let log = quote(&log.display().to_string());
    let command: Vec<String> = command.iter().map(|c| quote(c)).collect();
    let command = command.join(" ");
    let run = match logs_end {
        false => format!("exec {command} \"$@\""),
        true => format!(
            "{command} \"$@\"\nstatus=$?\necho \"$(date +%s%N) end\" >> {log}\nexit $status"
        ),
    };
    let script = format!("#!/bin/sh\necho \"$(date +%s%N) $*\" >> {log}\n{run}\n");
    fs::write(path, script).with_context(|| format!("writing {}", path.display()))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("making {} executable", path.display()))
}

/// A watcher process and the lines it has printed.
pub struct Watcher {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    log: PathBuf,
}

impl Watcher {
    /// Starts `cmd` (stdin closed, as in CI) and waits for a line containing `ready`.
    pub fn start(mut cmd: Command, log: &Path, ready: &str) -> Result<Watcher> {
        eprintln!("$ {}", crate::cmd::show(&cmd));
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("could not start `{}`", crate::cmd::show(&cmd)))?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        collect(child.stdout.take(), &lines);
        collect(child.stderr.take(), &lines);
        let watcher = Watcher {
            child,
            lines,
            log: log.to_path_buf(),
        };
        watcher.wait_line(0, ready)?;
        Ok(watcher)
    }

    fn output(&self) -> String {
        self.lines.lock().map(|l| l.join("\n")).unwrap_or_default()
    }

    fn count_lines(&self, needle: &str) -> usize {
        let lines = self.lines.lock();
        lines.map_or(0, |l| l.iter().filter(|l| l.contains(needle)).count())
    }

    /// Waits until more than `seen` printed lines contain `needle`.
    pub fn wait_line(&self, seen: usize, needle: &str) -> Result<()> {
        let deadline = Instant::now() + PATIENCE;
        while self.count_lines(needle) <= seen {
            if Instant::now() > deadline {
                bail!("no line with {needle:?}; output:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }

    /// Saves `rounds` times and returns each save's latency in milliseconds. `is_start` picks
    /// the logged lines that are a test process starting; a run's end is a printed line with
    /// `done` in it, or (without one) a logged `end`.
    pub fn time_saves(
        &self,
        project: &Path,
        rounds: usize,
        is_start: &dyn Fn(&str) -> bool,
        done: Option<&str>,
    ) -> Result<Vec<f64>> {
        let mut samples = Vec::new();
        for round in 0..rounds {
            let before = log_lines(&self.log);
            let ends = done.map(|d| self.count_lines(d));
            let saved = save(project, round)?;
            let started = self.wait_logged(before.len(), is_start)?;
            samples.push((started - saved) as f64 / 1e6);
            match (done, ends) {
                (Some(done), Some(ends)) => self.wait_line(ends, done)?,
                _ => self
                    .wait_logged(before.len(), &|l| l.ends_with(" end"))
                    .map(drop)?,
            }
            std::thread::sleep(SETTLE + jitter(round));
        }
        Ok(samples)
    }

    /// The timestamp of the first new log line (after `skip`) that `matches`.
    fn wait_logged(&self, skip: usize, matches: &dyn Fn(&str) -> bool) -> Result<i128> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let found = log_lines(&self.log)
                .into_iter()
                .skip(skip)
                .filter(|l| matches(l))
                .filter_map(|l| l.split_whitespace().next()?.parse::<i128>().ok())
                .min();
            if let Some(at) = found {
                return Ok(at);
            }
            if Instant::now() > deadline {
                bail!(
                    "no test process started after a save; output:\n{}",
                    self.output()
                );
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// SIGTERM (both watchers stop on it), then a kill if it does not.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Rewrites the saved file with the next body (write and close), then reads the wall clock.
fn save(project: &Path, round: usize) -> Result<i128> {
    let path = project.join(SAVED_FILE);
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let (from, to) = (BODIES[round % 2], BODIES[(round + 1) % 2]);
    if !text.contains(from) {
        bail!("{} has no {from:?}", path.display());
    }
    fs::write(&path, text.replace(from, to))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(now_ns())
}

/// A spread of waits without a random number crate: the rounds' golden-ratio sequence.
fn jitter(round: usize) -> Duration {
    let fraction = (round as f64 * 0.618_033_988_75).fract();
    Duration::from_millis((fraction * JITTER_MS as f64) as u64)
}

fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

fn log_lines(log: &Path) -> Vec<String> {
    fs::read_to_string(log)
        .map(|t| t.lines().map(String::from).collect())
        .unwrap_or_default()
}

fn collect(stream: Option<impl Read + Send + 'static>, lines: &Arc<Mutex<Vec<String>>>) {
    let Some(stream) = stream else { return };
    let lines = Arc::clone(lines);
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if let Ok(mut lines) = lines.lock() {
                lines.push(line);
            }
        }
    });
}
