//! Selections on a small real project in a temp dir: which tests each kind of change selects.

use std::path::{Path, PathBuf};

use super::*;

const FILES: &[(&str, &str)] = &[
    ("app/__init__.py", ""),
    (
        "app/calc.py",
        "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n\n\n\
         class Acc:\n    def __init__(self):\n        self.total = 0\n\n    \
         def push(self, x):\n        self.total = add(self.total, x)\n",
    ),
    ("app/text.py", "def shout(s):\n    return s.upper()\n"),
    // Imported by no module: only `plugins.load` (a computed import) can reach it.
    ("app/extra.py", "def hello():\n    return 1\n"),
    (
        "app/plugins.py",
        "import importlib\n\n\ndef load(name):\n    return importlib.import_module(name)\n",
    ),
    (
        "tests/conftest.py",
        "import pytest\n\n\n@pytest.fixture\ndef acc():\n    from app.calc import Acc\n    return Acc()\n",
    ),
    (
        "tests/test_calc.py",
        "from app.calc import add, mul\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\n\
         def test_mul():\n    assert mul(2, 3) == 6\n",
    ),
    (
        "tests/test_acc.py",
        "def test_push(acc):\n    acc.push(2)\n    assert acc.total == 2\n",
    ),
    (
        "tests/test_text.py",
        "from app import text\n\n\ndef test_shout():\n    assert text.shout('a') == 'A'\n",
    ),
    (
        "tests/test_plugins.py",
        "from app.plugins import load\n\n\ndef test_load():\n    assert load('app.text')\n",
    ),
    ("tests/data/sample.json", "{}\n"),
    // Test methods inherited from a helper module's class.
    (
        "tests/base_cases.py",
        "from app.calc import mul\n\n\nclass Cases:\n    def test_square(self):\n        \
         assert mul(2, 2) == 4\n",
    ),
    (
        "tests/test_inherit.py",
        "from base_cases import Cases\n\n\nclass TestInherited(Cases):\n    pass\n",
    ),
    // `read1` is called by the io machinery, never by name in the project.
    (
        "app/stream.py",
        "class Reader:\n    def read1(self, n=-1):\n        return b''\n",
    ),
    (
        "tests/test_stream.py",
        "from app.stream import Reader\n\n\ndef test_reader():\n    assert Reader() is not None\n",
    ),
    ("other/test_other.py", "def test_other():\n    pass\n"),
];

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in FILES {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        Project { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn tests(&self) -> Vec<PathBuf> {
        let mut tests: Vec<PathBuf> = FILES
            .iter()
            .filter(|(p, _)| p.rsplit('/').next().unwrap().starts_with("test_"))
            .map(|(p, _)| self.root().join(p))
            .collect();
        tests.sort();
        tests
    }

    fn selector(&self, map: &[(&str, &str)]) -> Selector {
        Selector::new(Settings {
            root: self.root().to_path_buf(),
            map: map
                .iter()
                .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
                .collect(),
        })
    }

    /// Replaces `old` by `new` in `file`, and selects for that change as watch mode does.
    fn edit(&self, selector: &mut Selector, file: &str, old: &str, new: &str) -> Selection {
        let path = self.root().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(old), "{old:?} not in {file}");
        std::fs::write(&path, text.replacen(old, new, 1)).unwrap();
        self.select(selector, file, Before::Remembered)
    }

    fn select(&self, selector: &mut Selector, file: &str, before: Before) -> Selection {
        let change = Change {
            path: self.root().join(file),
            before,
        };
        selector.select(&[change], &self.tests())
    }

    /// The selection's Python targets relative to the project.
    fn shown(&self, selection: &Selection) -> Vec<String> {
        let root = format!("{}/", self.root().display());
        let mut shown: Vec<String> = selection
            .python
            .iter()
            .map(|t| t.strip_prefix(&root).unwrap_or(t).to_string())
            .collect();
        shown.sort();
        shown
    }
}

#[test]
fn a_function_body_selects_the_tests_that_call_it_and_no_others() {
    let project = Project::new();
    let mut selector = project.selector(&[]);
    let mul = project.edit(&mut selector, "app/calc.py", "a * b", "a * b + 0");
    assert_eq!(
        project.shown(&mul),
        // Its tests come from another module: pytest's ids for it are not read statically.
        ["tests/test_calc.py::test_mul", "tests/test_inherit.py"]
    );
    // add is called by Acc.push, which the conftest fixture's test calls by attribute.
    let add = project.edit(&mut selector, "app/calc.py", "a + b", "b + a");
    assert_eq!(
        project.shown(&add),
        [
            "tests/test_acc.py::test_push",
            "tests/test_calc.py::test_add"
        ]
    );
    // A module nothing imports by name is reached by the computed import in plugins.load.
    let extra = project.edit(&mut selector, "app/extra.py", "return 1", "return 2");
    assert_eq!(project.shown(&extra), ["tests/test_plugins.py::test_load"]);
    // A method nothing names reaches the users of its class.
    let read1 = project.edit(&mut selector, "app/stream.py", "return b''", "return b'x'");
    assert_eq!(project.shown(&read1), ["tests/test_stream.py::test_reader"]);
    assert!(!add.everything && add.native.is_empty());
}

