//! The diagnosis figures of `cargo xtask bench`: vigil's diagnoses of the labeled failure
//! corpus (fixtures/failures) scored by `vigil diagnose --score` under each pytest traceback
//! style, how many fingerprints stay the same across styles, and what diagnosis costs
//! (diagnosis_cost.rs). Like the history figures, it drives the release binary.

use super::{diagnosis_cost, table::padded, timing};
use crate::{cmd, paths};
use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// pytest's `--tb` styles. auto comes first: the others' fingerprints are compared with its.
const STYLES: [&str; 5] = ["auto", "long", "short", "native", "line"];
/// A figure below this is printed anyway, and marked.
const TARGET: f64 = 0.95;
/// Timed `vigil diagnose` runs (after the untimed one that read its output); median reported.
pub const DIAGNOSE_ROUNDS: usize = 5;
/// Left out of the corpus copy: build output and caches of earlier runs in the source tree
/// would make the copy's first run something other than a first run.
pub(super) const SKIP: [&str; 4] = ["target", "__pycache__", ".pytest_cache", ".vigil"];

const HEADER: [&str; 9] = [
    "style",
    "labeled",
    "diagnosed",
    "category acc",
    "nature acc",
    "group precision",
    "group recall",
    "fingerprints vs groups",
    "same fp as auto",
];

const LEGEND: &str = "target: each figure >= 95 %; MISS marks one below. fingerprints vs groups: \
    distinct fingerprints vs labeled groups over the diagnosed cases. same fp as auto: failing \
    tests whose fingerprint is the one the auto style gave them";

/// What `vigil diagnose --score LABELS --format json` reports for one run.
#[derive(Debug, PartialEq)]
pub struct Score {
    pub labeled: usize,
    pub found: usize,
    pub category: f64,
    pub nature: f64,
    pub precision: f64,
    pub recall: f64,
    pub groups: usize,
    pub fingerprints: usize,
}

/// What `vigil diagnose --format json` reports for one run.
#[derive(Debug, PartialEq)]
pub struct Diagnosed {
    pub failures: usize,
    /// Test id → fingerprint, for every failure with a diagnosis.
    pub fingerprints: BTreeMap<String, String>,
}

impl Diagnosed {
    pub fn distinct(&self) -> usize {
        self.fingerprints.values().collect::<BTreeSet<_>>().len()
    }
}

pub struct StyleRow {
    pub style: &'static str,
    /// None when the style's run or its scoring failed (a note says why).
    pub score: Option<Score>,
    /// Of auto's failing tests, how many got the same fingerprint under this style.
    pub same_as_auto: Option<(usize, usize)>,
}

pub struct Section {
    pub rows: Vec<StyleRow>,
    /// Median wall time of `vigil diagnose --score` on the auto run, and that run's failures.
    pub corpus_diagnose: Option<(Duration, usize)>,
    pub cost: Option<diagnosis_cost::Cost>,
    pub notes: Vec<String>,
}

/// The corpus copy and what runs in it.
struct Corpus<'a> {
    vigil: &'a Path,
    python: &'a Path,
    dir: PathBuf,
    logs: PathBuf,
}

/// Copies the corpus to a temp dir, scores every style, then measures the cost. A style that
/// fails becomes a note and an empty row, so the other figures still print.
pub fn measure(vigil: &Path, python: &Path) -> Result<Section> {
    let tmp = tempfile::Builder::new()
        .prefix("vigil-bench-diagnosis-")
        .tempdir()
        .context("creating a temp dir for the failure corpus")?;
    let logs = paths::target_dir().join("bench").join("diagnosis");
    fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let corpus = Corpus {
        vigil,
        python,
        dir: tmp.path().join("failures"),
        logs: logs.clone(),
    };
    copy_tree(
        &paths::repo().join("fixtures").join("failures"),
        &corpus.dir,
        &SKIP,
    )?;
    let mut section = corpus.score_styles();
    eprintln!("\n== diagnosis cost: a generated project of failing tests ==");
    let bulk = tmp.path().join("bulk");
    match diagnosis_cost::measure(vigil, python, &bulk, &logs) {
        Ok(cost) => section.cost = Some(cost),
        Err(err) => section.notes.push(format!("cost not measured: {err:#}")),
    }
    Ok(section)
}

