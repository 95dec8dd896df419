//! `vigil snapshot restore` SIGKILLed part-way through, several times over a tree of many and
//! large files: running the restore again must finish the job, leaving the tree identical to
//! the snapshot (bytes, modes, link targets, the set of paths) and no journal behind.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use libtest_mimic::{Failed, Trial};
use sha2::{Digest, Sha256};

use crate::support::{self, check, TestResult};

/// After the journal appears (the restore has begun changing files): how long until the kill.
const KILL_AFTER_MS: [u64; 4] = [0, 30, 150, 500];

/// Big files (rewritten each round, so every restore has lots to write), and a huge one.
const BIG_FILES: usize = 24;
const BIG: usize = 1 << 20;
const HUGE: usize = 24 << 20;
const SMALL_FILES: usize = 300;

pub fn trials() -> Vec<Trial> {
    vec![Trial::test(
        "snapshot_restore::sigkill_mid_restore_then_restore_again_is_identical",
        sigkill_mid_restore,
    )]
}

fn sigkill_mid_restore() -> TestResult {
    let dir = tempfile::tempdir()?;
    let root = dir.path();
    build_tree(root)?;
    let original = state(root)?;
    support::exited(
        &vigil(root, &["snapshot", "create", "--name", "stress"])?,
        0,
    )?;
    let id = snapshot_id(root)?;
    // Kills that left the tree half restored: neither the mutated state nor the original.
    let mut half_done = 0;
    let journal = root.join(".vigil/snapshots/restore.journal");
    let mut interrupting = Vec::new();
    for (round, &delay) in KILL_AFTER_MS.iter().enumerate() {
        mutate(root, round as u8)?;
        let mutated = state(root)?;
        if kill_restore(root, &id, Duration::from_millis(delay))? {
            let now = state(root)?;
            half_done += usize::from(now != mutated && now != original);
            if journal.exists() {
                interrupting.push(delay);
            }
        }
    }
    // The last kill may have come after its restore finished (a loaded machine runs the
    // restore and the timer unevenly): kill again at a delay that did interrupt one, so the
    // restore below has an interrupted one to finish.
    for (round, &delay) in interrupting.iter().cycle().take(10).enumerate() {
        if journal.exists() {
            break;
        }
        mutate(root, (KILL_AFTER_MS.len() + round) as u8)?;
        kill_restore(root, &id, Duration::from_millis(delay))?;
    }
    eprintln!(
        "snapshot_restore: {half_done} of {} kills left a half-restored tree",
        KILL_AFTER_MS.len()
    );
    check(half_done > 0, || {
        "no kill landed half-way through a restore (the check would pass vacuously)".into()
    })?;
    let again = vigil(root, &["snapshot", "restore", &id])?;
    support::exited(&again, 0)?;
    check(
        support::text(&again).contains("interrupted restore"),
        || {
            format!(
                "the last restore did not notice the kill:\n{}",
                support::text(&again)
            )
        },
    )?;
    let restored = state(root)?;
    check(restored == original, || {
        format!(
            "tree differs after the restore: {}",
            differences(&original, &restored)
        )
    })?;
    check(
        !root.join(".vigil/snapshots/restore.journal").exists(),
        || "the journal is still there".into(),
    )?;
    let diff = vigil(root, &["snapshot", "diff", &id])?;
    support::exited(&diff, 0)?;
    check(diff.stdout.is_empty(), || support::text(&diff))?;
    let verify = vigil(root, &["snapshot", "verify"])?;
    support::exited(&verify, 0)
}

fn vigil(root: &Path, args: &[&str]) -> Result<Output, Failed> {
    Ok(Command::new(support::vigil_bin())
        .current_dir(root)
        .env("NO_COLOR", "1")
        .args(args)
        .output()?)
}

