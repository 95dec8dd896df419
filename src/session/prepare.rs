//! Before any worker starts: what the static reader says about each test file (which tiers it
//! can hold, which capabilities it requires, its test dependencies), one probe per capability,
//! the dependency graph, and the native test binaries with their tests. No pytest process is
//! started for this: a run collects once, in its workers.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::discover::native::{self, NativeTest};
use crate::discover::python_source::{self, ModuleScan};
use crate::discover::TestFile;
use crate::events::{Marker, Outcome, Phase, Problem, TestResult};
use crate::plan::capabilities::{self, Probes, Requirement};
use crate::plan::dependencies::{self, DependencyGraph, DependencyMark, TestDecl};
use crate::plan::Tiers;

use super::{NativeRequest, RunRequest, SessionError};

/// What the planner knows before the run.
pub struct Prepared {
    /// Per file: the tiers it may hold; `None` when that cannot be known without pytest.
    pub file_tiers: HashMap<PathBuf, Option<BTreeSet<String>>>,
    pub graph: DependencyGraph,
    /// Files that must share a worker (absolute paths).
    pub groups: Vec<BTreeSet<PathBuf>>,
    pub probes: Probes,
    pub native: Vec<NativeTest>,
    /// Native binaries that could not be built or listed, as error results.
    pub native_errors: Vec<TestResult>,
}

/// Markers in a file's text are only looked for when the text mentions one at all.
fn may_have_markers(text: &[u8]) -> bool {
    text.windows(4).any(|w| w == b"mark")
}

pub fn prepare(
    request: &RunRequest,
    files: &[TestFile],
    rootdir: &Path,
) -> Result<Prepared, SessionError> {
    let planning = &request.planning;
    let dynamic = DynamicMarkers::new(rootdir);
    let mut file_tiers = HashMap::new();
    let mut requirements = BTreeSet::new();
    let mut decls = Vec::new();
    let mut complete = request.paths.is_empty();
    let mut unscanned = Vec::new();
    for file in files {
        let rel = relative(&file.path, rootdir);
        let path_tier = planning.tiers.of_test(Path::new(&rel), []).to_string();
        let scan = read(&file.path);
        let tiers = match &scan {
            Scan::NoMarkers => {
                unscanned.push((rel, file.path.clone()));
                Some(BTreeSet::from([path_tier]))
            }
            Scan::Read(scan) => {
                requirements.extend(file_requirements(scan, request, &rel)?);
                decls.extend(declarations(&rel, scan));
                // Tests defined elsewhere (imported classes, `import *`) are not all seen.
                complete &= scan.caveats.is_empty();
                Some(scan_tiers(scan, &planning.tiers, path_tier))
            }
            Scan::Unreadable => {
                complete = false;
                None
            }
        };
        let tiers = tiers.filter(|_| !dynamic.applies_to(&file.path));
        file_tiers.insert(file.path.clone(), tiers);
    }
    if decls
        .iter()
        .any(|d| d.dependency.as_ref().is_some_and(|m| !m.depends.is_empty()))
    {
        // A prerequisite needs no marker of its own: every test is a name `depends` may use.
        complete &= add_unmarked_tests(&unscanned, &mut decls);
    }
    let graph =
        dependencies::resolve(&decls, complete).map_err(|e| SessionError::Plan(e.to_string()))?;
    let groups = graph
        .groups
        .iter()
        .map(|g| g.iter().map(|rel| rootdir.join(rel)).collect())
        .collect();
    let named = &planning.capabilities;
    requirements.extend(named.keys().map(|n| Requirement::Named(n.clone())));
    let probes = Probes::check(requirements, named);
    let (native, native_errors) = match &planning.native {
        Some(native) => native_tests(native),
        None => (vec![], vec![]),
    };
    Ok(Prepared {
        file_tiers,
        graph,
        groups,
        probes,
        native,
        native_errors,
    })
}

enum Scan {
    NoMarkers,
    Read(ModuleScan),
    /// Not valid Python (pytest will report it) or not readable: nothing known statically.
    Unreadable,
}

