//! From changed units to every affected unit: a unit is affected when it refers to a name that
//! an affected unit binds, and its module and the module where that name was bound are
//! related by imports. Names, not resolved symbols: attribute calls (`obj.render()`) cannot be
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
    /// A changed module that no project module imports by name: only an import by computed
    /// name (a plugin loader) can reach it.
    pub unimported: bool,
}

/// (file, unit) pairs the change can reach, each with why (`None` for a seed).
pub type AffectedUnits = HashMap<(usize, usize), Option<Cause>>;

/// Why a unit is affected: the name it refers to and the affected unit that binds it (`None`
/// when the name's unit was removed, or the unit is reached by a computed name).
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    pub name: String,
    pub from: Option<(usize, usize)>,
}

/// `test_modules[file]`: the file is a test module or conftest (pytest calls its functions,
/// no project code does).
pub fn propagate(
    facts: &[Arc<ModuleFacts>],
    test_modules: &[bool],
    graph: &mut ImportGraph,
    seeds: &Seeds,
) -> AffectedUnits {
    let mut state = State {
        facts,
        test_modules,
        affected: HashMap::new(),
        origins: HashMap::new(),
        keyed: HashSet::new(),
        hidden: Vec::new(),
        referenced: referenced_names(facts),
        prefixes: getattr_prefixes(facts),
        inheriting: HashMap::new(),
        subclasses: HashMap::new(),
        unimported: seeds.unimported,
    };
    for (name, file) in &seeds.names {
        state.bind(name, *file, None);
    }
    for &(file, unit) in &seeds.units {
        state.add(file, unit, None);
    }
    while state.sweep(graph) {}
    // A subclass's own name reaches no one through inheritance (its users call the methods,
    // by attribute): it is added last, for the tests it holds.
    for (unit, cause) in state.subclasses {
        state.affected.entry(unit).or_insert(Some(cause));
    }
    state.affected
}

/// Where an affected name is bound.
#[derive(Clone, Copy)]
struct Origin {
    file: usize,
    /// `None` for a removed unit.
    unit: Option<usize>,
    /// A method's name: reached as an attribute (or a string), never as a variable.
    attribute: bool,
}

struct State<'f> {
    facts: &'f [Arc<ModuleFacts>],
    test_modules: &'f [bool],
    affected: AffectedUnits,
    /// name → where an affected unit binds it.
    origins: HashMap<String, Vec<Origin>>,
    /// Registry entries (file, unit, entry) whose key is bound.
    keyed: HashSet<(usize, usize, usize)>,
    /// Affected methods nothing names, with their file: only `getattr` by a computed name
    /// reaches them (`visit_` + the node's class name).
    hidden: Vec<String>,
    /// Name → how many units refer to it.
    referenced: HashMap<&'f str, usize>,
    /// The literal starts of `getattr` by computed name, anywhere in the project.
    prefixes: Vec<&'f str>,
    /// Class name → files where a class of that name has affected methods (its own or
    /// inherited).
    inheriting: HashMap<String, Vec<usize>>,
    /// Classes that inherit affected methods, with the base they inherit them from.
    subclasses: HashMap<(usize, usize), Cause>,
    unimported: bool,
}