impl Corpus<'_> {
    fn score_styles(&self) -> Section {
        let mut section = Section {
            rows: Vec::new(),
            corpus_diagnose: None,
            cost: None,
            notes: Vec::new(),
        };
        let mut auto: Option<Diagnosed> = None;
        for style in STYLES {
            eprintln!("\n== diagnosis: fixtures/failures with --tb={style} ==");
            let mut row = StyleRow {
                style,
                score: None,
                same_as_auto: None,
            };
            match self.score_style(style) {
                Ok((score, diagnosed)) => {
                    row.score = Some(score);
                    row.same_as_auto = auto
                        .as_ref()
                        .map(|a| same_fingerprints(&a.fingerprints, &diagnosed.fingerprints));
                    if style == "auto" {
                        section.corpus_diagnose = self.time_diagnose(&diagnosed, &mut section);
                        auto = Some(diagnosed);
                    }
                }
                Err(err) => section.notes.push(format!("--tb={style}: {err:#}")),
            }
            section.rows.push(row);
        }
        section
    }

    /// One `vigil run` with this style, then its score and its fingerprints.
    fn score_style(&self, style: &str) -> Result<(Score, Diagnosed)> {
        self.run(style)?;
        let score = parse_score(&stdout_of(&mut self.score_cmd())?)?;
        let mut list = self.vigil_cmd();
        list.args(["diagnose", "--format", "json"]);
        let diagnosed = parse_diagnosed(&stdout_of(&mut list)?)?;
        Ok((score, diagnosed))
    }

    fn run(&self, style: &str) -> Result<Duration> {
        let mut cmd = self.vigil_cmd();
        cmd.args(["run", "-j", "2", "--python"])
            .arg(self.python)
            .arg("--")
            .arg(format!("--tb={style}"));
        // The corpus's Rust crate builds into the copy: the first style's run builds it, the
        // others reuse it, and the workspace's target dir (and its lock) stays out of it.
        cmd.env("CARGO_TARGET_DIR", self.dir.join("rust").join("target"));
        run_logged(&mut cmd, &self.logs.join(format!("corpus-tb-{style}.log")))
    }

    fn score_cmd(&self) -> Command {
        let mut cmd = self.vigil_cmd();
        cmd.args(["diagnose", "--score", "labels.toml", "--format", "json"]);
        cmd
    }

    /// The latest run, as `vigil diagnose` then sees it; failure to time is only a note.
    fn time_diagnose(
        &self,
        diagnosed: &Diagnosed,
        section: &mut Section,
    ) -> Option<(Duration, usize)> {
        match median_wall(|| self.score_cmd(), DIAGNOSE_ROUNDS) {
            Ok(took) => Some((took, diagnosed.failures)),
            Err(err) => {
                section
                    .notes
                    .push(format!("corpus diagnose not timed: {err:#}"));
                None
            }
        }
    }

    /// vigil in the corpus dir (so it reads the corpus's vigil.toml) with the copy's history.
    fn vigil_cmd(&self) -> Command {
        let mut cmd = Command::new(self.vigil);
        cmd.arg("--history")
            .arg(self.dir.join("h.db"))
            .current_dir(&self.dir);
        cmd
    }
}

