//! The history figures of `cargo xtask bench`: ingest speed, `vigil trends` time and database
//! bytes per result, measured by driving the release binary (xtask does not link the vigil
//! library). Ingest goes through `vigil history generate` (hidden), which writes synthetic runs
//! with `Store::record`, one transaction per run, exactly as `vigil run` records itself.

use crate::cmd;
use anyhow::{ensure, Context, Result};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 1000;
const TESTS: usize = 1000;
const INGEST_TARGET_S: f64 = 5.0;
const TRENDS_TARGET_MS: f64 = 300.0;
const BYTES_TARGET: f64 = 40.0;
/// Timed `vigil trends` runs after one warm-up; the median is reported.
const TRENDS_ROUNDS: usize = 7;
/// The JUnit import figure (informational): files × test cases each.
const IMPORT_FILES: usize = 20;
const IMPORT_TESTS: usize = 5000;

pub struct Figure {
    pub what: String,
    pub value: String,
    pub target: String,
    /// None for a figure without a target.
    pub ok: Option<bool>,
}

/// Builds a database of RUNS × TESTS results and measures it; `work` is emptied first.
pub fn measure(vigil: &Path, work: &Path) -> Result<Vec<Figure>> {
    if work.exists() {
        fs::remove_dir_all(work).with_context(|| format!("emptying {}", work.display()))?;
    }
    fs::create_dir_all(work).with_context(|| format!("creating {}", work.display()))?;
    let db = work.join("history.db");
    let results = (RUNS * TESTS) as f64;
    let ingest = ingest(vigil, &db)?;
    let bytes = db_bytes(&db)? as f64 / results;
    let trends_default = trends(vigil, &db, &[])?;
    let trends_all = trends(
        vigil,
        &db,
        &["--runs", "1000", "--recent", "50", "--baseline", "50"],
    )?;
    let import = import(vigil, work)?;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Ok(vec![
        Figure {
            what: format!("ingest {RUNS} runs x {TESTS} results (Store::record, wall time of `vigil history generate`)"),
            value: format!("{:.2} s ({:.0} results/s)", ingest.as_secs_f64(), results / ingest.as_secs_f64()),
            target: format!("<= {INGEST_TARGET_S} s"),
            ok: Some(ingest.as_secs_f64() <= INGEST_TARGET_S),
        },
        Figure {
            what: format!("`vigil trends` (default options: last 30 runs), median of {TRENDS_ROUNDS}"),
            value: format!("{:.0} ms", ms(trends_default)),
            target: format!("<= {TRENDS_TARGET_MS} ms"),
            ok: Some(ms(trends_default) <= TRENDS_TARGET_MS),
        },
        Figure {
            what: format!("`vigil trends --runs 1000 --recent 50 --baseline 50`, median of {TRENDS_ROUNDS}"),
            value: format!("{:.0} ms", ms(trends_all)),
            target: format!("<= {TRENDS_TARGET_MS} ms"),
            ok: Some(ms(trends_all) <= TRENDS_TARGET_MS),
        },
        Figure {
            what: "database bytes per result (db + wal after wal_checkpoint(TRUNCATE))".into(),
            value: format!("{bytes:.1} B"),
            target: format!("<= {BYTES_TARGET} B"),
            ok: Some(bytes <= BYTES_TARGET),
        },
        Figure {
            what: format!("`vigil history import` of {IMPORT_FILES} JUnit files x {IMPORT_TESTS} cases (XML parsing included)"),
            value: format!("{:.2} s ({:.0} results/s)", import.as_secs_f64(), (IMPORT_FILES * IMPORT_TESTS) as f64 / import.as_secs_f64()),
            target: "-".into(),
            ok: None,
        },
    ])
}

fn vigil_cmd(vigil: &Path, db: &Path) -> Command {
    let mut cmd = Command::new(vigil);
    cmd.arg("--history").arg(db);
    cmd
}

/// Wall time of the whole `vigil history generate` process, checkpoint included.
fn ingest(vigil: &Path, db: &Path) -> Result<Duration> {
    let mut cmd = vigil_cmd(vigil, db);
    cmd.args(["history", "generate", "--runs", &RUNS.to_string()])
        .args(["--tests", &TESTS.to_string()]);
    let start = Instant::now();
    cmd::run(&mut cmd)?;
    Ok(start.elapsed())
}

/// The database file plus its WAL, if one is left.
fn db_bytes(db: &Path) -> Result<u64> {
    let size = |p: PathBuf| fs::metadata(p).map_or(0, |m| m.len());
    let main = size(db.to_path_buf());
    ensure!(main > 0, "{} was not written", db.display());
    Ok(main + size(PathBuf::from(format!("{}-wal", db.display()))))
}

