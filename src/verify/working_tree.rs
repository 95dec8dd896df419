//! `vigil verify --working-tree`: the fix is already in the work tree, uncommitted. What it
//! touches is what `git status` lists; the state to roll back to is the tree without those
//! changes, which vigil snapshots while the changes are stashed for a moment.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The project-relative paths `git status` reports changed, added or deleted.
pub fn changed(root: &Path) -> Result<Vec<PathBuf>, String> {
    let out = git(
        root,
        &["status", "--porcelain=v1", "-z", "--untracked-files=all"],
    )?;
    let mut paths = Vec::new();
    let mut entries = out.split('\0').filter(|e| !e.is_empty());
    while let Some(entry) = entries.next() {
        let (status, path) = entry.split_at(entry.len().min(3));
        // vigil's own store (history, snapshots) is not part of anyone's fix.
        if !path.starts_with(".vigil/") {
            paths.push(PathBuf::from(path));
        }
        // A rename lists the old path next: it changed too.
        if status.starts_with('R') || status.starts_with('C') {
            paths.extend(entries.next().map(PathBuf::from));
        }
    }
    if paths.is_empty() {
        return Err("the working tree has no changes to verify".to_string());
    }
    Ok(paths)
}

/// Runs `during` with the work tree's changes stashed (the tree as of HEAD), then puts them
/// back. The changes come back even when `during` fails.
pub fn while_stashed<T>(root: &Path, during: impl FnOnce() -> T) -> Result<T, String> {
    stash(root, "vigil verify")?;
    let value = during();
    git(root, &["stash", "pop", "--quiet"])?;
    Ok(value)
}

/// Stashes the work tree's changes, untracked files included, under `message`.
pub fn stash(root: &Path, message: &str) -> Result<(), String> {
    git(
        root,
        &[
            "stash",
            "push",
            "--include-untracked",
            "--quiet",
            "-m",
            message,
        ],
    )
    .map(|_| ())
}

fn git(root: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