/// Copies a directory tree, leaving out the `skip` names; symlinks are copied as what they
/// point to.
pub(super) fn copy_tree(from: &Path, to: &Path, skip: &[&str]) -> Result<()> {
    fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    let entries = fs::read_dir(from).with_context(|| format!("reading {}", from.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", from.display()))?;
        let name = entry.file_name();
        if skip.iter().any(|s| name == *s) {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if src.is_dir() {
            copy_tree(&src, &dst, skip)?;
        } else {
            fs::copy(&src, &dst)
                .with_context(|| format!("copying {} to {}", src.display(), dst.display()))?;
        }
    }
    Ok(())
}

/// Runs `cmd` with its output in `log` and returns its wall time. Exit 1 is success here:
/// these projects fail on purpose.
pub(super) fn run_logged(cmd: &mut Command, log: &Path) -> Result<Duration> {
    eprintln!("$ {}", cmd::show(cmd));
    let out = File::create(log).with_context(|| format!("creating {}", log.display()))?;
    cmd.stdout(Stdio::from(out.try_clone()?))
        .stderr(Stdio::from(out));
    let start = Instant::now();
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{}`", cmd::show(cmd)))?;
    let took = start.elapsed();
    if !matches!(status.code(), Some(0 | 1)) {
        bail!(
            "`{}` exited with {status}; log {}:\n{}",
            cmd::show(cmd),
            log.display(),
            timing::tail(log, 15)
        );
    }
    Ok(took)
}

/// `cmd`'s stdout; a non-zero exit is an error carrying its stderr.
pub(super) fn stdout_of(cmd: &mut Command) -> Result<String> {
    eprintln!("$ {}", cmd::show(cmd));
    let out = cmd
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("could not start `{}`", cmd::show(cmd)))?;
    ensure!(
        out.status.success(),
        "`{}` failed ({}): {}",
        cmd::show(cmd),
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8(out.stdout).with_context(|| format!("`{}` printed non-UTF-8", cmd::show(cmd)))
}

/// Median wall time of `rounds` runs of the command `make` builds, stdout discarded.
pub(super) fn median_wall(make: impl Fn() -> Command, rounds: usize) -> Result<Duration> {
    let mut secs = Vec::new();
    for round in 0..rounds {
        let mut cmd = make();
        if round == 0 {
            eprintln!("$ {} (x{rounds}, median)", cmd::show(&cmd));
        }
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let start = Instant::now();
        let status = cmd
            .status()
            .with_context(|| format!("could not start `{}`", cmd::show(&cmd)))?;
        secs.push(start.elapsed().as_secs_f64());
        ensure!(status.success(), "`{}` failed ({status})", cmd::show(&cmd));
    }
    let median = timing::median(&secs).context("no rounds to time")?;
    Ok(Duration::from_secs_f64(median))
}

fn parse_json(json: &str, what: &str) -> Result<Value> {
    serde_json::from_str(json).with_context(|| format!("{what} did not print JSON"))
}

fn count(v: &Value, key: &str) -> Result<usize> {
    let n = v.get(key).and_then(Value::as_u64);
    let n = n.with_context(|| format!("no count `{key}` in vigil's JSON"))?;
    usize::try_from(n).with_context(|| format!("`{key}` = {n} does not fit"))
}

fn ratio(v: &Value, key: &str) -> Result<f64> {
    let x = v.get(key).and_then(Value::as_f64);
    x.with_context(|| format!("no figure `{key}` in vigil's JSON"))
}

/// Parses `vigil diagnose --score LABELS --format json`.
pub fn parse_score(json: &str) -> Result<Score> {
    let v = parse_json(json, "`vigil diagnose --score`")?;
    Ok(Score {
        labeled: count(&v, "cases")?,
        found: count(&v, "found")?,
        category: ratio(&v, "category_accuracy")?,
        nature: ratio(&v, "nature_accuracy")?,
        precision: ratio(&v, "group_precision")?,
        recall: ratio(&v, "group_recall")?,
        groups: count(&v, "groups")?,
        fingerprints: count(&v, "fingerprints")?,
    })
}

/// Parses `vigil diagnose --format json`: the failure count and each grouped test's fingerprint.
pub fn parse_diagnosed(json: &str) -> Result<Diagnosed> {
    let v = parse_json(json, "`vigil diagnose`")?;
    let groups = v.get("groups").and_then(Value::as_array);
    let groups = groups.context("no `groups` list in vigil diagnose's JSON")?;
    let mut fingerprints = BTreeMap::new();
    for group in groups {
        let fp = group.get("fingerprint").and_then(Value::as_str);
        let fp = fp.context("a group without a fingerprint")?;
        let tests = group.get("tests").and_then(Value::as_array);
        for test in tests.context("a group without tests")? {
            let id = test.get("test").and_then(Value::as_str);
            let id = id.context("a group member without a test id")?;
            fingerprints.insert(id.to_string(), fp.to_string());
        }
    }
    Ok(Diagnosed {
        failures: count(&v, "failures")?,
        fingerprints,
    })
}

/// Of `reference`'s tests, how many have the same fingerprint in `other`, and how many there are.
pub fn same_fingerprints(
    reference: &BTreeMap<String, String>,
    other: &BTreeMap<String, String>,
) -> (usize, usize) {
    let same = reference
        .iter()
        .filter(|(test, fp)| other.get(*test) == Some(*fp))
        .count();
    (same, reference.len())
}

fn pct(x: f64) -> String {
    let mark = if x < TARGET { " MISS" } else { "" };
    format!("{:.1}%{mark}", x * 100.0)
}

impl StyleRow {
    fn cells(&self) -> Vec<String> {
        let Some(s) = &self.score else {
            let mut cells = vec![self.style.to_string()];
            cells.resize(HEADER.len(), "-".to_string());
            return cells;
        };
        let same = match (self.style, self.same_as_auto) {
            ("auto", _) => "(reference)".to_string(),
            (_, Some((same, total))) => format!("{same}/{total}"),
            (_, None) => "-".to_string(),
        };
        vec![
            self.style.to_string(),
            s.labeled.to_string(),
            s.found.to_string(),
            pct(s.category),
            pct(s.nature),
            pct(s.precision),
            pct(s.recall),
            format!("{} vs {}", s.fingerprints, s.groups),
            same,
        ]
    }
}

impl Section {
    fn table(&self) -> Vec<Vec<String>> {
        let header = HEADER.iter().map(|h| h.to_string()).collect();
        std::iter::once(header)
            .chain(self.rows.iter().map(StyleRow::cells))
            .collect()
    }

    /// The cost figures as [figure, measured] rows.
    fn cost_rows(&self) -> Vec<[String; 2]> {
        let mut rows = vec![["figure".to_string(), "measured".to_string()]];
        if let Some((took, failures)) = self.corpus_diagnose {
            rows.push([
                format!("`vigil diagnose --score` on the corpus's auto run ({failures} failures), median of {DIAGNOSE_ROUNDS}"),
                format!("{:.0} ms", took.as_secs_f64() * 1000.0),
            ]);
        }
        if let Some(cost) = &self.cost {
            rows.extend(cost.rows());
        }
        rows
    }

    pub fn text(&self) -> String {
        let mut out = String::from(
            "diagnosis figures: fixtures/failures per pytest --tb style \
             (`vigil run -j 2 -- --tb=STYLE`, then `vigil diagnose --score labels.toml`)\n",
        );
        out += &padded(&self.table());
        out += &format!("{LEGEND}\n\ndiagnosis cost\n");
        out += &padded(&self.cost_rows());
        for note in &self.notes {
            out += &format!("note: {note}\n");
        }
        out
    }

    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "\n## Diagnosis\n\nfixtures/failures per pytest `--tb` style \
             (`vigil run -j 2 -- --tb=STYLE`, then `vigil diagnose --score labels.toml`).\n\n",
        );
        out += &markdown_table(&self.table());
        out += &format!("\n{LEGEND}.\n\n### Cost\n\n");
        out += &markdown_table(&self.cost_rows());
        if !self.notes.is_empty() {
            out += "\n### Notes\n\n";
            for note in &self.notes {
                out += &format!("- {}\n", note.replace('\n', " "));
            }
        }
        out
    }
}

pub(super) fn markdown_table<R: AsRef<[String]>>(rows: &[R]) -> String {
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let row = row.as_ref();
        out += &format!("| {} |\n", row.join(" | "));
        if i == 0 {
            out += &format!("|{}\n", "---|".repeat(row.len()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCORE: &str = r#"{"cases": 66, "found": 65, "category_accuracy": 0.9393939393939394,
        "nature_accuracy": 1.0, "group_precision": 1.0, "group_recall": 0.95, "groups": 42,
        "fingerprints": 43, "misses": [], "unlabeled": [], "split": [], "merged": []}"#;

    const DIAGNOSED: &str = r#"{"run": {"id": 3}, "failures": 3, "groups": [
        {"fingerprint": "aa", "tests": [{"test": "t1", "outcome": "failed", "message": ""},
                                        {"test": "t2", "outcome": "failed", "message": ""}]},
        {"fingerprint": "bb", "tests": [{"test": "t3", "outcome": "error", "message": ""}]}]}"#;

    #[test]
    fn parses_score_json() {
        let s = parse_score(SCORE).unwrap();
        assert_eq!(
            (s.labeled, s.found, s.groups, s.fingerprints),
            (66, 65, 42, 43)
        );
        assert_eq!((s.nature, s.recall), (1.0, 0.95));
        assert!(parse_score(r#"{"cases": 66}"#).is_err());
        assert!(parse_score("66 labeled failures").is_err());
    }

    #[test]
    fn parses_fingerprints_and_compares_them() {
        let auto = parse_diagnosed(DIAGNOSED).unwrap();
        assert_eq!((auto.failures, auto.distinct()), (3, 2));
        let mut line = auto.fingerprints.clone();
        line.insert("t2".into(), "cc".into());
        line.remove("t3");
        assert_eq!(same_fingerprints(&auto.fingerprints, &line), (1, 3));
        assert!(parse_diagnosed(r#"{"failures": 1, "groups": [{"tests": []}]}"#).is_err());
    }

    #[test]
    fn rows_mark_figures_below_target_and_fill_gaps() {
        let row = StyleRow {
            style: "line",
            score: Some(parse_score(SCORE).unwrap()),
            same_as_auto: Some((60, 72)),
        };
        let cells = row.cells();
        assert_eq!(cells[3], "93.9% MISS");
        assert_eq!(cells[4], "100.0%");
        assert_eq!(cells[6], "95.0%");
        assert_eq!(cells[7..], ["43 vs 42", "60/72"]);
        let failed = StyleRow {
            style: "short",
            score: None,
            same_as_auto: None,
        };
        assert_eq!(
            failed.cells(),
            ["short", "-", "-", "-", "-", "-", "-", "-", "-"]
        );
    }
}
