//! Paths as GitHub knows them: relative to the repository root (`GITHUB_WORKSPACE`, the
//! checkout), where events spell them relative to the run's rootdir or absolute.

use std::path::{Component, Path, PathBuf};

use crate::events::{Location, TestResult};

/// The first place of a failure inside the repository: where it was raised, else where the
/// diagnosis located it, else its innermost project frame.
pub(crate) fn failure_place(result: &TestResult, paths: &RepoPaths) -> Option<Location> {
    let diagnosis = result.diagnosis.as_deref();
    let frames = diagnosis
        .into_iter()
        .flat_map(|d| &d.frames)
        .map(|f| Location {
            path: f.path.clone(),
            line: f.line,
        });
    result
        .problems
        .iter()
        .take(1)
        .filter_map(|p| p.location.clone())
        .chain(diagnosis.and_then(|d| d.location.clone()))
        .chain(frames)
        .find_map(|loc| {
            Some(Location {
                path: paths.file(&loc.path)?,
                line: loc.line,
            })
        })
}

/// Turns paths as events spell them (relative to the rootdir, or absolute) into paths
/// relative to the repository root, which GitHub annotates files by.
pub(crate) struct RepoPaths {
    rootdir: PathBuf,
    workspace: PathBuf,
    /// The rootdir relative to the workspace (`None`: the run was outside the checkout).
    root_in_repo: Option<PathBuf>,
}

impl RepoPaths {
    pub fn new(rootdir: &Path, workspace: Option<&Path>) -> RepoPaths {
        let workspace = workspace.unwrap_or(rootdir).to_path_buf();
        // A workspace named through a symlink (/tmp on macOS) still contains the rootdir.
        let root_in_repo = rootdir
            .strip_prefix(&workspace)
            .ok()
            .map(Path::to_path_buf)
            .or_else(|| {
                let root = rootdir.canonicalize().ok()?;
                let base = workspace.canonicalize().ok()?;
                Some(root.strip_prefix(base).ok()?.to_path_buf())
            });
        RepoPaths {
            rootdir: rootdir.to_path_buf(),
            workspace,
            root_in_repo,
        }
    }

    /// `path` relative to the repository, or `None` when it lies outside (site-packages, the
    /// standard library, a temp dir).
    pub fn file(&self, path: &str) -> Option<String> {
        if path.is_empty() {
            return None;
        }
        let path = Path::new(path);
        let in_repo = if path.is_absolute() {
            match path.strip_prefix(&self.workspace) {
                Ok(rel) => rel.to_path_buf(),
                Err(_) => self
                    .root_in_repo
                    .as_ref()?
                    .join(path.strip_prefix(&self.rootdir).ok()?),
            }
        } else {
            self.root_in_repo.as_ref()?.join(path)
        };
        let normal = normalize(&in_repo)?;
        let text = normal.to_string_lossy().into_owned();
        (!text.is_empty()).then_some(text)
    }
}

/// `a/./b/../c` as `a/c`, lexically; `None` when it climbs out of its base.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::Normal(name) => out.push(name),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_relative_to_the_workspace() {
        let paths = RepoPaths::new(Path::new("/ws/services/shop"), Some(Path::new("/ws")));
        assert_eq!(
            paths.file("tests/test_x.py").as_deref(),
            Some("services/shop/tests/test_x.py")
        );
        assert_eq!(
            paths.file("/ws/services/shop/app.py").as_deref(),
            Some("services/shop/app.py")
        );
        assert_eq!(
            paths.file("/ws/lib/common.py").as_deref(),
            Some("lib/common.py")
        );
        assert_eq!(paths.file("../../lib/x.py").as_deref(), Some("lib/x.py"));
        assert_eq!(paths.file("/usr/lib/python3/socket.py"), None);
        assert_eq!(paths.file("../../../etc/passwd"), None);
        assert_eq!(paths.file(""), None);
    }

    #[test]
    fn without_a_workspace_the_rootdir_is_the_repository() {
        let paths = RepoPaths::new(Path::new("/r"), None);
        assert_eq!(paths.file("tests/t.py").as_deref(), Some("tests/t.py"));
        assert_eq!(paths.file("/r/./app/x.py").as_deref(), Some("app/x.py"));
        let outside = RepoPaths::new(Path::new("/elsewhere"), Some(Path::new("/ws")));
        assert_eq!(outside.file("tests/t.py"), None);
    }
}
