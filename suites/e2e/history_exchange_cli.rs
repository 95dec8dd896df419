//! `vigil history export` / `import` as CI uses them: two jobs restore a copy of a shared
//! history, each records a real run, one exports its new run and the other hands over its
//! whole database; the shared history takes both once, however often they are imported, and a
//! corrupt export is refused by file and line while the other files still import.

use std::path::Path;
use std::process::Output;

use libtest_mimic::{Failed, Trial};
use serde_json::Value;

use crate::support::{self, check, exited, TestResult};

pub fn trials() -> Vec<Trial> {
    vec![Trial::test(
        "history_exchange::ci_copies_of_a_shared_history_combine_once",
        ci_copies_combine,
    )]
}

/// `vigil --history DB ARGS` in `dir`.
fn vigil(dir: &Path, db: &str, args: &[&str]) -> Result<Output, Failed> {
    let mut all = vec!["--history", db];
    all.extend_from_slice(args);
    support::vigil(dir, &all)
}

/// The uids of the runs in `db`, newest first.
fn uids(dir: &Path, db: &str) -> Result<Vec<String>, Failed> {
    let out = vigil(dir, db, &["history", "--format", "json"])?;
    exited(&out, 0)?;
    let runs: Vec<Value> = serde_json::from_slice(&out.stdout)?;
    Ok(runs
        .iter()
        .map(|r| r["uid"].as_str().unwrap_or_default().to_string())
        .collect())
}

fn ci_copies_combine() -> TestResult {
    let dir = support::fixture("failing")?;
    let path = dir.path();
    exited(&vigil(path, "shared.db", &["run", "-j", "2"])?, 1)?;
    for job in ["job1.db", "job2.db"] {
        std::fs::copy(path.join("shared.db"), path.join(job))?;
        exited(&vigil(path, job, &["run", "-j", "2"])?, 1)?;
    }
    // Job 1 hands over its new run as an export, job 2 its whole database.
    let out = vigil(
        path,
        "job1.db",
        &[
            "history",
            "export",
            "--last",
            "1",
            "--output",
            "out/job1.jsonl",
        ],
    )?;
    exited(&out, 0)?;
    check(
        support::text(&out).starts_with("exported 1 run to "),
        || support::text(&out),
    )?;
    let import = ["history", "import", "out/job1.jsonl", "job2.db"];
    let out = vigil(path, "shared.db", &import)?;
    exited(&out, 0)?;
    let want = "imported 1 run from out/job1.jsonl (0 already present)\n\
                imported 1 run from job2.db (1 already present)\n";
    check(support::text(&out) == want, || support::text(&out))?;
    let shared = uids(path, "shared.db")?;
    let (job1, job2) = (uids(path, "job1.db")?, uids(path, "job2.db")?);
    let want = vec![job2[0].clone(), job1[0].clone(), job1[1].clone()];
    check(shared == want && job1[1] == job2[1], || {
        format!("shared {shared:?}, job1 {job1:?}, job2 {job2:?}")
    })?;
    // Again: nothing new.
    let out = vigil(path, "shared.db", &import)?;
    exited(&out, 0)?;
    check(
        support::text(&out).contains("imported 0 runs from job2.db (2 already present)"),
        || support::text(&out),
    )?;
    check(uids(path, "shared.db")? == want, || {
        "runs were added twice".into()
    })?;
    corrupt_export_is_refused(path)
}

/// A corrupt line: exit 4 naming file:line, nothing of that file, the next file imported.
fn corrupt_export_is_refused(path: &Path) -> TestResult {
    let out = vigil(path, "job2.db", &["history", "export"])?;
    exited(&out, 0)?;
    let text = String::from_utf8(out.stdout)?;
    let mut lines: Vec<&str> = text.lines().collect();
    check(lines.len() == 3, || text.clone())?;
    lines[2] = "{\"uid\": 12";
    std::fs::write(path.join("bad.jsonl"), lines.join("\n"))?;
    let out = vigil(
        path,
        "fresh.db",
        &["history", "import", "bad.jsonl", "job1.db"],
    )?;
    exited(&out, 4)?;
    let text = support::text(&out);
    check(
        text.contains("vigil: error: bad.jsonl:3: not a run")
            && text.contains("imported 2 runs from job1.db (0 already present)"),
        || text.clone(),
    )?;
    let fresh = uids(path, "fresh.db")?;
    check(fresh == uids(path, "job1.db")?, || format!("{fresh:?}"))
}
