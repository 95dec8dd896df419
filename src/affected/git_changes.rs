//! The files changed in a git work tree since a revision (committed since, staged, unstaged
//! and untracked), each with its text at that revision: what `vigil run --changed` selects from.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Before, Change};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("--changed needs a git work tree, and {0} is not in one")]
    NotARepository(PathBuf),
    #[error("--since {rev}: not a commit git knows")]
    UnknownRevision { rev: String },
    #[error("git {args}: {message}")]
    Failed { args: String, message: String },
}

/// Changes of the work tree holding `dir` against `since` (default `HEAD`).
pub fn changes_since(dir: &Path, since: Option<&str>) -> Result<Vec<Change>, GitError> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])
        .map_err(|_| GitError::NotARepository(dir.to_path_buf()))?;
    let top = PathBuf::from(top.trim_end_matches('\n'));
    let rev = since.unwrap_or("HEAD");
    let commit = format!("{rev}^{{commit}}");
    git(&top, &["rev-parse", "--verify", "--quiet", &commit]).map_err(|_| {
        GitError::UnknownRevision {
            rev: rev.to_string(),
        }
    })?;
    let tracked = git(
        &top,
        &["diff", "--name-only", "-z", "--no-renames", rev, "--"],
    )?;
    let untracked = git(&top, &["ls-files", "--others", "--exclude-standard", "-z"])?;
    let mut changes = Vec::new();
    for name in tracked.split('\0').filter(|n| !n.is_empty()) {
        changes.push(Change {
            path: top.join(name),
            before: before(&top, rev, name),
        });
    }
    for name in untracked.split('\0').filter(|n| !n.is_empty()) {
        changes.push(Change {
            path: top.join(name),
            before: Before::Absent,
        });
    }
    Ok(changes)
}

/// A Python file's text at `rev` (absent when it did not exist); other files' text is not
/// needed.
fn before(top: &Path, rev: &str, name: &str) -> Before {
    if !name.ends_with(".py") {
        return Before::Unknown;
    }
    match git(top, &["show", &format!("{rev}:{name}")]) {
        Ok(text) => Before::Text(text),
        Err(_) => Before::Absent,
    }
}

fn git(dir: &Path, args: &[&str]) -> Result<String, GitError> {
    let failed = |message: String| GitError::Failed {
        args: args.join(" "),
        message,
    };
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| failed(e.to_string()))?;
    if !output.status.success() {
        return Err(failed(
            String::from_utf8_lossy(&output.stderr).trim().to_string(),
        ));
    }
    // Not UTF-8 (a Latin-1 source, say): read lossily; the unit hashes then still compare.
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
