//! The tests to run for the affected units: a node id where only some tests of a file are
//! affected, the whole file where a fixture, a conftest or code run at import is.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::facts::{ModuleFacts, UnitKind};
use super::graph::ImportGraph;
use super::propagate::{AffectedUnits, Cause};
use crate::discover::python_source;

/// What the propagation left, over the project's files.
pub struct Reached<'a> {
    pub root: &'a Path,
    pub files: &'a [PathBuf],
    pub facts: &'a [Arc<ModuleFacts>],
    pub graph: &'a mut ImportGraph,
    pub affected: &'a AffectedUnits,
    /// Files changed themselves.
    pub changed: &'a HashSet<usize>,
    /// Files whose import-time code changed.
    pub import_time: &'a [usize],
}

/// Node ids or whole files (absolute) among `tests`, with one reason line per target.
pub fn python_targets(reached: &mut Reached, tests: &[PathBuf]) -> (Vec<String>, Vec<String>) {
    let mut by_file: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &(file, unit) in reached.affected.keys() {
        by_file.entry(file).or_default().push(unit);
    }
    let mut targets = Vec::new();
    let mut reasons = Vec::new();
    for test in tests {
        let Some(index) = reached.files.iter().position(|f| f == test) else {
            continue;
        };
        match whole_file_reason(reached, index, &by_file) {
            Some(why) => {
                reasons.push(format!("{}: {why}", shown(reached.root, test)));
                targets.push(test.to_string_lossy().into_owned());
            }
            None => {
                let units = by_file.get(&index).map_or(&[][..], Vec::as_slice);
                for (id, unit) in node_ids(test, &reached.facts[index], units) {
                    let chain = chain(reached, (index, unit));
                    reasons.push(format!("{}: {chain}", shown(reached.root, Path::new(&id))));
                    targets.push(id);
                }
            }
        }
    }
    (targets, reasons)
}

/// Why every test of the file is affected, when that is so.
fn whole_file_reason(
    reached: &mut Reached,
    test: usize,
    by_file: &BTreeMap<usize, Vec<usize>>,
) -> Option<String> {
    if reached.changed.contains(&test) {
        return Some("changed".into());
    }
    let root = reached.root;
    for &origin in reached.import_time {
        if reached.graph.reaches(test, origin) {
            let file = shown(root, &reached.files[origin]);
            return Some(format!("imports {file}, whose top-level code changed"));
        }
    }
    // Fixtures a test names reach it by name; these reach every test in their scope.
    for (&file, units) in by_file {
        let is_conftest = reached.files[file].ends_with("conftest.py");
        let (mut implicit, mut module_level) = (false, false);
        for unit in units.iter().map(|&u| &reached.facts[file].units[u]) {
            implicit |= unit.implicit;
            module_level |= unit.kind == UnitKind::Statement;
        }
        let scoped = implicit || (is_conftest && module_level);
        if (file == test && module_level) || (scoped && reached.graph.reaches(test, file)) {
            let file = shown(root, &reached.files[file]);
            return Some(format!(
                "an autouse fixture, hook or module-level code in {file} is affected"
            ));
        }
    }
    None
}

/// How the change reaches a unit: `test_x → render → Env.__init__ (app/env.py) → …`, up to
/// the changed unit.
fn chain(reached: &Reached, mut at: (usize, usize)) -> String {
    let mut steps: Vec<String> = Vec::new();
    for _ in 0..12 {
        let unit = &reached.facts[at.0].units[at.1];
        steps.push(format!(
            "{} ({})",
            unit.name,
            shown(reached.root, &reached.files[at.0])
        ));
        match reached.affected.get(&at).cloned().flatten() {
            Some(Cause {
                from: Some(from),
                name,
            }) => {
                steps.push(format!("`{name}`"));
                at = from;
            }
            Some(Cause { name, from: None }) => {
                steps.push(name);
                break;
            }
            None => break,
        }
    }
    format!("uses changed code: {}", steps.join(" → "))
}

/// The node ids of the affected units that are tests (with the unit that made each), or their
/// class, or the whole file when the static reading of it is not sure of its tests.
fn node_ids(test: &Path, facts: &ModuleFacts, units: &[usize]) -> Vec<(String, usize)> {
    if units.is_empty() {
        return vec![];
    }
    let file = test.to_string_lossy();
    let scan = match python_source::scan_file(test) {
        Ok(scan) if scan.caveats.is_empty() => scan,
        _ => return vec![(file.into_owned(), units[0])],
    };
    let collected: HashSet<&str> = scan.tests.iter().map(|t| t.name.as_str()).collect();
    let mut ids: Vec<(String, usize)> = Vec::new();
    for &index in units {
        let unit = &facts.units[index];
        let id = match unit.name.split_once('.') {
            Some((class, method)) => {
                let node = format!("{class}::{method}");
                match class_id(class, &collected) {
                    _ if collected.contains(node.as_str()) => node,
                    // A set-up method, helper method or inherited test: the whole class.
                    Some(class) => class,
                    // A helper class: its users are reached through the propagation.
                    None => continue,
                }
            }
            None if collected.contains(unit.name.as_str()) => unit.name.clone(),
            None if unit.kind == UnitKind::Class => match class_id(&unit.name, &collected) {
                Some(class) => class,
                None => continue,
            },
            // Helpers reach the tests that call them through the propagation.
            None => continue,
        };
        ids.push((format!("{file}::{id}"), index));
    }
    ids.sort();
    ids.dedup_by(|a, b| a.0 == b.0);
    ids
}

fn class_id(class: &str, collected: &HashSet<&str>) -> Option<String> {
    let prefix = format!("{class}::");
    collected
        .iter()
        .any(|t| t.starts_with(&prefix))
        .then(|| class.to_string())
}

fn shown(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}
