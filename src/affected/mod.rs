//! Affected-test selection: which tests a set of changed files can break, from a static reading
//! of the project's Python modules (ruff's parser), cached by content hash.
//!
//! The envelope is the import graph: a test can only break through a module it imports,
//! directly or transitively (conftest.py files count as imported by the tests under them).
//! Within it, a change is narrowed to the definitions it touched, and a test is selected when
//! something it references can reach one of them ([`propagate`] says how names reach). Where
//! the reading cannot be sure (a module's top-level code changed, its earlier text is unknown,
//! it does not parse), it falls back to the whole module, so the selection errs towards running
//! more.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::Loaded;

mod cache;
mod facts;
mod git_changes;
mod graph;
mod modules;
mod non_python;
mod propagate;
mod references;
mod targets;
#[cfg(test)]
mod tests;
mod unit_diff;

use cache::FactsCache;
use facts::ModuleFacts;
pub use git_changes::{changes_since, GitError};
use graph::ImportGraph;
use propagate::Seeds;
use targets::Reached;

/// A changed file and what it held before the change.
#[derive(Debug, Clone)]
pub struct Change {
    /// Absolute.
    pub path: PathBuf,
    pub before: Before,
}

/// The text a changed file had before, when known.
#[derive(Debug, Clone, PartialEq)]
pub enum Before {
    /// What the selector read from it last time (`vigil watch`).
    Remembered,
    /// Given by the caller (from git, for `--changed`).
    Text(String),
    /// The file is new.
    Absent,
    /// Not known: the whole file counts as changed.
    Unknown,
}

/// What to run for a set of changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// Node ids or test files (absolute paths; node ids keep their `::` parts), in order.
    pub python: Vec<String>,
    /// `native:` id prefixes of Rust tests.
    pub native: Vec<String>,
    /// Everything should run (a change the reading cannot place).
    pub everything: bool,
    /// Why each target was selected, one line each, for `--explain` style output.
    pub reasons: Vec<String>,
}

impl Selection {
    /// The paths to give a run (its `paths`): empty when nothing is affected, and empty with
    /// `everything` set when all tests should run.
    pub fn paths(&self) -> Vec<String> {
        self.python.iter().chain(&self.native).cloned().collect()
    }

    pub fn is_empty(&self) -> bool {
        !self.everything && self.python.is_empty() && self.native.is_empty()
    }
}

/// Where the project is and how its non-Python files map to tests.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The directory of vigil.toml, or pytest's rootdir without one.
    pub root: PathBuf,
    /// `[watch] map`: glob (relative to `root`) → test paths (relative to `root`).
    pub map: Vec<(String, Vec<String>)>,
}

impl Settings {
    /// `[watch]` of the loaded configuration; `root` when there is no config file.
    pub fn from_config(loaded: &Loaded, root: &Path) -> Settings {
        let table = loaded.watch();
        let map = table.map.map(|m| m.into_inner()).unwrap_or_default();
        Settings {
            root: loaded.dir().unwrap_or(root).to_path_buf(),
            map: map.into_iter().map(|(k, v)| (k, v.items())).collect(),
        }
    }
}

/// Selects the tests a change affects; keeps what it read so the next call only re-reads
/// changed files.
pub struct Selector {
    settings: Settings,
    cache: FactsCache,
    /// The project's Python files and the facts of their content as last read.
    known: BTreeMap<PathBuf, Arc<ModuleFacts>>,
}

impl Selector {
    /// Reads every Python file of the project (from the cache where the content is known).
    pub fn new(settings: Settings) -> Selector {
        let mut cache = FactsCache::load(&settings.root);
        let known = modules::python_files(&settings.root)
            .into_iter()
            .filter_map(|path| {
                let text = read_text(&path)?;
                let facts = cache.facts(&text);
                Some((path, facts))
            })
            .collect();
        cache.save();
        Selector {
            settings,
            cache,
            known,
        }
    }

    /// The tests `changes` affect, among `test_files` (what discovery found now, absolute).
    pub fn select(&mut self, changes: &[Change], test_files: &[PathBuf]) -> Selection {
        let mut selection = Selection::default();
        let (python, other): (Vec<&Change>, Vec<&Change>) = changes
            .iter()
            .filter(|c| c.path.starts_with(&self.settings.root) && !is_scratch(&c.path))
            .partition(|c| c.path.extension().is_some_and(|e| e == "py"));
        for change in other {
            non_python::select(&self.settings, &change.path, test_files, &mut selection);
        }
        if !python.is_empty() {
            self.select_python(&python, test_files, &mut selection);
        }
        self.cache.save();
        selection
    }

