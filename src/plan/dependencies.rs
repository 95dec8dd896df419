//! Test dependencies (pytest-dependency's `@pytest.mark.dependency(name=, depends=, scope=)`),
//! read statically before the run: unknown names and cycles are usage errors naming the tests,
//! and files joined by a dependency are kept in one worker, where the plugin orders
//! prerequisites first and skips the dependents of one that did not pass.

use std::collections::{BTreeMap, BTreeSet};

/// A test as the static reader saw it, with its dependency marker if it has one.
#[derive(Debug, Clone, PartialEq)]
pub struct TestDecl {
    /// The file, relative to the rootdir with `/` separators, as in node ids.
    pub file: String,
    /// The node id part after the file: `test_a`, `TestC::test_m`.
    pub name: String,
    /// Parametrized tests have ids with `[...]` suffixes.
    pub parametrized: bool,
    pub dependency: Option<DependencyMark>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DependencyMark {
    /// `name=`: what other tests call this one instead of its id.
    pub name: Option<String>,
    pub depends: Vec<String>,
    /// session, package, module (the default) or class.
    pub scope: String,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DependencyError {
    #[error("unknown test dependencies:\n{}", .0.join("\n"))]
    Unknown(Vec<String>),
    #[error("test dependencies form a cycle: {}", .0.join(" → "))]
    Cycle(Vec<String>),
}

/// The node id of a declared test.
fn id(decl: &TestDecl) -> String {
    format!("{}::{}", decl.file, decl.name)
}

/// The (scope node, name) a test answers to in each scope, as pytest-dependency registers it.
fn keys(decl: &TestDecl, name: Option<&str>) -> [(&'static str, Option<(String, String)>); 4] {
    let parts: Vec<&str> = decl.name.split("::").collect();
    let package = decl
        .file
        .rsplit_once('/')
        .map_or("", |(d, _)| d)
        .to_string();
    let class = (parts.len() > 1)
        .then(|| format!("{}::{}", decl.file, parts[..parts.len() - 1].join("::")));
    let own = |default: String| name.map_or(default, str::to_string);
    [
        ("session", Some((String::new(), own(id(decl))))),
        ("package", Some((package, own(id(decl))))),
        ("module", Some((decl.file.clone(), own(decl.name.clone())))),
        (
            "class",
            class.map(|c| (c, own(parts[parts.len() - 1].to_string()))),
        ),
    ]
}

/// What the static reader learned: which test waits for which, and file groups to co-locate.
#[derive(Debug, Default, PartialEq)]
pub struct DependencyGraph {
    /// dependent id → prerequisite ids (for `vigil plan`).
    pub edges: BTreeMap<String, BTreeSet<String>>,
    /// Sets of files (as in `TestDecl::file`) that must share a worker; singletons left out.
    pub groups: Vec<BTreeSet<String>>,
}

/// Resolves every `depends` name. `complete` says every test file of the project was read, so
/// a name that matches nothing is an error rather than a test outside the selection.
pub fn resolve(decls: &[TestDecl], complete: bool) -> Result<DependencyGraph, DependencyError> {
    let index = Index::new(decls);
    let mut graph = DependencyGraph::default();
    let mut unknown = Vec::new();
    for decl in decls {
        let Some(mark) = &decl.dependency else {
            continue;
        };
        for name in &mark.depends {
            match index.find(decl, name, &mark.scope) {
                Some(prereq) => {
                    graph.edges.entry(id(decl)).or_default().insert(prereq);
                }
                None if complete => unknown.push(format!(
                    "  {} depends on {name:?} (scope {}): no test answers to that name",
                    id(decl),
                    mark.scope
                )),
                None => {}
            }
        }
    }
    if !unknown.is_empty() {
        return Err(DependencyError::Unknown(unknown));
    }
    if let Some(cycle) = find_cycle(&graph.edges) {
        return Err(DependencyError::Cycle(cycle));
    }
    graph.groups = file_groups(&graph.edges);
    Ok(graph)
}

/// Names per scope → node id, with parametrized tests also found by `name[params]`.
struct Index {
    names: BTreeMap<(&'static str, String, String), String>,
    parametrized: BTreeMap<(&'static str, String, String), String>,
}

impl Index {
    fn new(decls: &[TestDecl]) -> Index {
        let mut index = Index {
            names: BTreeMap::new(),
            parametrized: BTreeMap::new(),
        };
        for decl in decls {
            let custom = decl.dependency.as_ref().and_then(|d| d.name.as_deref());
            for (scope, key) in keys(decl, custom) {
                let Some((node, name)) = key else { continue };
                if decl.parametrized && custom.is_none() {
                    index.parametrized.insert((scope, node, name), id(decl));
                } else {
                    index.names.insert((scope, node, name), id(decl));
                }
            }
        }
        index
    }

    /// The id `name` means for `decl` in `scope`; a parametrized prerequisite answers to
    /// `base[...]`, and its id is the base's (the plugin resolves the exact instance).
    fn find(&self, decl: &TestDecl, name: &str, scope: &str) -> Option<String> {
        let (_, key) = keys(decl, Some(name))
            .into_iter()
            .find(|(s, _)| *s == scope)?;
        let (node, name) = key?;
        let scope = ["session", "package", "module", "class"]
            .into_iter()
            .find(|s| *s == scope)?;
        if let Some(found) = self.names.get(&(scope, node.clone(), name.clone())) {
            return Some(found.clone());
        }
        let base = name.split_once('[').map(|(b, _)| b.to_string())?;
        self.parametrized.get(&(scope, node, base)).cloned()
    }
}

/// A cycle in the dependency edges, as the ids around it, or `None`.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    let mut done = BTreeSet::new();
    for start in edges.keys() {
        let mut path = Vec::new();
        if let Some(cycle) = visit(start, edges, &mut done, &mut path) {
            return Some(cycle);
        }
    }
    None
}

fn visit<'a>(
    node: &'a str,
    edges: &'a BTreeMap<String, BTreeSet<String>>,
    done: &mut BTreeSet<&'a str>,
    path: &mut Vec<&'a str>,
) -> Option<Vec<String>> {
    if let Some(at) = path.iter().position(|n| *n == node) {
        let mut cycle: Vec<String> = path[at..].iter().map(|s| s.to_string()).collect();
        cycle.push(node.to_string());
        return Some(cycle);
    }
    if done.contains(node) {
        return None;
    }
    path.push(node);
    for next in edges.get(node).into_iter().flatten() {
        if let Some(cycle) = visit(next, edges, done, path) {
            return Some(cycle);
        }
    }
    path.pop();
    done.insert(node);
    None
}

/// Files joined by any dependency edge, as connected groups (union-find over files).
fn file_groups(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    let file = |id: &str| id.split("::").next().unwrap_or(id).to_string();
    let mut parent: BTreeMap<String, String> = BTreeMap::new();
    fn root(parent: &mut BTreeMap<String, String>, f: &str) -> String {
        let p = parent.get(f).cloned().unwrap_or_else(|| f.to_string());
        if p == f {
            return p;
        }
        let r = root(parent, &p);
        parent.insert(f.to_string(), r.clone());
        r
    }
    for (dependent, prereqs) in edges {
        for prereq in prereqs {
            let (a, b) = (
                root(&mut parent, &file(dependent)),
                root(&mut parent, &file(prereq)),
            );
            parent.entry(a.clone()).or_insert_with(|| a.clone());
            parent.insert(b, a);
        }
    }
    let mut groups: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let files: Vec<String> = parent.keys().cloned().collect();
    for f in files {
        let r = root(&mut parent, &f);
        groups.entry(r).or_default().insert(f);
    }
    groups.into_values().filter(|g| g.len() > 1).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(file: &str, name: &str, dep: Option<(&str, &[&str], &str)>) -> TestDecl {
        TestDecl {
            file: file.into(),
            name: name.into(),
            parametrized: false,
            dependency: dep.map(|(n, d, s)| DependencyMark {
                name: (!n.is_empty()).then(|| n.to_string()),
                depends: d.iter().map(|s| s.to_string()).collect(),
                scope: s.into(),
            }),
        }
    }

    #[test]
    fn resolves_each_scope_and_groups_files() {
        let decls = [
            decl("t/test_a.py", "test_one", Some(("", &[], "module"))),
            decl(
                "t/test_a.py",
                "TestK::test_two",
                Some(("two", &["test_one"], "module")),
            ),
            decl(
                "t/test_b.py",
                "test_three",
                Some(("", &["t/test_a.py::test_one", "two"], "session")),
            ),
            decl("t/test_c.py", "test_alone", None),
        ];
        let graph = resolve(&decls, true).unwrap();
        assert_eq!(
            graph.edges["t/test_b.py::test_three"],
            BTreeSet::from([
                "t/test_a.py::test_one".to_string(),
                "t/test_a.py::TestK::test_two".to_string()
            ])
        );
        assert_eq!(
            graph.groups,
            vec![BTreeSet::from([
                "t/test_a.py".to_string(),
                "t/test_b.py".to_string()
            ])]
        );
    }

    #[test]
    fn class_scope_and_parametrized_prerequisites() {
        let mut p = decl("t/test_a.py", "TestK::test_p", None);
        p.parametrized = true;
        let decls = [
            p,
            decl(
                "t/test_a.py",
                "TestK::test_q",
                Some(("", &["test_p[1]"], "class")),
            ),
        ];
        let graph = resolve(&decls, true).unwrap();
        assert_eq!(graph.edges["t/test_a.py::TestK::test_q"].len(), 1);
    }

    #[test]
    fn unknown_names_and_cycles_name_the_tests() {
        let decls = [decl(
            "t/test_a.py",
            "test_x",
            Some(("", &["test_nope"], "module")),
        )];
        let err = resolve(&decls, true).unwrap_err().to_string();
        assert!(
            err.contains("t/test_a.py::test_x depends on \"test_nope\""),
            "{err}"
        );
        assert!(
            resolve(&decls, false).is_ok(),
            "outside a complete view, unknown is not an error"
        );
        let decls = [
            decl(
                "t/test_a.py",
                "test_x",
                Some(("", &["t/test_b.py::test_y"], "session")),
            ),
            decl(
                "t/test_b.py",
                "test_y",
                Some(("", &["t/test_a.py::test_x"], "session")),
            ),
        ];
        let err = resolve(&decls, true).unwrap_err();
        assert_eq!(
            err,
            DependencyError::Cycle(vec![
                "t/test_a.py::test_x".into(),
                "t/test_b.py::test_y".into(),
                "t/test_a.py::test_x".into()
            ])
        );
    }
}
