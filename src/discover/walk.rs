//! Walks the collection roots for test files with the `ignore` crate: pytest's
//! `norecursedirs`, virtualenv and `__pycache__` rules, plus `.gitignore`.

use std::path::{Path, PathBuf};

use super::fnmatch::PathPattern;

/// The rules that decide which directories are entered and which files are tests.
pub struct WalkRules {
    pub python_files: Vec<PathPattern>,
    pub norecursedirs: Vec<PathPattern>,
}

/// Test files under `root` (or `root` itself when it is a file), sorted.
pub fn test_files(root: &Path, rules: &WalkRules) -> Vec<PathBuf> {
    if root.is_file() {
        // pytest collects a `.py` file named on the command line whatever its name.
        return if root.extension().is_some_and(|e| e == "py") {
            vec![root.to_path_buf()]
        } else {
            vec![]
        };
    }
    let mut files = Vec::new();
    let norecurse = rules.norecursedirs.clone();
    let walker = project_walker(root)
        // pytest follows symlinked directories and files; the walker stops at loops.
        .follow_links(true)
        .filter_entry(move |entry| {
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            // The root is always entered, as pytest enters a directory given as an argument.
            entry.depth() == 0 || !is_dir || enters(entry.path(), &norecurse)
        })
        .build();
    for entry in walker.flatten() {
        let path = entry.path();
        // pytest only imports `.py` files as test modules, whatever `python_files` says.
        let is_python = path.extension().is_some_and(|e| e == "py");
        if is_python && path.is_file() && rules.python_files.iter().any(|p| p.matches(path)) {
            files.push(path.to_path_buf());
        }
    }
    files.sort();
    files
}

/// pytest's rules for entering a directory: never `__pycache__` or a virtualenv, and not one
/// matching `norecursedirs`.
fn enters(dir: &Path, extra: &[PathPattern]) -> bool {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name != "__pycache__" && !is_virtualenv(dir) && !extra.iter().any(|p| p.matches(dir))
}

/// A walk of the project under `root` as git sees it: hidden files included, `.gitignore`
/// (root, nested, parents') and `.git/info/exclude` respected, with or without a repository.
pub fn project_walker(root: &Path) -> ignore::WalkBuilder {
    let mut builder = ignore::WalkBuilder::new(root);
    builder
        .hidden(false)
        .parents(true)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(false)
        .require_git(false)
        .ignore(false);
    builder
}

/// A virtualenv (or conda env) directory: never part of the project.
pub fn is_virtualenv(dir: &Path) -> bool {
    dir.join("pyvenv.cfg").is_file() || dir.join("conda-meta").join("history").is_file()
}
