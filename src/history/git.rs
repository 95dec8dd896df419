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
    /// Two git processes, as this runs before every recorded run: one `rev-parse` for the
    /// commit and the branch, one `status` for the dirty flag.
    pub fn detect(dir: &Path) -> GitInfo {
        let Some(head) = git(dir, &["rev-parse", "HEAD", "--abbrev-ref", "HEAD"]) else {
            return GitInfo::default();
        };
        let mut lines = head.lines().map(str::trim);
        let commit = lines.next().map(str::to_string);
        let branch = lines
            .next()
            .filter(|b| *b != "HEAD")
            .map(str::to_string)
            .or_else(ci_branch);
        let dirty =
            git(dir, &["status", "--porcelain", "--untracked-files=no"]).map(|s| !s.is_empty());
        GitInfo {
            commit,
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
