//! The selection figure's results: per-suite rows against the goals (mean share selected
//! <= 30 %, no failing test missed), the worst trials by share, every trial with a miss, and
//! all per-trial data as JSON (target/bench/selection.json).

use super::diagnosis::markdown_table;
use super::selection::Point;
use super::table::padded;
use super::timing::median;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

const SHARE_GOAL: f64 = 0.30;
/// Trials listed as the worst by share.
const WORST: usize = 5;
/// Missed ids shown per trial (the JSON has them all).
const SHOWN_MISSES: usize = 5;

const HEADER: [&str; 8] = [
    "suite",
    "tests",
    "trials kept/tried",
    "mean share",
    "median share",
    "all selected",
    "failing tests",
    "missed",
];

const LEGEND: &str = "goals: mean share <= 30 % and 0 failing tests missed; MISS marks one not \
    reached. A trial: one source function raises RuntimeError as its first statement; kept when \
    a test that passed at baseline then fails. share: tests `vigil list --changed` printed / \
    tests `vigil list` printed. failing: tests that fail with the mutation (node ids, pytest's \
    own report). all selected: trials where vigil selected every test";

/// One kept mutation trial.
pub struct Trial {
    pub point: Point,
    pub total: usize,
    /// Selected ids among the collected ones, sorted.
    pub selected: Vec<String>,
    /// Tests that failed with the mutation and not at baseline.
    pub failing: Vec<String>,
    /// Failing tests not selected.
    pub missed: Vec<String>,
    /// Missed tests that failed again without the mutation, dropped from failing and missed.
    pub flaky: Vec<String>,
    /// pytest could not start with the mutation (a conftest failed to import): every test fails.
    pub broke_collection: bool,
    /// `vigil list --changed` failed; the selection is every test of the files
    /// `vigil list --changed --files` printed (an upper bound).
    pub from_files: bool,
    /// vigil's summary line.
    pub vigil_said: String,
    pub list_error: Option<String>,
    /// Ids vigil printed that `vigil list` did not.
    pub unknown_selected: Vec<String>,
    pub pytest_secs: f64,
    pub list_ms: u128,
}

impl Trial {
    pub fn share(&self) -> f64 {
        self.selected.len() as f64 / self.total.max(1) as f64
    }

    fn selected_cell(&self) -> String {
        let approx = if self.from_files { "<= " } else { "" };
        format!(
            "{approx}{}/{} ({:.1}%)",
            self.selected.len(),
            self.total,
            self.share() * 100.0
        )
    }

    /// One line for the progress log.
    pub fn progress(&self) -> String {
        format!(
            "{}: {} failing, selected {}, missed {}{}",
            self.point.label(),
            self.failing.len(),
            self.selected_cell(),
            self.missed.len(),
            self.marks()
        )
    }

    /// What is special about the trial, for the listings.
    fn marks(&self) -> String {
        let mut marks = String::new();
        if self.broke_collection {
            marks += " [the suite could not start: every test failed]";
        }
        if let Some(err) = &self.list_error {
            marks += &format!(" [vigil list --changed failed ({err}); selection from --files]");
        }
        if !self.flaky.is_empty() {
            marks += &format!(
                " [{} failing tests dropped: they fail unmutated too]",
                self.flaky.len()
            );
        }
        marks
    }

    /// The missed tests per file (with whether vigil selected anything of that file), then
    /// the first missed ids.
    fn missed_lines(&self) -> Vec<String> {
        let selected_files: BTreeSet<&str> = self.selected.iter().map(|id| file_of(id)).collect();
        let mut per_file: BTreeMap<&str, usize> = BTreeMap::new();
        for id in &self.missed {
            *per_file.entry(file_of(id)).or_default() += 1;
        }
        let files: Vec<String> = per_file
            .iter()
            .map(|(file, n)| {
                let how = match selected_files.contains(file) {
                    true => "file partly selected",
                    false => "file not selected",
                };
                format!("{file} {n} ({how})")
            })
            .collect();
        let mut lines = vec![format!("by file: {}", files.join(", "))];
        lines.extend(self.missed.iter().take(SHOWN_MISSES).cloned());
        if self.missed.len() > SHOWN_MISSES {
            lines.push(format!("... and {} more", self.missed.len() - SHOWN_MISSES));
        }
        lines
    }

