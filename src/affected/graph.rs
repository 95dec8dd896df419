//! The import graph over the project's files: who imports whom, with a `conftest.py` counted
//! as imported by every file under its directory (pytest loads it before them), and a module
//! that imports by computed name counted as importing everything.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::facts::ModuleFacts;
use super::modules::ModuleIndex;

pub struct ImportGraph {
    /// Files some other project module imports by name (not only by a computed name, nor as
    /// a conftest).
    named: Vec<bool>,
    /// file → files importing it.
    importers: Vec<Vec<usize>>,
    /// origin → every file that reaches it (itself included), computed when first asked.
    reached_by: HashMap<usize, Vec<bool>>,
}

impl ImportGraph {
    pub fn new(root: &Path, files: &[PathBuf], facts: &[Arc<ModuleFacts>]) -> ImportGraph {
        let index = ModuleIndex::new(root, files);
        let mut edges: Vec<Vec<usize>> = files
            .iter()
            .zip(facts)
            .map(|(file, facts)| {
                let mut to: Vec<usize> = facts
                    .imports
                    .iter()
                    .flat_map(|import| index.resolve(file, import))
                    .collect();
                to.sort_unstable();
                to.dedup();
                to
            })
            .collect();
        let mut named = vec![false; files.len()];
        for (from, to) in edges.iter().enumerate() {
            for &target in to.iter().filter(|&&t| t != from) {
                named[target] = true;
            }
        }
        for (from, facts) in facts.iter().enumerate() {
            if facts.dynamic_import {
                edges[from] = (0..files.len()).collect();
            }
        }
        add_conftest_edges(files, &mut edges);
        let mut importers = vec![Vec::new(); files.len()];
        for (from, to) in edges.iter().enumerate() {
            for &target in to {
                importers[target].push(from);
            }
        }
        ImportGraph {
            named,
            importers,
            reached_by: HashMap::new(),
        }
    }

    /// Whether another project module imports `file` by name.
    pub fn imported_by_name(&self, file: usize) -> bool {
        self.named[file]
    }

    /// Whether `file` imports `origin`, directly or transitively (or is it).
    pub fn reaches(&mut self, file: usize, origin: usize) -> bool {
        let importers = &self.importers;
        self.reached_by
            .entry(origin)
            .or_insert_with(|| reverse_closure(importers, origin))[file]
    }
}

/// Every file from which `origin` can be reached along the edges.
fn reverse_closure(importers: &[Vec<usize>], origin: usize) -> Vec<bool> {
    let mut seen = vec![false; importers.len()];
    let mut stack = vec![origin];
    seen[origin] = true;
    while let Some(node) = stack.pop() {
        for &from in &importers[node] {
            if !seen[from] {
                seen[from] = true;
                stack.push(from);
            }
        }
    }
    seen
}

/// Each file imports the `conftest.py` files of its directory and the directories above it.
fn add_conftest_edges(files: &[PathBuf], edges: &mut [Vec<usize>]) {
    let conftests: HashMap<&Path, usize> = files
        .iter()
        .enumerate()
        .filter(|(_, f)| f.file_name().is_some_and(|n| n == "conftest.py"))
        .filter_map(|(i, f)| Some((f.parent()?, i)))
        .collect();
    if conftests.is_empty() {
        return;
    }
    for (index, file) in files.iter().enumerate() {
        for dir in file.ancestors().skip(1) {
            if let Some(&conftest) = conftests.get(dir) {
                if conftest != index && !edges[index].contains(&conftest) {
                    edges[index].push(conftest);
                }
            }
        }
    }
}