fn snapshot_id(root: &Path) -> Result<String, Failed> {
    let list = vigil(root, &["snapshot", "list", "--format", "json"])?;
    support::exited(&list, 0)?;
    let value: serde_json::Value = serde_json::from_slice(&list.stdout)?;
    value[0]["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("no snapshot listed: {}", support::text(&list)).into())
}

/// Starts a restore and SIGKILLs it `delay` after it writes its journal (an earlier kill's
/// journal may be there already: only a fresh write counts). True when it was still running
/// at the kill: it died part-way through.
fn kill_restore(root: &Path, id: &str, delay: Duration) -> Result<bool, Failed> {
    let journal = root.join(".vigil/snapshots/restore.journal");
    // Coarse file-system clocks make "written after the spawn" unreliable; "written again
    // since the last kill" is not (rounds are far more than a clock tick apart).
    let written = || fs::metadata(&journal).and_then(|m| m.modified()).ok();
    let before = written();
    let mut child = Command::new(support::vigil_bin())
        .current_dir(root)
        .args(["snapshot", "restore", id])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let give_up = Instant::now() + Duration::from_secs(120);
    let fresh = || written().is_some_and(|now| Some(now) != before);
    while !fresh() && child.try_wait()?.is_none() {
        if Instant::now() > give_up {
            let _ = child.kill();
            return Err("the restore never started changing files".into());
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    std::thread::sleep(delay);
    let running = child.try_wait()?.is_none();
    let mid = running && journal.exists();
    child.kill()?; // SIGKILL
    child.wait()?;
    Ok(mid)
}

/// xorshift64: content that differs per file and per round, no crate needed.
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn write(root: &Path, rel: &str, content: &[u8], mode: u32) -> TestResult {
    let full = root.join(rel);
    if let Some(parent) = full.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(&full, content)?;
    fs::set_permissions(&full, fs::Permissions::from_mode(mode))?;
    Ok(())
}

fn build_tree(root: &Path) -> TestResult {
    for i in 0..BIG_FILES {
        write(
            root,
            &format!("big/b{i:02}.bin"),
            &bytes(i as u64, BIG),
            0o644,
        )?;
    }
    write(root, "big/huge.bin", &bytes(1000, HUGE), 0o600)?;
    for i in 0..SMALL_FILES {
        let mode = [0o644, 0o755, 0o600][i % 3];
        let rel = format!("small/d{}/s{i:03}.txt", i % 7);
        write(root, &rel, format!("small file {i}\n").as_bytes(), mode)?;
    }
    fs::create_dir_all(root.join("empty/nested"))?;
    symlink("../big/b00.bin", root.join("small/link"))?;
    symlink("d0", root.join("small/dirlink"))?;
    Ok(())
}

/// Every big file rewritten (same size, new bytes), some files and a directory deleted,
/// files added, modes and a link changed.
fn mutate(root: &Path, round: u8) -> TestResult {
    let seed = 1 + u64::from(round) * 7919;
    for i in 0..BIG_FILES {
        fs::write(
            root.join(format!("big/b{i:02}.bin")),
            bytes(seed + i as u64, BIG),
        )?;
    }
    fs::write(root.join("big/huge.bin"), bytes(seed, HUGE))?;
    let _ = fs::remove_dir_all(root.join(format!("small/d{}", round % 7)));
    let _ = fs::remove_dir_all(root.join("empty"));
    write(
        root,
        &format!("small/added{round}/new.txt"),
        b"added",
        0o644,
    )?;
    write(
        root,
        &format!("big/extra{round}.bin"),
        &bytes(seed, BIG),
        0o644,
    )?;
    let _ = fs::remove_file(root.join("small/link"));
    symlink("../big/b01.bin", root.join("small/link"))?;
    fs::set_permissions(root.join("big/b02.bin"), fs::Permissions::from_mode(0o700))?;
    Ok(())
}

/// Path → kind, mode and content digest (or link target), outside `.vigil/`.
fn state(root: &Path) -> Result<BTreeMap<String, String>, Failed> {
    let mut out = BTreeMap::new();
    let mut pending = vec![String::new()];
    while let Some(rel) = pending.pop() {
        for child in fs::read_dir(root.join(&rel))? {
            let name = child?.file_name().to_string_lossy().into_owned();
            if rel.is_empty() && name == ".vigil" {
                continue;
            }
            let path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let full = root.join(&path);
            let meta = fs::symlink_metadata(&full)?;
            let mode = meta.permissions().mode() & 0o777;
            let what = if meta.file_type().is_symlink() {
                format!("link -> {}", fs::read_link(&full)?.display())
            } else if meta.is_dir() {
                pending.push(path.clone());
                format!("dir {mode:o}")
            } else {
                let mut hasher = Sha256::new();
                std::io::copy(&mut fs::File::open(&full)?, &mut hasher)?;
                format!("file {mode:o} {:x}", hasher.finalize())
            };
            out.insert(path, what);
        }
    }
    Ok(out)
}

fn differences(want: &BTreeMap<String, String>, got: &BTreeMap<String, String>) -> String {
    let mut lines = Vec::new();
    for (path, what) in want {
        match got.get(path) {
            None => lines.push(format!("missing {path}")),
            Some(other) if other != what => lines.push(format!("{path}: {other}, want {what}")),
            _ => {}
        }
    }
    lines.extend(
        got.keys()
            .filter(|p| !want.contains_key(*p))
            .map(|p| format!("extra {p}")),
    );
    lines.truncate(20);
    lines.join("\n")
}
