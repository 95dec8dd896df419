//! Which changed paths are not source changes: tool and VCS directories, virtualenvs, caches,
//! editor temp and swap files, vigil's own output, `[watch] ignore` globs and git-ignored files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use super::gitignore::Gitignores;
use super::WatchError;

/// Directories whose contents are never sources, at any depth: VCS data, virtualenvs by their
/// usual names, caches that tools (pytest, mypy, hypothesis, vigil) write while tests run —
/// a run that writes into a watched directory must not trigger the next run.
const TOOL_DIRS: [&str; 16] = [
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    ".vigil",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    ".tox",
    ".nox",
    ".eggs",
    "node_modules",
    "target",
];

/// Directories ignored only at the project root: `reports/` is where runs write JUnit and
/// HTML, while `app/reports/` deeper down may well be source code.
const ROOT_DIRS: [&str; 1] = ["reports"];

pub struct IgnoreRules {
    root: PathBuf,
    /// `[watch] ignore`, relative to the root.
    globs: GlobSet,
    /// Files vigil writes itself (the history database and its journals, the JUnit file).
    own: Vec<PathBuf>,
    gitignore: Gitignores,
    /// Directory (relative) → whether it is a virtualenv, asked of the disk once.
    venvs: HashMap<PathBuf, bool>,
}

impl IgnoreRules {
    pub fn new(
        root: &Path,
        globs: &[String],
        own: Vec<PathBuf>,
    ) -> Result<IgnoreRules, WatchError> {
        let mut builder = GlobSetBuilder::new();
        for pattern in globs {
            let glob = Glob::new(pattern).map_err(|e| WatchError::Glob {
                pattern: pattern.clone(),
                message: e.to_string(),
            })?;
            builder.add(glob);
        }
        let globs = builder.build().map_err(|e| WatchError::Glob {
            pattern: globs.join(", "),
            message: e.to_string(),
        })?;
        Ok(IgnoreRules {
            root: root.to_path_buf(),
            globs,
            own: with_journals(own),
            gitignore: Gitignores::new(root),
            venvs: HashMap::new(),
        })
    }

    /// Whether a change of `path` (absolute) is not a source change.
    pub fn ignored(&mut self, path: &Path) -> bool {
        let Ok(rel) = path.strip_prefix(&self.root) else {
            return true;
        };
        if rel.as_os_str().is_empty() {
            return false;
        }
        if ignored_by_name(rel) || self.own.iter().any(|o| o == path) {
            return true;
        }
        if self.globs.is_match(rel) || rel.ancestors().any(|a| self.globs.is_match(a)) {
            return true;
        }
        if self.in_virtualenv(rel) {
            return true;
        }
        self.gitignore.ignored(path, path.is_dir())
    }

    /// Keeps the `.gitignore` cache current; call for every changed path, ignored or not.
    pub fn saw_change(&mut self, path: &Path) {
        self.gitignore.forget(path);
    }

