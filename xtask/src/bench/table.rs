//! The results table, as aligned text for the terminal and as Markdown for reports/bench.md.

use super::fidelity::Count;
use super::tools::Tool;
use std::collections::BTreeMap;

/// Suites the speed targets apply to; tiny suites are dominated by start-up cost.
const MEDIUM: [&str; 2] = ["jinja2", "click"];
const J1_TARGET: f64 = 1.03;
const J2_TARGET: f64 = 0.85;

const HEADER: [&str; 10] = [
    "suite",
    "pytest s",
    "vigil -j1 s",
    "ratio j1/pytest",
    "xdist -n2 s",
    "vigil -j2 s",
    "ratio j2/xdist",
    "fidelity j1",
    "fidelity j2",
    "fidelity xdist (ref)",
];

const TARGETS: &str =
    "targets: j1/pytest <= 1.03 and j2/xdist <= 0.85 on medium suites (jinja2, click); \
    0 mismatches everywhere. fidelity = mismatches/testcases in pytest's own --junitxml";

pub struct Row {
    pub suite: String,
    /// Median wall seconds; None when the tool was not run or failed.
    pub secs: BTreeMap<Tool, Option<f64>>,
    /// Median of per-round ratios to the peer (vigil -j1 to pytest, vigil -j2 to xdist).
    pub ratios: BTreeMap<Tool, Option<f64>>,
    pub fidelity: BTreeMap<Tool, Count>,
    pub notes: Vec<String>,
}

pub struct Report {
    pub rows: Vec<Row>,
    pub runs: usize,
    pub memory: String,
}

impl Row {
    pub fn new(suite: &str) -> Row {
        Row {
            suite: suite.into(),
            secs: BTreeMap::new(),
            ratios: BTreeMap::new(),
            fidelity: BTreeMap::new(),
            notes: Vec::new(),
        }
    }

    fn cells(&self) -> Vec<String> {
        let medium = MEDIUM.contains(&self.suite.as_str());
        vec![
            self.suite.clone(),
            self.secs_cell(Tool::Pytest),
            self.secs_cell(Tool::VigilJ1),
            self.ratio_cell(Tool::VigilJ1, Tool::Pytest, medium.then_some(J1_TARGET)),
            self.secs_cell(Tool::Xdist),
            self.secs_cell(Tool::VigilJ2),
            self.ratio_cell(Tool::VigilJ2, Tool::Xdist, medium.then_some(J2_TARGET)),
            self.fidelity_cell(Tool::VigilJ1),
            self.fidelity_cell(Tool::VigilJ2),
            self.fidelity_cell(Tool::Xdist),
        ]
    }

    fn secs(&self, tool: Tool) -> Option<f64> {
        self.secs.get(&tool).copied().flatten()
    }

    fn secs_cell(&self, tool: Tool) -> String {
        self.secs(tool).map_or("-".into(), |s| format!("{s:.2}"))
    }

    fn ratio_cell(&self, tool: Tool, peer: Tool, target: Option<f64>) -> String {
        let paired = self.ratios.get(&tool).copied().flatten();
        let Some(ratio) = paired.or_else(|| Some(self.secs(tool)? / self.secs(peer)?)) else {
            return "-".into();
        };
        match target {
            Some(t) => format!("{ratio:.2} (<= {t}: {})", verdict(ratio <= t)),
            None => format!("{ratio:.2}"),
        }
    }

    fn fidelity_cell(&self, tool: Tool) -> String {
        match self.fidelity.get(&tool) {
            Some(c) => format!(
                "{}/{} {}",
                c.mismatches,
                c.total,
                verdict(c.mismatches == 0)
            ),
            None => "-".into(),
        }
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "MISS"
    }
}

impl Report {
    fn intro(&self) -> String {
        let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
        format!(
            "Seconds are the median wall time over {} timed runs after one warm-up run, \
             the four commands alternating within each round (a different one first each \
             round); ratios are the median of the per-round ratios; {cpus} CPUs.",
            self.runs
        )
    }

    fn table(&self) -> Vec<Vec<String>> {
        let header = HEADER.iter().map(|h| h.to_string()).collect();
        std::iter::once(header)
            .chain(self.rows.iter().map(Row::cells))
            .collect()
    }

    fn notes(&self) -> Vec<String> {
        let per_row = self
            .rows
            .iter()
            .flat_map(|r| r.notes.iter().map(move |n| format!("{}: {n}", r.suite)));
        per_row.collect()
    }

    /// Columns padded to their widest cell.
    pub fn text(&self) -> String {
        let mut out = format!("{}\n\n", self.intro());
        out += &padded(&self.table());
        out += &format!("\n{TARGETS}\n{}\n", self.memory);
        for note in self.notes() {
            out += &format!("note: {note}\n");
        }
        out
    }

    pub fn markdown(&self) -> String {
        let table = self.table();
        let mut out = format!("# vigil benchmark\n\n{}\n\n", self.intro());
        for (i, row) in table.iter().enumerate() {
            out += &format!("| {} |\n", row.join(" | "));
            if i == 0 {
                out += &format!("|{}\n", "---|".repeat(row.len()));
            }
        }
        out += &format!("\n{TARGETS}.\n\n{}\n", self.memory);
        let notes = self.notes();
        if !notes.is_empty() {
            out += "\n## Notes\n\n";
            for note in notes {
                out += &format!("- {}\n", note.replace('\n', " "));
            }
        }
        out
    }
}

/// Rows as text, each column padded to its widest cell and separated by ` | `.
pub fn padded<R: AsRef<[String]>>(rows: &[R]) -> String {
    let columns = rows.iter().map(|r| r.as_ref().len()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.as_ref().get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .as_ref()
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out += cells.join(" | ").trim_end();
        out += "\n";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        let mut row = Row::new("jinja2");
        row.secs = [
            (Tool::Pytest, Some(5.0)),
            (Tool::VigilJ1, Some(5.1)),
            (Tool::Xdist, Some(4.0)),
            (Tool::VigilJ2, None),
        ]
        .into_iter()
        .collect();
        row.fidelity.insert(
            Tool::VigilJ1,
            Count {
                mismatches: 0,
                total: 909,
            },
        );
        row.notes
            .push("vigil -j2 timing dropped: exited with 3".into());
        Report {
            rows: vec![row],
            runs: 5,
            memory: "vigil peak RSS: 20 MB".into(),
        }
    }

    #[test]
    fn cells_show_ratios_targets_and_gaps() {
        let cells = report().rows[0].cells();
        assert_eq!(cells[3], "1.02 (<= 1.03: ok)");
        assert_eq!(cells[5], "-");
        assert_eq!(cells[6], "-");
        assert_eq!(cells[7], "0/909 ok");
    }

    #[test]
    fn markdown_has_header_separator_and_notes() {
        let md = report().markdown();
        assert!(md.contains("| suite | pytest s |"));
        assert!(md.contains("|---|---|"));
        assert!(md.contains("- jinja2: vigil -j2 timing dropped"));
    }
}