    fn json(&self) -> Value {
        json!({
            "file": self.point.file,
            "def_line": self.point.def_line,
            "function": self.point.name,
            "inserted_before_line": self.point.line,
            "total": self.total,
            "selected_count": self.selected.len(),
            "share": self.share(),
            "failing_count": self.failing.len(),
            "missed_count": self.missed.len(),
            "failing": self.failing,
            "missed": self.missed,
            "flaky_dropped": self.flaky,
            "broke_collection": self.broke_collection,
            "selection_from_files": self.from_files,
            "vigil_said": self.vigil_said,
            "list_error": self.list_error,
            "unknown_selected": self.unknown_selected,
            "pytest_secs": self.pytest_secs,
            "list_changed_ms": self.list_ms,
            "selected": self.selected,
        })
    }
}

fn file_of(id: &str) -> &str {
    id.split("::").next().unwrap_or(id)
}

/// One suite's trials.
pub struct SuiteResult {
    pub name: String,
    /// Tests `vigil list` collected.
    pub total: usize,
    pub baseline_failing: Vec<String>,
    /// Mutation points the suite's source has.
    pub functions: usize,
    /// Candidates tried (kept or not).
    pub tried: usize,
    pub trials: Vec<Trial>,
    /// Why candidates were not kept, and how many.
    pub skipped: BTreeMap<String, usize>,
    pub notes: Vec<String>,
}

impl SuiteResult {
    pub fn new(name: &str, total: usize) -> SuiteResult {
        SuiteResult {
            name: name.into(),
            total,
            baseline_failing: Vec::new(),
            functions: 0,
            tried: 0,
            trials: Vec::new(),
            skipped: BTreeMap::new(),
            notes: Vec::new(),
        }
    }

    /// Notes where `vigil list` and pytest's own collection disagree.
    pub fn compare_collections(&mut self, vigil: &[String], pytest: &[String]) {
        let (only_vigil, only_pytest) = super::selection::collection_diff(vigil, pytest);
        for (side, ids) in [("vigil list", only_vigil), ("pytest", only_pytest)] {
            if !ids.is_empty() {
                let some: Vec<&str> = ids.iter().take(3).map(String::as_str).collect();
                self.notes.push(format!(
                    "{} ids only {side} collected, e.g. {}",
                    ids.len(),
                    some.join(", ")
                ));
            }
        }
    }

    fn notes(&self) -> Vec<String> {
        let mut notes = self.notes.clone();
        if !self.baseline_failing.is_empty() {
            let some: Vec<&str> = self
                .baseline_failing
                .iter()
                .take(3)
                .map(String::as_str)
                .collect();
            notes.push(format!(
                "{} tests fail at baseline here and are not counted (e.g. {})",
                self.baseline_failing.len(),
                some.join(", ")
            ));
        }
        let skipped: Vec<String> = self
            .skipped
            .iter()
            .map(|(why, n)| format!("{n} {why}"))
            .collect();
        if !skipped.is_empty() {
            notes.push(format!("candidates not kept: {}", skipped.join("; ")));
        }
        let broke = self.trials.iter().filter(|t| t.broke_collection).count();
        if broke > 0 {
            notes.push(format!(
                "{broke} trials broke the suite's start-up (every test failed)"
            ));
        }
        let files = self.trials.iter().filter(|t| t.from_files).count();
        if files > 0 {
            notes.push(format!(
                "{files} trials: `vigil list --changed` failed, their selection is every test of \
                 the files `--changed --files` printed (an upper bound: such a trial's misses are \
                 certain, its share may be high)"
            ));
        }
        let unknown: usize = self.trials.iter().map(|t| t.unknown_selected.len()).sum();
        if unknown > 0 {
            notes.push(format!(
                "{unknown} selected ids were not in `vigil list`'s and are not counted"
            ));
        }
        notes
    }

    fn row(&self) -> Vec<String> {
        let tried = format!("{}/{}", self.trials.len(), self.tried);
        let mut row = figures(&self.trials.iter().collect::<Vec<_>>());
        row.insert(0, self.name.clone());
        row.insert(1, self.total.to_string());
        row.insert(2, tried);
        row
    }

    fn json(&self) -> Value {
        json!({
            "suite": self.name,
            "tests": self.total,
            "functions": self.functions,
            "tried": self.tried,
            "kept": self.trials.len(),
            "skipped": self.skipped,
            "baseline_failing": self.baseline_failing,
            "notes": self.notes(),
            "trials": self.trials.iter().map(Trial::json).collect::<Vec<_>>(),
        })
    }
}