    /// Whether a directory above `rel` (or `rel` itself) is a virtualenv under another name
    /// than `.venv` / `venv`: it has a `pyvenv.cfg` (or is a conda environment).
    fn in_virtualenv(&mut self, rel: &Path) -> bool {
        let dirs: Vec<PathBuf> = rel
            .ancestors()
            .skip(1)
            .filter(|d| !d.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .collect();
        for dir in dirs.into_iter().rev() {
            let root = &self.root;
            let venv = *self.venvs.entry(dir.clone()).or_insert_with(|| {
                let abs = root.join(&dir);
                abs.join("pyvenv.cfg").is_file() || abs.join("conda-meta").is_dir()
            });
            if venv {
                return true;
            }
        }
        false
    }
}

/// SQLite writes beside the database: the journal, the WAL and its shared memory.
fn with_journals(own: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut all = Vec::new();
    for path in own {
        for suffix in ["-journal", "-wal", "-shm"] {
            let mut name = path.clone().into_os_string();
            name.push(suffix);
            all.push(PathBuf::from(name));
        }
        all.push(path);
    }
    all
}

/// The rules that need only the path (relative to the root): tool directories, root-only
/// directories, compiled files and editor temp files.
pub fn ignored_by_name(rel: &Path) -> bool {
    let names: Vec<&str> = rel
        .components()
        .map(|c| c.as_os_str().to_str().unwrap_or(""))
        .collect();
    let Some((file, _)) = names.split_last() else {
        return false;
    };
    if names
        .iter()
        .any(|n| TOOL_DIRS.contains(n) || is_tool_dir_pattern(n))
    {
        return true;
    }
    if ROOT_DIRS.contains(&names[0]) {
        return true;
    }
    is_compiled_or_coverage(file) || is_editor_temp(file)
}

/// `x.egg-info`, and `pytest-cache-files-*`: pytest builds `.pytest_cache` under a temporary
/// name in the rootdir and renames it, during the run.
fn is_tool_dir_pattern(name: &str) -> bool {
    name.ends_with(".egg-info") || name.starts_with("pytest-cache-files-")
}

fn is_compiled_or_coverage(name: &str) -> bool {
    name.ends_with(".pyc") || name.ends_with(".pyo") || name.starts_with(".coverage")
}

/// Files editors write around a save: vim's swap files (`.x.py.swp`, `.swo`, ...) and the
/// `4913` it creates to test that the directory is writable, backups (`x.py~`), emacs lock and
/// autosave files (`.#x.py`, `#x.py#`), JetBrains' safe-write temporaries.
pub fn is_editor_temp(name: &str) -> bool {
    let vim_swap = name.rsplit_once('.').is_some_and(|(_, ext)| {
        ext.len() == 3 && ext.starts_with("sw") && ext[2..].chars().all(|c| c.is_ascii_lowercase())
    });
    vim_swap
        || name == "4913"
        || name.ends_with('~')
        || name.starts_with(".#")
        || (name.len() > 1 && name.starts_with('#') && name.ends_with('#'))
        || name.ends_with("___jb_tmp___")
        || name.ends_with("___jb_old___")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_directories_at_any_depth() {
        for rel in [
            ".git/index",
            ".venv/lib/python3.12/site-packages/x.py",
            "venv/bin/python",
            "pkg/__pycache__/mod.cpython-312.pyc",
            ".vigil/history.db",
            ".pytest_cache/v/cache/lastfailed",
            "rust/target/debug/build.log",
            "app.egg-info/PKG-INFO",
            "sub/.hypothesis/examples/x",
            "pytest-cache-files-up23rd1d/CACHEDIR.TAG",
        ] {
            assert!(ignored_by_name(Path::new(rel)), "{rel}");
        }
    }

    #[test]
    fn reports_only_at_the_root() {
        assert!(ignored_by_name(Path::new("reports/junit.xml")));
        assert!(!ignored_by_name(Path::new("app/reports/views.py")));
    }

    #[test]
    fn sources_are_not_ignored() {
        for rel in [
            "app/calc.py",
            "tests/test_calc.py",
            "conftest.py",
            "data/x.json",
            "4913.py",
        ] {
            assert!(!ignored_by_name(Path::new(rel)), "{rel}");
        }
    }

    #[test]
    fn editor_temp_files() {
        for name in [
            ".calc.py.swp",
            ".calc.py.swo",
            ".calc.py.swx",
            "4913",
            "calc.py~",
            ".#calc.py",
            "#calc.py#",
            "calc.py___jb_tmp___",
        ] {
            assert!(is_editor_temp(name), "{name}");
        }
        for name in ["calc.py", "swap.py", "notes.sw", "#", "x.swift"] {
            assert!(!is_editor_temp(name), "{name}");
        }
    }

    #[test]
    fn globs_virtualenvs_own_files_and_gitignore() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("env311/lib")).unwrap();
        std::fs::write(root.join("env311/pyvenv.cfg"), "home = /usr\n").unwrap();
        std::fs::create_dir_all(root.join("app")).unwrap();
        std::fs::write(root.join(".gitignore"), "*.sqlite\n").unwrap();
        let globs = vec!["data/**".to_string(), "*.tmp".to_string()];
        let db = root.join("ci/history.db");
        let mut rules = IgnoreRules::new(root, &globs, vec![db.clone()]).unwrap();
        assert!(rules.ignored(&root.join("data/big/file.csv")));
        assert!(rules.ignored(&root.join("app/x.tmp")));
        assert!(rules.ignored(&root.join("env311/lib/site.py")));
        assert!(rules.ignored(&db));
        assert!(rules.ignored(&root.join("ci/history.db-wal")));
        assert!(rules.ignored(&root.join("app/cache.sqlite")));
        assert!(
            rules.ignored(Path::new("/elsewhere/x.py")),
            "outside the root"
        );
        assert!(!rules.ignored(&root.join("app/calc.py")));
    }

    #[test]
    fn a_bad_glob_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let error = IgnoreRules::new(dir.path(), &["a/[b".to_string()], vec![])
            .err()
            .unwrap();
        assert!(error.to_string().contains("a/[b"), "{error}");
    }
}