fn read(path: &Path) -> Scan {
    let Ok(bytes) = std::fs::read(path) else {
        return Scan::Unreadable;
    };
    if !may_have_markers(&bytes) {
        return Scan::NoMarkers;
    }
    match std::str::from_utf8(&bytes).map(python_source::scan) {
        Ok(Ok(scan)) => Scan::Read(scan),
        _ => Scan::Unreadable,
    }
}

/// Reads the tests of files skipped for mentioning no marker; false when one cannot be read,
/// so the dependency graph is known to be incomplete.
fn add_unmarked_tests(files: &[(String, PathBuf)], decls: &mut Vec<TestDecl>) -> bool {
    let mut complete = true;
    for (rel, path) in files {
        match python_source::scan_file(path) {
            Ok(scan) => {
                complete &= scan.caveats.is_empty();
                decls.extend(declarations(rel, &scan));
            }
            Err(_) => complete = false,
        }
    }
    complete
}

/// The path's tier plus every tier a marker in the file names.
fn scan_tiers(scan: &ModuleScan, tiers: &Tiers, path_tier: String) -> BTreeSet<String> {
    let mut found = BTreeSet::from([path_tier]);
    for marker in &scan.all_markers {
        if let Some(tier) = tiers.of_marker(&marker.name) {
            found.insert(tier.to_string());
        }
    }
    found
}

/// Requirements written as literals; the others (`requires_env(NAME)`) are probed by the
/// plugin in the worker when it meets them.
fn file_requirements(
    scan: &ModuleScan,
    request: &RunRequest,
    rel: &str,
) -> Result<Vec<Requirement>, SessionError> {
    capabilities::requirements(&scan.all_markers, &request.planning.capabilities)
        .map(|r| r.known)
        .map_err(|e| SessionError::Plan(format!("{rel}: {e}")))
}

/// The file's tests with their dependency markers, for the dependency graph.
fn declarations(rel: &str, scan: &ModuleScan) -> Vec<TestDecl> {
    scan.tests
        .iter()
        .map(|test| TestDecl {
            file: rel.to_string(),
            name: test.name.clone(),
            parametrized: test.parametrized,
            dependency: test
                .markers
                .iter()
                .find(|m| m.name == "dependency")
                .map(dependency_mark),
        })
        .collect()
}

/// Only literal strings count; a name computed at run time is left to the plugin.
fn dependency_mark(marker: &Marker) -> DependencyMark {
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    DependencyMark {
        name: marker.kwargs.get("name").and_then(text),
        depends: marker
            .kwargs
            .get("depends")
            .and_then(|d| d.as_array())
            .map(|a| a.iter().filter_map(text).collect())
            .unwrap_or_default(),
        scope: marker
            .kwargs
            .get("scope")
            .and_then(text)
            .unwrap_or_else(|| "module".to_string()),
    }
}

/// conftest.py files that can add markers at run time (hooks, `add_marker`): tests below
/// them may be in any tier, whatever the static reader saw.
struct DynamicMarkers {
    rootdir: PathBuf,
    cache: std::cell::RefCell<HashMap<PathBuf, bool>>,
}

impl DynamicMarkers {
    fn new(rootdir: &Path) -> Self {
        DynamicMarkers {
            rootdir: rootdir.to_path_buf(),
            cache: Default::default(),
        }
    }

    fn applies_to(&self, file: &Path) -> bool {
        file.ancestors()
            .skip(1)
            .take_while(|d| d.starts_with(&self.rootdir))
            .any(|dir| self.conftest_adds_markers(dir))
    }

    fn conftest_adds_markers(&self, dir: &Path) -> bool {
        if let Some(&known) = self.cache.borrow().get(dir) {
            return known;
        }
        let text = std::fs::read_to_string(dir.join("conftest.py")).unwrap_or_default();
        let adds = [
            "add_marker",
            "pytest_collection_modifyitems",
            "pytest_itemcollected",
        ]
        .iter()
        .any(|hook| text.contains(hook));
        self.cache.borrow_mut().insert(dir.to_path_buf(), adds);
        adds
    }
}