/// mean share, median share, all selected, failing, missed over `trials`.
fn figures(trials: &[&Trial]) -> Vec<String> {
    let shares: Vec<f64> = trials.iter().map(|t| t.share()).collect();
    if shares.is_empty() {
        return vec!["-".into(); 5];
    }
    let mean = shares.iter().sum::<f64>() / shares.len() as f64;
    let median = median(&shares).unwrap_or(mean);
    let all = trials
        .iter()
        .filter(|t| t.selected.len() == t.total)
        .count();
    let failing: usize = trials.iter().map(|t| t.failing.len()).sum();
    let missed: usize = trials.iter().map(|t| t.missed.len()).sum();
    let missing_trials = trials.iter().filter(|t| !t.missed.is_empty()).count();
    let missed = match missed {
        0 => "0 ok".to_string(),
        n => format!("{n} in {missing_trials} trials MISS"),
    };
    vec![
        format!(
            "{:.1}% (<= 30%: {})",
            mean * 100.0,
            verdict(mean <= SHARE_GOAL)
        ),
        format!("{:.1}%", median * 100.0),
        all.to_string(),
        failing.to_string(),
        missed,
    ]
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "MISS"
    }
}

/// The selection section.
pub struct Section {
    pub trials_wanted: usize,
    pub suites: Vec<SuiteResult>,
    pub notes: Vec<String>,
}

impl Section {
    fn all_trials(&self) -> Vec<(&str, &Trial)> {
        let each = self
            .suites
            .iter()
            .map(|s| s.trials.iter().map(move |t| (s.name.as_str(), t)));
        each.flatten().collect()
    }

    fn table(&self) -> Vec<Vec<String>> {
        let mut rows = vec![HEADER.iter().map(|h| h.to_string()).collect()];
        rows.extend(self.suites.iter().map(SuiteResult::row));
        let trials: Vec<&Trial> = self.all_trials().into_iter().map(|(_, t)| t).collect();
        let kept = trials.len();
        let tried: usize = self.suites.iter().map(|s| s.tried).sum();
        let mut total = figures(&trials);
        total.insert(0, "total".into());
        total.insert(1, "-".into());
        total.insert(2, format!("{kept}/{tried}"));
        rows.push(total);
        rows
    }

