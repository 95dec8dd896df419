//! What `vigil watch` shows. On a terminal: the screen cleared before each run and a status
//! that fits one screen after it (what changed, what was selected and why, the tally, the
//! failing tests, the keys). Otherwise plain lines and no clearing, so logs and tests can read
//! it; either way each run starts and ends with a line a script can find (`vigil watch: ...`).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use super::runner::Finished;

const KEYS: &str = "keys: a run all · f failed only · Enter rerun · q quit";
/// Changed paths named before "+N more".
const SHOWN_CHANGES: usize = 3;

/// What a run was asked for, in words.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Described {
    /// "all tests", "3 targets", "2 failing tests".
    pub what: String,
    /// "initial run", "changed: app/calc.py", "key a".
    pub why: String,
    /// The selector's reasons, one line each.
    pub reasons: Vec<String>,
}

/// Everything the status shows.
pub struct Status<'a> {
    pub root: &'a Path,
    pub profile: &'a str,
    pub described: Option<&'a Described>,
    pub last: Option<&'a Finished>,
    pub failing: Vec<&'a str>,
}

pub struct Screen {
    tty: bool,
}

impl Screen {
    pub fn new() -> Screen {
        Screen {
            tty: std::io::stdout().is_terminal(),
        }
    }

    /// One `vigil watch:` line.
    pub fn say(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "vigil watch: {text}");
        let _ = out.flush();
    }

    /// A run starts: a clean screen on a terminal, then its line.
    pub fn starting(&self, described: &Described, first_pass: Option<usize>) {
        if self.tty {
            let _ = console::Term::stdout().clear_screen();
        }
        self.say(&running_line(described, first_pass));
    }

    /// A run ended: its line, its errors, then the status.
    pub fn finished(&self, finished: &Finished, status: &Status) {
        for error in &finished.errors {
            self.say(&format!("error: {error}"));
        }
        self.say(&finished_line(finished));
        self.status(status);
    }

    pub fn status(&self, status: &Status) {
        let rows = match self.tty {
            true => console::Term::stdout().size().0 as usize,
            false => usize::MAX,
        };
        let mut out = std::io::stdout().lock();
        let _ = write!(out, "{}", render_status(status, rows));
        let _ = out.flush();
    }
}

pub fn running_line(described: &Described, first_pass: Option<usize>) -> String {
    let first = match first_pass {
        Some(1) => "; 1 previously failing test first".to_string(),
        Some(n) => format!("; {n} previously failing tests first"),
        None => String::new(),
    };
    format!("running {} ({}){first}", described.what, described.why)
}

pub fn finished_line(finished: &Finished) -> String {
    let secs = finished.duration.as_secs_f64();
    let tally = finished.tally().describe();
    if finished.cancelled {
        format!("cancelled after {secs:.1}s ({tally})")
    } else {
        format!("finished: {tally} in {secs:.1}s")
    }
}

/// Up to a few paths relative to the root, then how many more.
pub fn describe_changes(root: &Path, changes: &[PathBuf]) -> String {
    let shown: Vec<String> = changes
        .iter()
        .take(SHOWN_CHANGES)
        .map(|p| p.strip_prefix(root).unwrap_or(p).display().to_string())
        .collect();
    let mut text = shown.join(", ");
    if changes.len() > SHOWN_CHANGES {
        text.push_str(&format!(" (+{} more)", changes.len() - SHOWN_CHANGES));
    }
    text
}

/// The status block, cut to `rows` lines by listing fewer failing tests.
pub fn render_status(status: &Status, rows: usize) -> String {
    let mut head = vec![format!(
        "── vigil watch · {} · profile {} ──",
        status.root.display(),
        status.profile
    )];
    if let Some(described) = status.described {
        head.push(format!("run:      {} ({})", described.what, described.why));
        head.extend(
            described
                .reasons
                .iter()
                .take(3)
                .map(|r| format!("          {r}")),
        );
    }
    if let Some(last) = status.last {
        let state = if last.cancelled {
            "cancelled"
        } else {
            "finished"
        };
        let secs = last.duration.as_secs_f64();
        head.push(format!(
            "result:   {} in {secs:.1}s ({state})",
            last.tally().describe()
        ));
    }
    let mut lines = head;
    if !status.failing.is_empty() {
        lines.push(format!("failing ({}):", status.failing.len()));
        // The block ends with the keys line and a spare row for the prompt.
        let room = rows.saturating_sub(lines.len() + 2).max(1);
        let n = status.failing.len();
        let shown = if n <= room {
            n
        } else {
            room.saturating_sub(1).max(1)
        };
        lines.extend(
            status
                .failing
                .iter()
                .take(shown)
                .map(|id| format!("  {id}")),
        );
        if shown < n {
            lines.push(format!("  ... and {} more", n - shown));
        }
    }
    lines.push(KEYS.to_string());
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Outcome;
    use std::time::Duration;

    fn finished(outcomes: &[(&str, Outcome)], cancelled: bool) -> Finished {
        Finished {
            outcomes: outcomes
                .iter()
                .map(|(id, o)| (id.to_string(), *o))
                .collect(),
            duration: Duration::from_millis(820),
            cancelled,
            complete: !cancelled,
            errors: vec![],
        }
    }

    #[test]
    fn lines_a_script_can_find() {
        let described = Described {
            what: "3 targets".into(),
            why: "changed: app/calc.py".into(),
            reasons: vec![],
        };
        assert_eq!(
            running_line(&described, None),
            "running 3 targets (changed: app/calc.py)"
        );
        assert_eq!(
            running_line(&described, Some(2)),
            "running 3 targets (changed: app/calc.py); 2 previously failing tests first"
        );
        let done = finished(&[("a", Outcome::Passed), ("b", Outcome::Failed)], false);
        assert_eq!(finished_line(&done), "finished: 1 failed, 1 passed in 0.8s");
        let cut = finished(&[("a", Outcome::Passed)], true);
        assert_eq!(finished_line(&cut), "cancelled after 0.8s (1 passed)");
    }

    #[test]
    fn changes_are_shown_relative_and_capped() {
        let root = Path::new("/p");
        let changes: Vec<PathBuf> = ["a.py", "b.py", "c.py", "d.py", "e.py"]
            .iter()
            .map(|n| root.join(n))
            .collect();
        assert_eq!(describe_changes(root, &changes[..1]), "a.py");
        assert_eq!(
            describe_changes(root, &changes),
            "a.py, b.py, c.py (+2 more)"
        );
    }

    #[test]
    fn the_status_fits_the_screen() {
        let described = Described {
            what: "all tests".into(),
            why: "initial run".into(),
            reasons: vec![],
        };
        let ids: Vec<String> = (0..50).map(|i| format!("t.py::test_{i}")).collect();
        let last = finished(&[("t.py::test_0", Outcome::Failed)], false);
        let status = Status {
            root: Path::new("/p"),
            profile: "watch",
            described: Some(&described),
            last: Some(&last),
            failing: ids.iter().map(String::as_str).collect(),
        };
        let text = render_status(&status, 12);
        assert!(text.lines().count() <= 11, "{text}");
        assert!(text.contains("  ... and "), "{text}");
        assert!(text.ends_with(&format!("{KEYS}\n")), "{text}");
        let all = render_status(&status, usize::MAX);
        assert!(
            all.contains("t.py::test_49") && !all.contains("more"),
            "{all}"
        );
    }
}