/// A path relative to the rootdir, with `/`, as pytest's node ids write it.
pub(super) fn relative(path: &Path, rootdir: &Path) -> String {
    path.strip_prefix(rootdir)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Builds or takes the configured binaries and lists their tests. A binary that cannot be
/// built or listed becomes one error result; the Python tests still run.
fn native_tests(request: &NativeRequest) -> (Vec<NativeTest>, Vec<TestResult>) {
    let binaries = match &request.manifest {
        Some(manifest) if request.binaries.is_empty() => {
            match native::build(manifest, &request.cargo_args) {
                Ok(binaries) => binaries,
                Err(e) => return (vec![], vec![native_error(manifest, &e.to_string())]),
            }
        }
        _ => native::from_paths(&request.binaries, &request.cwd),
    };
    let mut tests = Vec::new();
    let mut errors = Vec::new();
    for binary in binaries.into_iter().map(Arc::new) {
        match native::list(&binary) {
            Ok(found) => tests.extend(found),
            Err(e) => errors.push(native_error(&binary.path, &e.to_string())),
        }
    }
    (tests, errors)
}

fn native_error(what: &Path, message: &str) -> TestResult {
    let problem = Problem {
        phase: Phase::Collect,
        is_error: true,
        message: message.lines().next().unwrap_or(message).to_string(),
        location: None,
        longrepr: message.to_string(),
    };
    let id = format!("native:{}", what.display());
    TestResult::bare(id, Outcome::Error, vec![problem], None, 0)
}

/// Tier of a native test: a tier named by its libtest-mimic kind, its binary or a module of
/// its path, else `integration` for `tests/*.rs` binaries and `unit` for a crate's own unit
/// tests.
pub fn native_tier<'a>(tiers: &'a Tiers, test: &NativeTest) -> &'a str {
    let named = libtest_kind(&test.name)
        .into_iter()
        .chain(std::iter::once(test.binary.binary.as_str()))
        .chain(test.name.split("::"))
        .find_map(|part| tiers.of_marker(part));
    let fallback = match test.binary.kind.as_str() {
        "test" => "integration",
        "bench" => "performance",
        _ => "unit",
    };
    let fallback = tiers
        .names()
        .into_iter()
        .find(|n| *n == fallback)
        .unwrap_or("unit");
    named.unwrap_or(fallback)
}

/// libtest-mimic lists a trial that has a kind as `[kind] name` (and `--exact` takes that
/// whole string); harnesses such as vigil's own set the kind to the trial's tier.
fn libtest_kind(name: &str) -> Option<&str> {
    name.strip_prefix('[')?
        .split_once("] ")
        .map(|(kind, _)| kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_free_text_is_not_parsed() {
        assert!(!may_have_markers(b"def test_x():\n    assert 1\n"));
        assert!(may_have_markers(b"@pytest.mark.unit\ndef test_x(): pass\n"));
    }

    #[test]
    fn dependency_marks_take_literal_strings_only() {
        let marker: Marker = serde_json::from_value(serde_json::json!({
            "name": "dependency",
            "kwargs": {"depends": ["a", {"$expr": "NAMES"}], "scope": "session"}
        }))
        .unwrap();
        let mark = dependency_mark(&marker);
        assert_eq!(mark.depends, vec!["a".to_string()]);
        assert_eq!(mark.scope, "session");
        assert_eq!(mark.name, None);
    }

    #[test]
    fn a_libtest_mimic_kind_names_the_tier() {
        let binary = |kind: &str| {
            Arc::new(crate::discover::native::NativeBinary {
                crate_name: "vigil".into(),
                binary: "suites".into(),
                kind: kind.into(),
                path: "suites".into(),
                cwd: ".".into(),
            })
        };
        let test = |name: &str| NativeTest {
            id: format!("native:vigil::suites::{name}"),
            name: name.into(),
            ignored: false,
            binary: binary("test"),
        };
        let tiers = Tiers::new(&Default::default());
        assert_eq!(
            native_tier(&tiers, &test("[stress] interrupts::sigint")),
            "stress"
        );
        assert_eq!(native_tier(&tiers, &test("[e2e] cli::x")), "e2e");
        // Not a tier, or not a kind: the rules as before.
        assert_eq!(native_tier(&tiers, &test("[slow] cli::x")), "integration");
        assert_eq!(native_tier(&tiers, &test("[unit]cli::x")), "integration");
        assert_eq!(native_tier(&tiers, &test("e2e::cli::x")), "e2e");
    }
}
