//! A healer's fix as a unified diff: the files it touches (from its `---`/`+++` headers) and
//! applying it with `git apply`, which works in any directory, repository or not.

use std::path::{Path, PathBuf};

/// The project-relative files a unified diff changes, creates or deletes.
pub fn touched(diff: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = diff
        .lines()
        .filter_map(|l| l.strip_prefix("+++ ").or_else(|| l.strip_prefix("--- ")))
        .map(|rest| rest.split('\t').next().unwrap_or(rest).trim())
        .filter(|path| *path != "/dev/null")
        .map(|path| {
            let path = path
                .strip_prefix("a/")
                .or_else(|| path.strip_prefix("b/"))
                .unwrap_or(path);
            PathBuf::from(path)
        })
        .collect();
    files.sort();
    files.dedup();
    files
}

/// Applies `patch` in `root`; the error is git's own message.
pub fn apply(patch: &Path, root: &Path) -> Result<(), String> {
    let out = std::process::Command::new("git")
        .args(["apply", "--whitespace=nowarn"])
        .arg(patch)
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run git apply: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_name_the_touched_files() {
        let diff = "--- a/calc.py\t2026-11-22\n+++ b/calc.py\t2026-11-22\n@@ -1 +1 @@\n-x\n+y\n\
                    --- /dev/null\n+++ b/tests/test_new.py\n@@ -0,0 +1 @@\n+z\n";
        assert_eq!(
            touched(diff),
            [PathBuf::from("calc.py"), PathBuf::from("tests/test_new.py")]
        );
    }

    #[test]
    fn apply_changes_the_file_or_says_why_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("calc.py"), "x = 1\n").expect("write");
        let patch = dir.path().join("fix.patch");
        std::fs::write(
            &patch,
            "--- a/calc.py\n+++ b/calc.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n",
        )
        .expect("patch");
        apply(&patch, dir.path()).expect("applies");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("calc.py")).expect("read"),
            "x = 2\n"
        );
        let error = apply(&patch, dir.path()).expect_err("no longer applies");
        assert!(error.contains("calc.py"), "{error}");
    }
}