/// Median wall time of `vigil trends ARGS` (stdout discarded) after one warm-up run.
fn trends(vigil: &Path, db: &Path, args: &[&str]) -> Result<Duration> {
    let mut times = Vec::new();
    for round in 0..=TRENDS_ROUNDS {
        let mut cmd = vigil_cmd(vigil, db);
        cmd.arg("trends").args(args).stdout(Stdio::null());
        if round == 0 {
            eprintln!("$ {} (x{}, median)", cmd::show(&cmd), TRENDS_ROUNDS);
        }
        let start = Instant::now();
        let status = cmd.status().context("running vigil trends")?;
        let took = start.elapsed();
        ensure!(status.success(), "`{}` failed ({status})", cmd::show(&cmd));
        if round > 0 {
            times.push(took);
        }
    }
    times.sort();
    Ok(times[times.len() / 2])
}

/// Wall time of one `vigil history import` of generated pytest-style JUnit files.
fn import(vigil: &Path, work: &Path) -> Result<Duration> {
    let dir = work.join("junit");
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut files = Vec::new();
    for i in 0..IMPORT_FILES {
        let path = dir.join(format!("shard-{i}.xml"));
        fs::write(&path, junit(i, IMPORT_TESTS))
            .with_context(|| format!("writing {}", path.display()))?;
        files.push(path);
    }
    let mut cmd = vigil_cmd(vigil, &work.join("imported.db"));
    cmd.args(["history", "import"])
        .args(&files)
        .stdout(Stdio::null());
    let start = Instant::now();
    cmd::run(&mut cmd)?;
    Ok(start.elapsed())
}

/// A pytest-shaped report: `tests.<tier>.test_mod_M` classnames, ~3% failures.
fn junit(shard: usize, tests: usize) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<testsuites name=\"pytest tests\">\
         <testsuite name=\"pytest\" timestamp=\"2025-03-01T10:00:00+00:00\">\n",
    );
    for t in 0..tests {
        let tier = ["unit", "integration", "e2e"][t / 20 % 3];
        let _ = write!(
            xml,
            "<testcase classname=\"tests.{tier}.test_mod_{}\" name=\"test_case_{}[p{shard}]\" time=\"0.{:03}\"",
            t / 20,
            t % 20,
            (t * 37 + shard) % 1000
        );
        if (t * 31 + shard * 7) % 100 < 3 {
            let _ = writeln!(
                xml,
                "><failure message=\"AssertionError: assert {t} == 0\">trace</failure></testcase>"
            );
        } else {
            xml.push_str("/>\n");
        }
    }
    xml.push_str("</testsuite></testsuites>\n");
    xml
}

/// The figures as aligned text.
pub fn text(figures: &[Figure]) -> String {
    format!("history figures\n{}", super::table::padded(&rows(figures)))
}

/// The figures as a Markdown section.
pub fn markdown(figures: &[Figure]) -> String {
    let mut out = String::from("\n## History\n\n");
    for (i, row) in rows(figures).iter().enumerate() {
        out += &format!("| {} |\n", row.join(" | "));
        if i == 0 {
            out += "|---|---|---|---|\n";
        }
    }
    out
}

fn rows(figures: &[Figure]) -> Vec<[String; 4]> {
    let header = ["figure", "measured", "target", "verdict"].map(String::from);
    let verdict = |ok: Option<bool>| match ok {
        Some(true) => "ok",
        Some(false) => "MISS",
        None => "-",
    };
    std::iter::once(header)
        .chain(figures.iter().map(|f| {
            [
                f.what.clone(),
                f.value.clone(),
                f.target.clone(),
                verdict(f.ok).to_string(),
            ]
        }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_shows_verdicts() {
        let figures = vec![
            Figure {
                what: "ingest".into(),
                value: "1.00 s".into(),
                target: "<= 5 s".into(),
                ok: Some(true),
            },
            Figure {
                what: "size".into(),
                value: "41.0 B".into(),
                target: "<= 40 B".into(),
                ok: Some(false),
            },
        ];
        let text = text(&figures);
        assert!(text.contains("ingest | 1.00 s   | <= 5 s  | ok"), "{text}");
        assert!(text.contains("| MISS"), "{text}");
        assert!(markdown(&figures).contains("| size | 41.0 B | <= 40 B | MISS |"));
    }

    #[test]
    fn generated_junit_parses() {
        let xml = junit(1, 100);
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let cases = doc.descendants().filter(|n| n.has_tag_name("testcase"));
        assert_eq!(cases.count(), 100);
    }
}
