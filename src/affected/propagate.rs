//! From changed units to every affected unit: a unit is affected when it refers to a name that
//! an affected unit binds, and its module reaches (imports, transitively) the module where that
//! name was bound. Names, not resolved symbols: attribute calls (`obj.render()`) cannot be
//! resolved statically, so a name stands for every definition of it the module can reach.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::facts::{ModuleFacts, Unit, UnitKind};
use super::graph::ImportGraph;

/// Where the change starts.
#[derive(Debug, Default)]
pub struct Seeds {
    /// (file, unit) of units that are new or changed.
    pub units: Vec<(usize, usize)>,
    /// Names bound by removed units, with their file.
    pub names: Vec<(String, usize)>,
    /// Files whose import-time code changed: everything that imports them is affected.
    pub import_time: Vec<usize>,
}

impl Seeds {
    pub fn is_empty(&self) -> bool {
        self.units.is_empty() && self.names.is_empty() && self.import_time.is_empty()
    }
}

/// (file, unit) pairs the change can reach.
pub type AffectedUnits = HashSet<(usize, usize)>;

pub fn propagate(
    facts: &[Arc<ModuleFacts>],
    graph: &mut ImportGraph,
    seeds: &Seeds,
) -> AffectedUnits {
    let mut state = State {
        facts,
        affected: HashSet::new(),
        origins: HashMap::new(),
        hidden: Vec::new(),
        referenced: referenced_names(facts),
    };
    for (name, file) in &seeds.names {
        state.bind(name, *file);
    }
    for &(file, unit) in &seeds.units {
        state.add(file, unit);
    }
    let anything = !seeds.is_empty();
    while state.sweep(graph, anything) {}
    state.affected
}

struct State<'f> {
    facts: &'f [Arc<ModuleFacts>],
    affected: AffectedUnits,
    /// name → files where an affected unit binds it.
    origins: HashMap<String, Vec<usize>>,
    /// Files of affected methods nothing names: only reached by computed `getattr`.
    hidden: Vec<usize>,
    /// Names some unit refers to.
    referenced: HashSet<&'f str>,
}

impl State<'_> {
    fn bind(&mut self, name: &str, file: usize) {
        let origins = self.origins.entry(name.to_string()).or_default();
        if !origins.contains(&file) {
            origins.push(file);
        }
    }

    fn add(&mut self, file: usize, index: usize) {
        if !self.affected.insert((file, index)) {
            return;
        }
        let unit = &self.facts[file].units[index];
        for name in &unit.binds {
            self.bind(name, file);
            if unit.kind == UnitKind::Method && !self.referenced.contains(name.as_str()) {
                self.hidden.push(file);
            }
        }
        // Special methods run through the class (`C()`, `x == y`, `for a in c`).
        if unit.kind == UnitKind::Method && is_dunder(&unit.binds[0]) {
            if let Some((class, _)) = unit.name.split_once('.') {
                self.bind(class, file);
            }
        }
    }

    /// One pass over every unit; true when it found a new affected one.
    fn sweep(&mut self, graph: &mut ImportGraph, anything: bool) -> bool {
        let mut found = Vec::new();
        for (file, facts) in self.facts.iter().enumerate() {
            for (index, unit) in facts.units.iter().enumerate() {
                if !self.affected.contains(&(file, index))
                    && self.hit(graph, file, facts, unit, anything)
                {
                    found.push((file, index));
                }
            }
        }
        let grew = !found.is_empty();
        for (file, index) in found {
            self.add(file, index);
        }
        grew
    }

    fn hit(
        &self,
        graph: &mut ImportGraph,
        file: usize,
        facts: &ModuleFacts,
        unit: &Unit,
        anything: bool,
    ) -> bool {
        let named = unit.refs.iter().any(|name| {
            self.origins
                .get(name)
                .is_some_and(|origins| origins.iter().any(|&o| related(graph, file, o)))
        });
        // A dispatcher by computed name reaches methods of subclasses it never imports.
        named
            || (unit.dynamic && facts.dynamic_import && anything)
            || (unit.dynamic && !self.hidden.is_empty())
    }
}

/// A name bound in `origin` can be used by `file` when one imports the other: `file` calls
/// what it imports, and a base class calls `self.hook()` overridden in a subclass's module,
/// which imports the base's.
fn related(graph: &mut ImportGraph, file: usize, origin: usize) -> bool {
    graph.reaches(file, origin) || graph.reaches(origin, file)
}

fn is_dunder(name: &str) -> bool {
    name.len() > 4 && name.starts_with("__") && name.ends_with("__")
}

fn referenced_names(facts: &[Arc<ModuleFacts>]) -> HashSet<&str> {
    facts
        .iter()
        .flat_map(|f| &f.units)
        .flat_map(|u| u.refs.iter().map(String::as_str))
        .collect()
}