#[test]
fn top_level_code_and_deletions_select_whole_files_and_fixtures_their_users() {
    let project = Project::new();
    let mut selector = project.selector(&[]);
    let top = project.edit(
        &mut selector,
        "app/text.py",
        "def shout",
        "LOUD = True\n\n\ndef shout",
    );
    assert_eq!(
        project.shown(&top),
        ["tests/test_plugins.py", "tests/test_text.py"]
    );
    let conftest = project.edit(
        &mut selector,
        "tests/conftest.py",
        "return Acc()",
        "made = Acc()\n    return made",
    );
    // A fixture reaches the tests that ask for it by name...
    assert_eq!(project.shown(&conftest), ["tests/test_acc.py::test_push"]);
    // ...code a conftest runs at import reaches every test under it.
    let top = project.edit(
        &mut selector,
        "tests/conftest.py",
        "import pytest",
        "import pytest\nLIMIT = 1",
    );
    assert_eq!(
        project.shown(&top),
        [
            "tests/test_acc.py",
            "tests/test_calc.py",
            "tests/test_inherit.py",
            "tests/test_plugins.py",
            "tests/test_stream.py",
            "tests/test_text.py"
        ]
    );
    std::fs::remove_file(project.root().join("app/text.py")).unwrap();
    let deleted = project.select(&mut selector, "app/text.py", Before::Remembered);
    assert_eq!(
        project.shown(&deleted),
        ["tests/test_plugins.py", "tests/test_text.py"]
    );
}

#[test]
fn a_test_file_edit_selects_that_file() {
    let project = Project::new();
    let mut selector = project.selector(&[]);
    let edited = project.edit(&mut selector, "other/test_other.py", "pass", "assert True");
    assert_eq!(project.shown(&edited), ["other/test_other.py"]);
}

#[test]
fn text_from_git_is_compared_like_a_remembered_reading() {
    let project = Project::new();
    let path = project.root().join("app/text.py");
    let before = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, before.replace("upper()", "upper().strip()")).unwrap();
    let mut selector = project.selector(&[]);
    let selected = project.select(&mut selector, "app/text.py", Before::Text(before));
    assert_eq!(project.shown(&selected), ["tests/test_text.py::test_shout"]);
    let unknown = project.select(&mut selector, "app/text.py", Before::Unknown);
    assert_eq!(
        project.shown(&unknown),
        ["tests/test_plugins.py", "tests/test_text.py"]
    );
}

#[test]
fn other_files_go_by_map_then_nearest_test_tree() {
    let project = Project::new();
    let mut selector = project.selector(&[("docs/**", "other")]);
    let data = project.select(&mut selector, "tests/data/sample.json", Before::Unknown);
    assert_eq!(project.shown(&data), ["tests"]);
    std::fs::create_dir_all(project.root().join("docs")).unwrap();
    let mapped = project.select(&mut selector, "docs/index.md", Before::Unknown);
    assert_eq!(project.shown(&mapped), ["other"]);
    let config = project.select(&mut selector, "pyproject.toml", Before::Absent);
    assert!(config.everything);
    let rust = project.select(&mut selector, "src/lib.rs", Before::Unknown);
    assert_eq!(rust.native, ["native:"]);
    let readme = project.select(&mut selector, "README.md", Before::Unknown);
    assert!(
        readme.everything,
        "nothing closer than the root holds tests"
    );
    let outside = Change {
        path: PathBuf::from("/elsewhere/x.py"),
        before: Before::Unknown,
    };
    assert!(selector.select(&[outside], &project.tests()).is_empty());
}

#[test]
fn the_cache_is_reused_and_survives_corruption() {
    let project = Project::new();
    drop(project.selector(&[]));
    let cache = project.root().join(".vigil/cache/affected.json");
    let written = std::fs::read_to_string(&cache).unwrap();
    assert!(written.contains("\"format\""));
    std::fs::write(&cache, "{not json").unwrap();
    let mut selector = project.selector(&[]);
    let mul = project.edit(&mut selector, "app/calc.py", "a * b", "a * b * 1");
    assert!(project
        .shown(&mul)
        .contains(&"tests/test_calc.py::test_mul".to_string()));
    assert!(std::fs::read_to_string(&cache)
        .unwrap()
        .contains("\"format\""));
}
