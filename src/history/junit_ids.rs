//! Test ids rebuilt from JUnit `classname`/`name` pairs the way vigil reports them: pytest node
//! ids (`tests/test_x.py::TestA::test_b[p]`) from a `file` attribute or from the dotted
//! classname resolved against the project's files, and `native:crate::binary::test` ids from
//! vigil's own native suites and from nextest's binary ids.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::discover::native::{NativeBinary, NativeTest};
use crate::plan::Tiers;

/// One test case's names as the JUnit file gives them.
pub struct CaseNames<'a> {
    pub suite: &'a str,
    pub classname: &'a str,
    pub name: &'a str,
    /// pytest's xunit1 `file` attribute (a path relative to its rootdir).
    pub file: Option<&'a str>,
    /// The report came from nextest: classnames are binary ids.
    pub nextest: bool,
}

/// A rebuilt id and its tier.
pub struct TestId {
    pub id: String,
    pub tier: String,
}

pub struct IdResolver<'a> {
    project_dir: PathBuf,
    tiers: &'a Tiers,
    /// Dotted classname → the `.py` file it names and how many segments that took.
    modules: HashMap<String, Option<(String, usize)>>,
}

impl<'a> IdResolver<'a> {
    pub fn new(project_dir: &Path, tiers: &'a Tiers) -> IdResolver<'a> {
        IdResolver {
            project_dir: project_dir.to_path_buf(),
            tiers,
            modules: HashMap::new(),
        }
    }

    pub fn resolve(&mut self, case: &CaseNames) -> TestId {
        if let Some(binary) = case.classname.strip_prefix("native:") {
            return self.native(binary, case.name, None);
        }
        if case.suite.starts_with("native:") {
            return self.native(case.classname, case.name, None);
        }
        if case.nextest {
            let binary_id = if case.classname.is_empty() {
                case.suite
            } else {
                case.classname
            };
            return self.nextest(binary_id, case.name);
        }
        let id = match case.file {
            Some(file) => with_file(file, case.classname, case.name),
            None => self.by_classname(case.classname, case.name),
        };
        let tier_path = match id.split_once("::").map_or(id.as_str(), |(f, _)| f) {
            file if file.ends_with(".py") => PathBuf::from(file),
            // Unresolved: the dotted classname still names the directories.
            _ => PathBuf::from(case.classname.replace('.', "/")),
        };
        let tier = self.tiers.of_test(&tier_path, []).to_string();
        TestId { id, tier }
    }

    /// `tests.test_x.TestA` + `test_b` → `tests/test_x.py::TestA::test_b` when that file
    /// exists; else `classname::name`. An empty classname is pytest's file-level entry.
    fn by_classname(&mut self, classname: &str, name: &str) -> String {
        if classname.is_empty() {
            return match self.module(name) {
                Some((file, 0)) => file,
                _ => name.to_string(),
            };
        }
        match self.module(classname) {
            Some((file, classes)) => {
                let segments: Vec<&str> = classname.split('.').collect();
                let mut parts = vec![file.as_str()];
                parts.extend(&segments[segments.len() - classes..]);
                parts.push(name);
                parts.join("::")
            }
            None => format!("{classname}::{name}"),
        }
    }

    /// The longest leading run of segments that is a `.py` file under the project, and how
    /// many segments are left over (the classes).
    fn module(&mut self, dotted: &str) -> Option<(String, usize)> {
        if let Some(found) = self.modules.get(dotted) {
            return found.clone();
        }
        let segments: Vec<&str> = dotted.split('.').collect();
        let found = (1..=segments.len()).rev().find_map(|k| {
            let file = format!("{}.py", segments[..k].join("/"));
            self.project_dir
                .join(&file)
                .is_file()
                .then(|| (file, segments.len() - k))
        });
        self.modules.insert(dotted.to_string(), found.clone());
        found
    }

    /// nextest's binary ids: `pkg` (the lib's unit tests), `pkg::name` (tests/name.rs),
    /// `pkg::bin/name`, `pkg::example/name`, `pkg::bench/name`.
    fn nextest(&self, binary_id: &str, name: &str) -> TestId {
        let (package, target) = binary_id.split_once("::").unwrap_or((binary_id, ""));
        let (kind, target) = match target.split_once('/') {
            _ if target.is_empty() => ("lib", package.replace('-', "_")),
            Some((kind, target)) => (kind, target.to_string()),
            None => ("test", target.to_string()),
        };
        self.native(&format!("{package}::{target}"), name, Some(kind))
    }

    /// `crate::binary` + test name → `native:crate::binary::name`, with the tier vigil's
    /// native runner would give it. Without a known target kind, a binary named like its
    /// crate is the lib's unit tests and any other an integration test.
    fn native(&self, binary: &str, name: &str, kind: Option<&str>) -> TestId {
        let (crate_name, target) = binary.split_once("::").unwrap_or((binary, binary));
        let kind = kind.unwrap_or(if target == crate_name.replace('-', "_") {
            "lib"
        } else {
            "test"
        });
        let test = NativeTest {
            id: format!("native:{crate_name}::{target}::{name}"),
            name: name.to_string(),
            ignored: false,
            binary: Arc::new(NativeBinary {
                crate_name: crate_name.to_string(),
                binary: target.to_string(),
                kind: kind.to_string(),
                path: PathBuf::new(),
                cwd: PathBuf::new(),
            }),
        };
        let tier = crate::session::native_tier(self.tiers, &test).to_string();
        TestId { id: test.id, tier }
    }
}

/// pytest's `file` attribute with the classes the classname adds after the module's path.
fn with_file(file: &str, classname: &str, name: &str) -> String {
    let file = file.replace('\\', "/");
    let module = file.trim_end_matches(".py").replace('/', ".");
    let classes = classname
        .strip_prefix(&module)
        .filter(|rest| rest.is_empty() || rest.starts_with('.'))
        .map(|rest| {
            rest.split('.')
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let mut parts = vec![file.as_str()];
    parts.extend(classes);
    parts.push(name);
    parts.join("::")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case<'a>(suite: &'a str, classname: &'a str, name: &'a str) -> CaseNames<'a> {
        CaseNames {
            suite,
            classname,
            name,
            file: None,
            nextest: false,
        }
    }

    fn project() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("tests/unit")).unwrap();
        std::fs::write(dir.path().join("tests/unit/test_x.py"), "").unwrap();
        dir
    }

    #[test]
    fn pytest_classnames_resolve_against_files() {
        let dir = project();
        let tiers = Tiers::new(&Default::default());
        let mut ids = IdResolver::new(dir.path(), &tiers);
        let got = ids.resolve(&case("pytest", "tests.unit.test_x.TestA", "test_b[a.b]"));
        assert_eq!(got.id, "tests/unit/test_x.py::TestA::test_b[a.b]");
        assert_eq!(got.tier, "unit");
        let got = ids.resolve(&case("pytest", "tests.unit.test_x", "test_c"));
        assert_eq!(got.id, "tests/unit/test_x.py::test_c");
        // pytest's file-level entry (a collection error).
        let got = ids.resolve(&case("pytest", "", "tests.unit.test_x"));
        assert_eq!(got.id, "tests/unit/test_x.py");
        // No such file: kept as written, tier still from the dotted directories.
        let got = ids.resolve(&case("pytest", "tests.e2e.test_gone.TestZ", "test_q"));
        assert_eq!(got.id, "tests.e2e.test_gone.TestZ::test_q");
        assert_eq!(got.tier, "e2e");
    }

    #[test]
    fn a_file_attribute_wins() {
        let tiers = Tiers::new(&Default::default());
        let mut ids = IdResolver::new(Path::new("/nonexistent"), &tiers);
        let mut names = case("pytest", "tests.integration.test_y.TestA.TestB", "test_z");
        names.file = Some("tests/integration/test_y.py");
        let got = ids.resolve(&names);
        assert_eq!(got.id, "tests/integration/test_y.py::TestA::TestB::test_z");
        assert_eq!(got.tier, "integration");
    }

    #[test]
    fn native_ids_from_vigil_and_nextest() {
        let tiers = Tiers::new(&Default::default());
        let mut ids = IdResolver::new(Path::new("/nonexistent"), &tiers);
        let vigil = ids.resolve(&case(
            "native:pricing::e2e",
            "pricing::e2e",
            "orders::whole",
        ));
        assert_eq!(vigil.id, "native:pricing::e2e::orders::whole");
        assert_eq!(vigil.tier, "e2e");
        let mut nextest = case("my-crate", "my-crate", "tests::adds");
        nextest.nextest = true;
        let lib = ids.resolve(&nextest);
        assert_eq!(lib.id, "native:my-crate::my_crate::tests::adds");
        assert_eq!(lib.tier, "unit");
        nextest.classname = "my-crate::api";
        let test = ids.resolve(&nextest);
        assert_eq!(test.id, "native:my-crate::api::tests::adds");
        assert_eq!(test.tier, "integration");
        nextest.classname = "my-crate::bench/speed";
        let bench = ids.resolve(&nextest);
        assert_eq!(bench.id, "native:my-crate::speed::tests::adds");
        assert_eq!(bench.tier, "performance");
    }
}