    fn select_python(&mut self, changes: &[&Change], tests: &[PathBuf], selection: &mut Selection) {
        let readings: Vec<Reading> = changes.iter().map(|c| self.reread(c)).collect();
        // Deleted modules stay in this selection's graph under their old reading, so their
        // importers are still found.
        let mut project = self.known.clone();
        for reading in &readings {
            if let (None, Some(before)) = (&reading.after, &reading.before) {
                project.insert(reading.path.clone(), Arc::clone(before));
            }
        }
        let files: Vec<PathBuf> = project.keys().cloned().collect();
        let facts: Vec<Arc<ModuleFacts>> = project.into_values().collect();
        let mut graph = ImportGraph::new(&self.settings.root, &files, &facts);
        let mut seeds = Seeds::default();
        let mut changed = HashSet::new();
        for reading in &readings {
            let Some(index) = files.iter().position(|f| *f == reading.path) else {
                continue;
            };
            changed.insert(index);
            reading.seed(index, &mut seeds);
            seeds.unimported |= !graph.imported_by_name(index) && !is_test_module(&reading.path);
        }
        let test_modules: Vec<bool> = files.iter().map(|f| is_test_module(f)).collect();
        let affected = propagate::propagate(&facts, &test_modules, &mut graph, &seeds);
        let mut reached = Reached {
            root: &self.settings.root,
            files: &files,
            facts: &facts,
            graph: &mut graph,
            affected: &affected,
            changed: &changed,
            import_time: &seeds.import_time,
        };
        let (targets, reasons) = targets::python_targets(&mut reached, tests);
        selection.python.extend(targets);
        selection.reasons.extend(reasons);
    }

    /// Reads a changed file again, and remembers the new reading.
    fn reread(&mut self, change: &Change) -> Reading {
        let before = match &change.before {
            Before::Remembered => self.known.get(&change.path).cloned(),
            Before::Text(text) => Some(Arc::new(facts::read(text))),
            Before::Absent | Before::Unknown => None,
        };
        let after = read_text(&change.path).map(|text| self.cache.facts(&text));
        match &after {
            Some(facts) => self.known.insert(change.path.clone(), Arc::clone(facts)),
            None => self.known.remove(&change.path),
        };
        Reading {
            path: change.path.clone(),
            before,
            after,
        }
    }
}

/// One changed module: its reading before (when known) and now (when it still exists).
struct Reading {
    path: PathBuf,
    before: Option<Arc<ModuleFacts>>,
    after: Option<Arc<ModuleFacts>>,
}

impl Reading {
    fn seed(&self, index: usize, seeds: &mut Seeds) {
        let empty = ModuleFacts::default();
        let diff = match (&self.before, &self.after) {
            (Some(before), Some(after)) => unit_diff::diff(before, after),
            (None, Some(after)) => unit_diff::whole(&empty, after),
            // Deleted: its old units are the graph's, and every one of them is gone.
            (Some(before), None) => unit_diff::whole(before, before),
            (None, None) => unit_diff::whole(&empty, &empty),
        };
        seeds.units.extend(diff.changed.iter().map(|&u| (index, u)));
        seeds
            .names
            .extend(diff.removed.into_iter().map(|n| (n, index)));
        if diff.import_time {
            seeds.import_time.push(index);
        }
    }
}

/// Test modules and conftests are loaded by pytest, never imported by computed name.
fn is_test_module(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name == "conftest.py" || name.starts_with("test_") || name.ends_with("_test.py")
}

/// vigil's own state and Python's caches: written by running tests, never a reason to run any.
fn is_scratch(path: &Path) -> bool {
    path.components().any(|c| {
        let part = c.as_os_str();
        part == ".vigil" || part == "__pycache__" || part == ".pytest_cache" || part == ".git"
    })
}

/// A file's text; `None` when it is gone or unreadable. Non-UTF-8 bytes are replaced: the
/// reading of such a file is then opaque or approximate, never an error.
fn read_text(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}
