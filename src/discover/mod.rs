//! Discovery: turns a directory tree into the list of Python test files, by pytest's own rules
//! (rootdir and config file, `testpaths`, `python_files`, `norecursedirs`), `.gitignore` respected.
//!
//! Discovery decides how files are spread over workers; pytest in each worker still collects
//! the tests itself, so a file pytest would collect that discovery missed still runs.

mod args_split;
mod fnmatch;
mod iniformat;
pub mod lossy_path;
pub mod native;
mod pytest_config;
pub mod python_source;
mod walk;

pub use walk::{is_virtualenv, project_walker};

use std::path::{Path, PathBuf};

pub use pytest_config::PytestConfig;

/// Errors a user can act on: a bad config file (with its line) or an unreadable path.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("{}:{line}: {message}", path.display())]
    Config {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("file or directory not found: {0}")]
    NotFound(String),
    #[error("{}: bad pattern {pattern:?} in {option}: {message}", inifile.display())]
    Pattern {
        inifile: PathBuf,
        option: &'static str,
        pattern: String,
        message: String,
    },
}

/// One test file and what is known about its cost before any history exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestFile {
    /// Absolute, as pytest's collection paths are (not canonicalized: symlinks kept).
    pub path: PathBuf,
    pub size: u64,
}

/// What discovery found.
#[derive(Debug, Clone)]
pub struct Discovery {
    pub config: PytestConfig,
    pub files: Vec<TestFile>,
}

/// Discovers the test files pytest would collect for `args` (paths or node ids; empty means
/// `testpaths` or the invocation directory) when run from `invocation_dir`.
pub fn discover(invocation_dir: &Path, args: &[String]) -> Result<Discovery, DiscoverError> {
    let arg_paths = existing_paths(invocation_dir, args)?;
    let dirs: Vec<PathBuf> = arg_paths
        .iter()
        .map(|p| {
            if p.is_dir() {
                p.clone()
            } else {
                p.parent().unwrap_or(p).to_path_buf()
            }
        })
        .collect();
    let config = pytest_config::determine(invocation_dir, &dirs)?;
    let roots = if arg_paths.is_empty() {
        default_roots(invocation_dir, &config)
    } else {
        arg_paths
    };
    let rules = walk_rules(&config)?;
    let mut paths: Vec<PathBuf> = roots
        .iter()
        .flat_map(|root| walk::test_files(root, &rules))
        .collect();
    dedup_keep_order(&mut paths);
    let files = paths
        .into_iter()
        .map(|path| {
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            TestFile { path, size }
        })
        .collect();
    Ok(Discovery { config, files })
}

/// The file parts of path arguments, made absolute; a missing one is an error, as in pytest.
fn existing_paths(invocation_dir: &Path, args: &[String]) -> Result<Vec<PathBuf>, DiscoverError> {
    args.iter()
        .map(|arg| {
            let file_part = arg.split("::").next().unwrap_or(arg);
            let path = absolute(invocation_dir, Path::new(file_part));
            if path.exists() {
                Ok(path)
            } else {
                Err(DiscoverError::NotFound(arg.clone()))
            }
        })
        .collect()
}

/// pytest's `_decide_args` with no arguments: `testpaths` (globbed, relative to the rootdir)
/// when invoked from the rootdir, else the invocation directory.
fn default_roots(invocation_dir: &Path, config: &PytestConfig) -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if invocation_dir == config.rootdir {
        for testpath in &config.testpaths {
            let pattern = config.rootdir.join(testpath);
            // Python's glob: `*` does not match names starting with a dot.
            let options = glob::MatchOptions {
                require_literal_leading_dot: true,
                ..Default::default()
            };
            let mut found: Vec<PathBuf> = glob::glob_with(&pattern.to_string_lossy(), options)
                .map(|g| g.flatten().collect())
                .unwrap_or_default();
            found.sort();
            roots.extend(found);
        }
    }
    if roots.is_empty() {
        roots.push(invocation_dir.to_path_buf());
    }
    roots
}

fn walk_rules(config: &PytestConfig) -> Result<walk::WalkRules, DiscoverError> {
    let compile = |option: &'static str,
                   patterns: &[String]|
     -> Result<Vec<fnmatch::PathPattern>, DiscoverError> {
        patterns
            .iter()
            .map(|p| {
                fnmatch::PathPattern::new(p).map_err(|e| DiscoverError::Pattern {
                    inifile: config.inifile.clone().unwrap_or_default(),
                    option,
                    pattern: p.clone(),
                    message: e.to_string(),
                })
            })
            .collect()
    };
    Ok(walk::WalkRules {
        python_files: compile("python_files", &config.python_files)?,
        norecursedirs: compile("norecursedirs", &config.norecursedirs)?,
    })
}

/// Joins and removes `.` / `..` lexically, like Python's `os.path.abspath` (symlinks kept).
pub fn absolute(base: &Path, path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in base.join(path).components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn dedup_keep_order(paths: &mut Vec<PathBuf>) {
    let mut seen = std::collections::HashSet::new();
    paths.retain(|p| seen.insert(p.clone()));
}