    /// The highest shares first; among equal shares, fewer failing tests first (the
    /// selection was least warranted there).
    fn worst(&self) -> Vec<Vec<String>> {
        let mut trials = self.all_trials();
        trials.sort_by(|(_, a), (_, b)| {
            b.share()
                .total_cmp(&a.share())
                .then(a.failing.len().cmp(&b.failing.len()))
        });
        let header = [
            "suite",
            "function",
            "selected",
            "failing",
            "missed",
            "vigil said",
        ];
        let mut rows = vec![header.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
        for (suite, t) in trials.into_iter().take(WORST) {
            rows.push(vec![
                suite.to_string(),
                t.point.label(),
                t.selected_cell(),
                t.failing.len().to_string(),
                t.missed.len().to_string(),
                format!("{}{}", t.vigil_said, t.marks()),
            ]);
        }
        rows
    }

    /// Every trial with a miss: a heading line, then its missed ids.
    fn misses(&self) -> Vec<(String, Vec<String>)> {
        let trials = self
            .all_trials()
            .into_iter()
            .filter(|(_, t)| !t.missed.is_empty());
        trials
            .map(|(suite, t)| {
                let head = format!(
                    "{suite} {}: missed {} of {} failing; selected {}; {}{}",
                    t.point.label(),
                    t.missed.len(),
                    t.failing.len(),
                    t.selected_cell(),
                    t.vigil_said,
                    t.marks()
                );
                (head, t.missed_lines())
            })
            .collect()
    }

    fn notes(&self) -> Vec<String> {
        let per_suite = self.suites.iter().flat_map(|s| {
            s.notes()
                .into_iter()
                .map(move |n| format!("{}: {n}", s.name))
        });
        self.notes.iter().cloned().chain(per_suite).collect()
    }

    fn intro(&self) -> String {
        format!(
            "selection figures: mutation trials on real suites, up to {} kept per suite \
             (a fixed-seed sample of the source functions; plain pytest says what fails, \
             `vigil list --changed` what it would run)",
            self.trials_wanted
        )
    }

    pub fn text(&self) -> String {
        let mut out = format!("{}\n", self.intro());
        out += &padded(&self.table());
        out += &format!("{LEGEND}\n\nworst {WORST} trials by share\n");
        out += &padded(&self.worst());
        let misses = self.misses();
        out += &format!("\ntrials with a miss: {}\n", misses.len());
        for (head, ids) in misses {
            out += &format!("{head}\n");
            for id in ids {
                out += &format!("    {id}\n");
            }
        }
        for note in self.notes() {
            out += &format!("note: {note}\n");
        }
        out
    }

    pub fn markdown(&self) -> String {
        let mut out = format!("\n## Selection\n\n{}.\n\n", self.intro());
        out += &markdown_table(&self.table());
        out += &format!("\n{LEGEND}.\n\n### Worst {WORST} trials by share\n\n");
        out += &markdown_table(&self.worst());
        let misses = self.misses();
        out += &format!("\n### Trials with a miss: {}\n\n", misses.len());
        for (head, ids) in misses {
            out += &format!("- {head}\n");
            for id in ids {
                out += &format!("  - `{id}`\n");
            }
        }
        let notes = self.notes();
        if !notes.is_empty() {
            out += "\n### Notes\n\n";
            for note in notes {
                out += &format!("- {}\n", note.replace('\n', " "));
            }
        }
        out
    }

    pub fn json(&self) -> Value {
        json!({
            "goal_mean_share": SHARE_GOAL,
            "trials_per_suite": self.trials_wanted,
            "suites": self.suites.iter().map(SuiteResult::json).collect::<Vec<_>>(),
            "notes": self.notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(name: &str, selected: usize, failing: &[&str], missed: &[&str]) -> Trial {
        Trial {
            point: Point {
                file: "src/p/m.py".into(),
                line: 3,
                indent: "    ".into(),
                name: name.into(),
                def_line: 2,
            },
            total: 10,
            selected: (0..selected).map(|i| format!("t/a.py::t{i}")).collect(),
            failing: failing.iter().map(|s| s.to_string()).collect(),
            missed: missed.iter().map(|s| s.to_string()).collect(),
            flaky: Vec::new(),
            broke_collection: false,
            from_files: false,
            vigil_said: "vigil: 1 file changed since HEAD: 1 affected test targets".into(),
            list_error: None,
            unknown_selected: Vec::new(),
            pytest_secs: 1.0,
            list_ms: 20,
        }
    }

    fn section() -> Section {
        let mut suite = SuiteResult::new("jinja2", 10);
        suite.tried = 3;
        suite.trials = vec![
            trial("f", 1, &["t/a.py::t0"], &[]),
            trial("g", 10, &["t/a.py::t3"], &[]),
            trial(
                "h",
                1,
                &["t/a.py::t0", "t/a.py::t5", "t/b.py::u"],
                &["t/a.py::t5", "t/b.py::u"],
            ),
        ];
        suite.skipped.insert("no test failed".into(), 2);
        Section {
            trials_wanted: 3,
            suites: vec![suite],
            notes: Vec::new(),
        }
    }

    #[test]
    fn rows_hold_the_goals_and_totals() {
        let table = section().table();
        assert_eq!(table[1][..3], ["jinja2", "10", "3/3"]);
        assert_eq!(table[1][3], "40.0% (<= 30%: MISS)");
        assert_eq!(table[1][4], "10.0%");
        assert_eq!(table[1][5..], ["1", "5", "2 in 1 trials MISS"]);
        assert_eq!(table[2][0], "total");
        let mut ok = section();
        ok.suites[0].trials.truncate(1);
        assert_eq!(
            ok.table()[1][3..],
            ["10.0% (<= 30%: ok)", "10.0%", "0", "1", "0 ok"]
        );
    }

    #[test]
    fn worst_and_misses_are_informative() {
        let s = section();
        let worst = s.worst();
        assert_eq!(worst[1][1], "src/p/m.py:2 g");
        assert_eq!(worst[1][2], "10/10 (100.0%)");
        let misses = s.misses();
        assert_eq!(misses.len(), 1);
        assert!(misses[0]
            .0
            .starts_with("jinja2 src/p/m.py:2 h: missed 2 of 3 failing; selected 1/10 (10.0%)"));
        assert_eq!(
            misses[0].1,
            [
                "by file: t/a.py 1 (file partly selected), t/b.py 1 (file not selected)",
                "t/a.py::t5",
                "t/b.py::u"
            ]
        );
        let text = s.text();
        assert!(text.contains("trials with a miss: 1\n"));
        assert!(text.contains("note: jinja2: candidates not kept: 2 no test failed"));
        let json = s.json();
        assert_eq!(json["suites"][0]["trials"][2]["missed_count"], 2);
        assert!(s.markdown().contains("| suite | tests |"));
    }
}