impl State<'_> {
    fn bind(&mut self, name: &str, file: usize, unit: Option<usize>) {
        let attribute = unit.is_some_and(|u| self.facts[file].units[u].kind == UnitKind::Method);
        self.push_origin(name, file, unit, attribute);
    }

    fn push_origin(&mut self, name: &str, file: usize, unit: Option<usize>, attribute: bool) {
        let origins = self.origins.entry(name.to_string()).or_default();
        if !origins
            .iter()
            .any(|o| o.file == file && o.attribute == attribute)
        {
            origins.push(Origin {
                file,
                unit,
                attribute,
            });
        }
    }

    fn add(&mut self, file: usize, index: usize, cause: Option<Cause>) {
        if self.affected.contains_key(&(file, index)) {
            return;
        }
        self.affected.insert((file, index), cause);
        let unit = &self.facts[file].units[index];
        for name in &unit.binds {
            self.bind(name, file, Some(index));
        }
        if unit.kind != UnitKind::Method {
            return;
        }
        let method = unit.binds[0].as_str();
        let class = unit.name.split_once('.').map_or("", |(class, _)| class);
        self.inherit(class, file);
        // Its own body calling `self._inner.read1()` does not count as being named.
        let own = usize::from(unit.attrs.iter().any(|a| a == method));
        let named = self.referenced.get(method).copied().unwrap_or(0) > own;
        let unnamed = !named && !self.test_modules[file];
        let dispatched = self
            .prefixes
            .iter()
            .any(|p| !p.is_empty() && method.starts_with(p));
        if unnamed && dispatched {
            self.hidden.push(method.to_string());
        }
        // Special methods run through the class (`C()`, `x == y`, `for a in c`), and so do
        // protocol methods and methods nothing names (the runtime calls `read1` on a stream).
        if is_dunder(method) || PROTOCOL.contains(&method) || (unnamed && !dispatched) {
            self.push_origin(class, file, Some(index), false);
        }
    }

    fn inherit(&mut self, class: &str, file: usize) {
        let files = self.inheriting.entry(class.to_string()).or_default();
        if !files.contains(&file) {
            files.push(file);
        }
    }

    /// One pass over every unit; true when it found a new affected unit or registry key.
    fn sweep(&mut self, graph: &mut ImportGraph) -> bool {
        let mut found = Vec::new();
        let mut keys = Vec::new();
        let mut subclasses = Vec::new();
        for (file, facts) in self.facts.iter().enumerate() {
            for (index, unit) in facts.units.iter().enumerate() {
                if self.affected.contains_key(&(file, index)) {
                    continue;
                }
                if let Some(cause) = self.hit(graph, file, unit) {
                    found.push((file, index, cause));
                }
                if unit.kind == UnitKind::Class && !self.subclasses.contains_key(&(file, index)) {
                    if let Some(cause) = self.inherits(graph, file, unit) {
                        subclasses.push((file, index, cause));
                    }
                }
                for (entry, item) in unit.entries.iter().enumerate() {
                    if !self.keyed.contains(&(file, index, entry))
                        && self.named(graph, file, &item.refs, true).is_some()
                    {
                        keys.push((file, index, entry));
                    }
                }
            }
        }
        let grew = !found.is_empty() || !keys.is_empty() || !subclasses.is_empty();
        for (file, index, cause) in subclasses {
            let class = self.facts[file].units[index].name.clone();
            self.inherit(&class, file);
            self.subclasses.insert((file, index), cause);
        }
        for (file, index, entry) in keys {
            self.keyed.insert((file, index, entry));
            let key = self.facts[file].units[index].entries[entry].key.clone();
            self.bind(&key, file, Some(index));
        }
        for (file, index, cause) in found {
            self.add(file, index, Some(cause));
        }
        grew
    }

    /// Why the unit is affected, if it is.
    fn hit(&self, graph: &mut ImportGraph, file: usize, unit: &Unit) -> Option<Cause> {
        let words = if self.test_modules[file] {
            &unit.words[..]
        } else {
            &[]
        };
        let found = self
            .named(graph, file, &unit.refs, false)
            .or_else(|| self.named(graph, file, &unit.attrs, true))
            .or_else(|| self.named(graph, file, words, true));
        if found.is_some() {
            return found;
        }
        // A dispatcher by computed name reaches methods of subclasses it never imports, and a
        // computed import reaches modules nothing imports by name.
        let dispatched = unit
            .getattr_prefixes
            .iter()
            .find_map(|prefix| self.hidden.iter().find(|m| m.starts_with(prefix.as_str())));
        if let Some(method) = dispatched {
            return Some(Cause {
                name: format!("getattr by a computed name, e.g. {method}"),
                from: None,
            });
        }
        (unit.computed_import && self.unimported).then(|| Cause {
            name: "an import by a computed name".to_string(),
            from: None,
        })
    }

    /// The base (of a related module) that makes a class inherit affected methods.
    fn inherits(&self, graph: &mut ImportGraph, file: usize, unit: &Unit) -> Option<Cause> {
        let base = unit.bases.iter().find(|base| {
            self.inheriting
                .get(base.as_str())
                .is_some_and(|files| files.iter().any(|&o| related(graph, file, o)))
        })?;
        Some(Cause {
            name: format!("inherits {base}"),
            from: None,
        })
    }

    /// The first of `names` bound by an affected unit of a related module; methods count
    /// only when the names are attribute-like (`x.name`, strings).
    fn named(
        &self,
        graph: &mut ImportGraph,
        file: usize,
        names: &[String],
        attributes: bool,
    ) -> Option<Cause> {
        // `super().__init__()` or `x.__eq__` reaches a special method through its class, which
        // the class's own name already stands for; by the bare name it would be every class.
        for name in names.iter().filter(|n| !is_dunder(n)) {
            let Some(origins) = self.origins.get(name) else {
                continue;
            };
            let origin = origins
                .iter()
                .filter(|o| attributes || !o.attribute)
                .find(|o| related(graph, file, o.file));
            if let Some(origin) = origin {
                return Some(Cause {
                    name: name.clone(),
                    from: origin.unit.map(|u| (origin.file, u)),
                });
            }
        }
        None
    }
}

/// A name bound in `origin` can be used by `file` when one imports the other: `file` calls
/// what it imports, and a base class calls `self.hook()` overridden in a subclass's module,
/// which imports the base's.
fn related(graph: &mut ImportGraph, file: usize, origin: usize) -> bool {
    graph.reaches(file, origin) || graph.reaches(origin, file)
}

/// Methods Python's own machinery calls on an object handed to it (file objects for `io`, and
/// a mapping's `keys` for `dict(x)` / `**x`): like special methods, reached through the class.
const PROTOCOL: [&str; 20] = [
    "read",
    "read1",
    "readinto",
    "readinto1",
    "readline",
    "readlines",
    "readable",
    "write",
    "writelines",
    "writable",
    "flush",
    "close",
    "fileno",
    "seek",
    "seekable",
    "tell",
    "truncate",
    "isatty",
    "detach",
    "keys",
];

fn is_dunder(name: &str) -> bool {
    name.len() > 4 && name.starts_with("__") && name.ends_with("__")
}

fn getattr_prefixes(facts: &[Arc<ModuleFacts>]) -> Vec<&str> {
    let mut prefixes: Vec<&str> = facts
        .iter()
        .flat_map(|f| &f.units)
        .flat_map(|u| u.getattr_prefixes.iter().map(String::as_str))
        .collect();
    prefixes.sort_unstable();
    prefixes.dedup();
    prefixes
}

fn referenced_names(facts: &[Arc<ModuleFacts>]) -> HashMap<&str, usize> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for unit in facts.iter().flat_map(|f| &f.units) {
        let entries = unit.entries.iter().flat_map(|e| &e.refs);
        let mut names: Vec<&str> = unit
            .refs
            .iter()
            .chain(&unit.attrs)
            .chain(entries)
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        names.dedup();
        for name in names {
            *counts.entry(name).or_default() += 1;
        }
    }
    counts
}
