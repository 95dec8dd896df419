//! The git facts a run is recorded with: commit, branch, and whether the work tree had
//! uncommitted changes. Outside a git repository (or without git) they are all unknown.

use std::path::Path;

use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GitInfo {
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub dirty: Option<bool>,
}

/// CI systems check out a detached HEAD; they name the branch in their environment.
const CI_BRANCH_VARIABLES: [&str; 4] = [
    "GITHUB_HEAD_REF",
    "GITHUB_REF_NAME",
    "CI_COMMIT_REF_NAME",
    "BUILDKITE_BRANCH",
];

impl GitInfo {
    pub fn detect(dir: &Path) -> GitInfo {
        let Some(commit) = git(dir, &["rev-parse", "HEAD"]) else {
            return GitInfo::default();
        };
        let branch = git(dir, &["rev-parse", "--abbrev-ref", "HEAD"])
            .filter(|b| b != "HEAD")
            .or_else(ci_branch);
        let dirty =
            git(dir, &["status", "--porcelain", "--untracked-files=no"]).map(|s| !s.is_empty());
        GitInfo {
            commit: Some(commit),
            branch,
            dirty,
        }
    }
}

fn ci_branch() -> Option<String> {
    CI_BRANCH_VARIABLES
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|value| !value.is_empty())
}

/// Trimmed stdout of a successful git command, `None` on any failure.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = duct::cmd("git", args)
        .dir(dir)
        .stdout_capture()
        .stderr_null()
        .unchecked()
        .run()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}
