//! The terminal reporter: an indicatif progress bar on a TTY, plain lines otherwise and in CI,
//! `NO_COLOR` honoured; failures are shown as they happen and summarized at the end.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use console::Style;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::events::{Event, Outcome, TestResult};

use super::ci;
use super::shown::{shown_id, shown_line};
use super::summary::{render_summary, SUMMARY_GROUPS};
use super::Reporter;
use crate::diagnose::groups::{self, Group};
use crate::history::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

pub struct TerminalReporter {
    out: Box<dyn Write>,
    color: bool,
    verbose: bool,
    bar: Option<ProgressBar>,
    failures: Vec<TestResult>,
    notices: Vec<String>,
    /// The history database failure groups are looked up in (what earlier runs saw).
    history: Option<PathBuf>,
}

impl TerminalReporter {
    /// Writes to stdout; a progress bar only when stdout is a terminal outside CI (some CI
    /// runners give a terminal, and a redrawn bar makes their logs unreadable).
    pub fn stdout(choice: ColorChoice, verbose: bool) -> Self {
        let tty = std::io::stdout().is_terminal();
        let in_ci = ci::detect(&ci::process_env).is_some();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => tty && !no_color,
        };
        let bar = (tty && !in_ci).then(|| new_bar(color));
        Self::new(Box::new(std::io::stdout()), color, verbose, bar)
    }

    fn new(out: Box<dyn Write>, color: bool, verbose: bool, bar: Option<ProgressBar>) -> Self {
        TerminalReporter {
            out,
            color,
            verbose,
            bar,
            failures: Vec::new(),
            notices: Vec::new(),
            history: None,
        }
    }

    /// Looks failure groups up in this history database for the end-of-run diagnosis.
    pub fn with_history(mut self, path: Option<PathBuf>) -> Self {
        self.history = path;
        self
    }

    /// The run's failures grouped by fingerprint, with what history knew before this run.
    fn groups(&self) -> Vec<Group> {
        let mut found = groups::from_results(&self.failures);
        if found.is_empty() {
            return found;
        }
        // This run is not recorded yet (history writes last): what it finds is the past.
        let store = self
            .history
            .as_deref()
            .and_then(|p| Store::open_existing(p).ok());
        let lookup = store
            .as_ref()
            .map(|s| |fp: &str| s.fingerprint_history(fp, None).ok().flatten());
        // Only the groups the summary shows: each lookup is a query, and a run can fail in
        // thousands of ways.
        let shown = found.len().min(SUMMARY_GROUPS);
        groups::annotate(&mut found[..shown], lookup);
        found
    }

    fn line(&mut self, text: String) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => {
                let _ = writeln!(self.out, "{text}");
            }
        }
    }

    fn finished(&mut self, result: &TestResult) {
        if let Some(bar) = &self.bar {
            // A retry's result is not one more test: the bar counted it the first time.
            if result.attempt == 1 {
                bar.inc(1);
            }
            bar.set_message(shown_id(&result.id).into_owned());
        }
        if result.attempt > 1 {
            // The retry's verdict replaces the failure reported before.
            self.failures.retain(|f| f.id != result.id);
        }
        let shown = result.outcome.is_failure() || self.verbose || result.attempt > 1;
        if shown {
            let word = self.paint(result.outcome);
            let secs = result.duration.as_secs_f64();
            // A skip says why, as pytest -rs does: "requires env X", "depends on Y, which failed".
            let why = match (&result.skip, result.outcome) {
                (Some(skip), Outcome::Skipped) => format!(" - {}", shown_line(&skip.message)),
                _ => String::new(),
            };
            let retry = match result.attempt {
                1 => String::new(),
                n if result.outcome.is_failure() => format!(" [attempt {n}]"),
                n => format!(" [attempt {n}: flaky]"),
            };
            let id = shown_id(&result.id);
            self.line(format!("{word} {id} ({secs:.2}s){retry}{why}"));
        }
        if result.outcome.is_failure() {
            self.failures.push(result.clone());
        }
    }

    fn paint(&self, outcome: Outcome) -> String {
        let word = format!("{:>8}", outcome.label().to_uppercase());
        if !self.color {
            return word;
        }
        let style = match outcome {
            o if o.is_failure() => Style::new().red().bold(),
            Outcome::Passed | Outcome::XPassed => Style::new().green(),
            _ => Style::new().yellow(),
        };
        style.force_styling(true).apply_to(word).to_string()
    }
}

fn new_bar(color: bool) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stdout());
    let template = if color {
        "{elapsed_precise:.dim} [{bar:30.cyan/blue}] {pos}/{len} {wide_msg}"
    } else {
        "{elapsed_precise} [{bar:30}] {pos}/{len} {wide_msg}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

impl Reporter for TerminalReporter {
    fn on_event(&mut self, event: &Event) {
        match event {
            Event::RunStarted {
                rootdir,
                files,
                workers,
            } => {
                let plural = if *workers == 1 { "" } else { "s" };
                let text = format!(
                    "vigil: rootdir {} — {files} test files on {workers} worker{plural}",
                    rootdir.display()
                );
                self.line(text);
            }
            Event::Collected { tests, .. } => {
                if let Some(bar) = &self.bar {
                    bar.inc_length(tests.len() as u64);
                }
            }
            Event::TestFinished(result) => self.finished(result),
            Event::TestRetrying {
                id,
                attempt,
                reason,
            } => {
                let id = shown_id(id);
                self.line(format!("   RETRY {id} (attempt {attempt}: {reason})"));
            }
            Event::WorkerLost { worker, reason, .. } => {
                self.line(format!("worker {worker}: {reason}"));
            }
            Event::Notice { message } => self.notices.push(message.clone()),
            Event::Partitioned(summary) => self.line(super::render_partition_line(summary)),
            Event::RunFinished {
                tally, duration, ..
            } => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                let groups = self.groups();
                let text = render_summary(
                    &self.failures,
                    &groups,
                    &self.notices,
                    tally,
                    *duration,
                    self.color,
                );
                let _ = write!(self.out, "{text}");
                let _ = self.out.flush();
            }
            Event::WorkerStarted { .. } | Event::TestStarted { .. } => {}
        }
    }
}
