//! `vigil snapshot` as a user types it: `-C`, id prefixes, a dry run that changes nothing,
//! and the exit codes a script relies on (4 for a wrong id or path, 1 when `verify` finds a
//! damaged blob or a restore refuses a tampered manifest).

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use libtest_mimic::{Failed, Trial};

use crate::support::{self, check, TestResult};

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test("snapshot::create_diff_dry_run_restore", round_trip),
        Trial::test("snapshot::exit_codes", exit_codes),
    ]
}

/// Runs vigil from `cwd` (no Python involved: snapshots do not run tests).
fn vigil(cwd: &Path, args: &[&str]) -> Result<Output, Failed> {
    Ok(Command::new(support::vigil_bin())
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .args(args)
        .output()?)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A project with `data/a.txt`, `data/b.txt` and `notes.txt`, snapshotted (data/ only)
/// through `-C` from its parent; returns the id.
fn project(dir: &Path) -> Result<String, Failed> {
    let root = dir.join("project");
    fs::create_dir_all(root.join("data"))?;
    fs::write(root.join("data/a.txt"), "a")?;
    fs::write(root.join("data/b.txt"), "b")?;
    fs::write(root.join("notes.txt"), "n")?;
    let out = vigil(
        dir,
        &["-C", "project", "snapshot", "create", "data", "--name", "t"],
    )?;
    support::exited(&out, 0)?;
    let id = stdout(&out)
        .strip_prefix("snapshot ")
        .and_then(|rest| rest.split(':').next())
        .map(str::to_string)
        .ok_or_else(|| format!("no id in {:?}", stdout(&out)))?;
    Ok(id)
}

fn round_trip() -> TestResult {
    let dir = tempfile::tempdir()?;
    let id = project(dir.path())?;
    let root = dir.path().join("project");
    fs::write(root.join("data/a.txt"), "edited")?;
    fs::remove_file(root.join("data/b.txt"))?;
    fs::write(root.join("data/c.txt"), "new")?;
    fs::write(root.join("notes.txt"), "outside the snapshot")?;
    let prefix = &id[..15];
    let diff = vigil(&root, &["snapshot", "diff", prefix])?;
    support::exited(&diff, 0)?;
    check(
        stdout(&diff) == "M data/a.txt\nD data/b.txt\nA data/c.txt\n",
        || stdout(&diff),
    )?;
    let dry = vigil(&root, &["snapshot", "restore", prefix, "--dry-run"])?;
    support::exited(&dry, 0)?;
    check(
        fs::read_to_string(root.join("data/a.txt"))? == "edited",
        || "the dry run changed a file".into(),
    )?;
    let real = vigil(&root, &["snapshot", "restore", prefix])?;
    support::exited(&real, 0)?;
    let actions = |out: &Output| {
        stdout(out)
            .lines()
            .filter(|l| !l.contains(':'))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    check(actions(&dry) == actions(&real), || {
        format!("dry run:\n{}\nrestore:\n{}", stdout(&dry), stdout(&real))
    })?;
    check(stdout(&dry).contains("would make 3 changes"), || {
        stdout(&dry)
    })?;
    check(fs::read_to_string(root.join("data/a.txt"))? == "a", || {
        "a.txt".into()
    })?;
    check(fs::read_to_string(root.join("data/b.txt"))? == "b", || {
        "b.txt".into()
    })?;
    check(!root.join("data/c.txt").exists(), || {
        "c.txt is still there".into()
    })?;
    check(
        fs::read_to_string(root.join("notes.txt"))? == "outside the snapshot",
        || "restore touched a file it does not cover".into(),
    )?;
    let list = vigil(&root, &["snapshot", "list", "--format", "json"])?;
    support::exited(&list, 0)?;
    let listed: serde_json::Value = serde_json::from_slice(&list.stdout)?;
    check(
        listed[0]["id"] == id.as_str() && listed[0]["name"] == "t",
        || stdout(&list),
    )
}

fn exit_codes() -> TestResult {
    let dir = tempfile::tempdir()?;
    let id = project(dir.path())?;
    let root = dir.path().join("project");
    support::exited(&vigil(&root, &["snapshot", "restore", "nope"])?, 4)?;
    support::exited(&vigil(&root, &["snapshot", "create", "../elsewhere"])?, 4)?;
    support::exited(&vigil(&root, &["snapshot", "create", "missing.txt"])?, 4)?;
    support::exited(&vigil(&root, &["snapshot", "verify"])?, 0)?;

    // One blob damaged: verify names it and the snapshot, and exits 1.
    let blobs = root.join(".vigil/snapshots/blobs");
    let shard = fs::read_dir(&blobs)?
        .filter_map(Result::ok)
        .find(|e| e.file_name().len() == 2)
        .ok_or("no blob shard")?;
    let blob = fs::read_dir(shard.path())?.next().ok_or("no blob")??.path();
    fs::write(&blob, "damaged")?;
    let verify = vigil(&root, &["snapshot", "verify", &id])?;
    support::exited(&verify, 1)?;
    check(
        stdout(&verify).contains(&id) && stdout(&verify).contains("corrupt"),
        || stdout(&verify),
    )?;

    // A manifest edited to write outside the root: refused, exit 1, the entry named.
    let manifest = root.join(format!(".vigil/snapshots/manifests/{id}.json"));
    let text = fs::read_to_string(&manifest)?.replace("\"data/a.txt\"", "\"data/../../escape\"");
    fs::write(&manifest, text)?;
    let restore = vigil(&root, &["snapshot", "restore", &id])?;
    support::exited(&restore, 1)?;
    check(
        support::text(&restore).contains("data/../../escape"),
        || support::text(&restore),
    )?;
    check(!dir.path().join("escape").exists(), || {
        "wrote outside the root".into()
    })
}
