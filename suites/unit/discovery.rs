//! Discovery: `vigil list --files` finds the same test files pytest itself collects
//! (`pytest --collect-only -q`, file part of each node id), on small real trees in temp dirs.
//!
//! Most trials are data: a tree, where to start, the arguments, the rootdir pytest must report
//! and the files both tools must find. The expected files are spelled out (never empty), so an
//! empty-versus-empty comparison cannot pass and a wrong assumption about pytest shows up as
//! "pytest disagrees with the trial", not as a vigil failure.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Output};

use libtest_mimic::{Failed, Trial};

use crate::support::{self, check, TestResult};

/// A trial that is a plain function rather than a tree and a case.
type Check = fn() -> TestResult;

/// The body of every test-like file: pytest only reports files that hold a test.
const TEST: &str = "def test_t():\n    pass\n";

pub fn trials() -> Vec<Trial> {
    let mut trials = vec![
        // python_files
        compare(
            "python_files::default",
            DEFAULT_NAMES,
            expect(DEFAULT_NAMES_FOUND),
        ),
        compare(
            "python_files::custom",
            CUSTOM,
            expect(&["check_a.py", "sub/check_d.py"]),
        ),
        compare(
            "python_files::multiple_patterns_multiline",
            MULTI_LINES,
            expect(MULTI_FOUND),
        ),
        compare(
            "python_files::multiple_patterns_one_line",
            MULTI_ONE_LINE,
            expect(MULTI_FOUND),
        ),
        compare(
            "python_files::pattern_with_slash",
            SLASH,
            expect(SLASH_FOUND),
        ),
        compare(
            "python_files::char_class_and_question_mark",
            CHAR_CLASS,
            expect(&["test_b.py", "t1_x.py"]),
        ),
        // testpaths
        compare(
            "testpaths::pytest_ini",
            TESTPATHS_INI,
            expect(&["tests/test_a.py", "more/test_b.py"]),
        ),
        compare(
            "testpaths::pyproject_ini_options_list",
            PYPROJECT_LIST,
            expect(PYPROJECT_LIST_FOUND),
        ),
        compare(
            "testpaths::pyproject_ini_options_string",
            PYPROJECT_STRING,
            expect(&["integration/check_b.py"]),
        ),
        compare("testpaths::glob", GLOB, expect(GLOB_FOUND)),
        compare(
            "testpaths::no_match_falls_back_to_invocation_dir",
            NO_MATCH,
            expect(NO_MATCH_FOUND),
        ),
        compare(
            "testpaths::ignored_with_dir_arg",
            TESTPATHS,
            expect(OTHER_FOUND).args(&["other"]),
        ),
        compare(
            "testpaths::ignored_with_dot_arg",
            TESTPATHS,
            expect(ALL_TESTPATHS_FILES).args(&["."]),
        ),
        compare(
            "testpaths::ignored_from_subdirectory",
            TESTPATHS,
            expect(OTHER_FOUND).cwd("other"),
        ),
        compare(
            "subdir::config_found_above",
            SUBDIR,
            expect(SUBDIR_OTHER_FOUND).cwd("other"),
        ),
        compare(
            "subdir::two_levels_down",
            SUBDIR,
            expect(&["other/deep/check_d.py"]).cwd("other/deep"),
        ),
        compare(
            "subdir::arg_reaching_up",
            SUBDIR,
            expect(&["tests/test_a.py"])
                .cwd("other")
                .args(&["../tests"]),
        ),
        // norecursedirs, virtualenvs, __pycache__
        compare(
            "norecursedirs::default",
            NORECURSE_DEFAULT,
            expect(NORECURSE_DEFAULT_FOUND),
        ),
        compare(
            "norecursedirs::custom_replaces_default",
            NORECURSE_CUSTOM,
            expect(NORECURSE_CUSTOM_FOUND),
        ),
        compare(
            "norecursedirs::pycache_never_entered",
            PYCACHE,
            expect(&["test_a.py", "pkg/test_p.py"]),
        ),
        // config files
        compare(
            "config::setup_cfg_tool_pytest",
            SETUP_CFG,
            expect(&["suite/check_a.py"]),
        ),
        compare(
            "config::tox_ini_pytest",
            TOX_INI,
            expect(&["suite/check_a.py"]),
        ),
        compare(
            "config::tox_ini_without_section_skipped",
            TOX_NO_SECTION,
            expect(&["spec_c.py"]),
        ),
        compare(
            "config::pytest_toml",
            PYTEST_TOML,
            expect(&["check_a.py", "suite/check_c.py"]),
        ),
        compare(
            "config::pytest_toml_testpaths",
            PYTEST_TOML_TESTPATHS,
            expect(&["suite/check_c.py"]),
        ),
        compare(
            "config::dot_pytest_toml",
            DOT_PYTEST_TOML,
            expect(&["check_a.py", "suite/check_c.py"]),
        ),
        compare(
            "config::pyproject_tool_pytest_toml_mode",
            TOOL_PYTEST,
            expect(TOOL_PYTEST_FOUND),
        ),
        compare(
            "config::pyproject_tool_pytest_toml_mode_testpaths",
            TOOL_PYTEST_TESTPATHS,
            expect(TOOL_TESTPATHS_FOUND),
        ),
        // path and node-id arguments
        compare(
            "args::file_not_matching_python_files",
            ARGS,
            expect(&["tests/helpers.py"]).args(&["tests/helpers.py"]),
        ),
        compare(
            "args::several_files",
            ARGS,
            expect(ARGS_FILES).args(ARGS_FILES),
        ),
        compare(
            "args::norecursedirs_named_dirs_are_entered",
            ARGS,
            expect(ARGS_NORECURSE_FOUND).args(&["build", ".hidden"]),
        ),
        compare(
            "args::virtualenv_named_dir_is_entered",
            ARGS,
            expect(&["myenv/test_my.py"]).args(&["myenv"]),
        ),
        compare(
            "args::file_below_norecursedir",
            ARGS,
            expect(&["pkg/build/test_pb.py"]).args(&["pkg/build/test_pb.py"]),
        ),
        compare(
            "args::dir_and_file_inside_listed_once",
            ARGS,
            expect(&["tests/test_a.py"]).args(ARGS_DIR_AND_FILE),
        ),
        compare(
            "args::node_id",
            NODE_IDS,
            expect(&["tests/test_a.py"]).args(&["tests/test_a.py::test_x"]),
        ),
        compare(
            "args::node_ids_class_and_non_matching_file",
            NODE_IDS,
            expect(NODE_IDS_FOUND).args(NODE_IDS_ARGS),
        ),
        compare(
            "args::node_id_from_subdirectory",
            NODE_IDS,
            expect(&["tests/test_a.py"]).cwd("other").args(NODE_ID_UP),
        ),
        // rootdir and config file selection with nested configs
        compare(
            "rootdir::parent_config_applies_to_child",
            NESTED,
            expect(&["check_a.py", "child/check_c.py"]),
        ),
        compare(
            "rootdir::child_arg_selects_child_config",
            NESTED,
            expect(NESTED_CHILD_FOUND).args(&["child"]).rootdir("child"),
        ),
        compare(
            "rootdir::grandchild_arg_selects_child_config",
            NESTED,
            expect(NESTED_SUB_FOUND)
                .args(&["child/sub"])
                .rootdir("child"),
        ),
        compare(
            "rootdir::invoked_in_child",
            NESTED,
            expect(NESTED_CHILD_FOUND).cwd("child").rootdir("child"),
        ),
        compare(
            "rootdir::args_spanning_both_use_parent",
            NESTED,
            expect(NESTED_SPAN_FOUND).args(&["child", "check_a.py"]),
        ),
        compare(
            "rootdir::child_files_without_pytest_config_skipped",
            CHILD_NON_PYTEST,
            expect(CHILD_FOUND).cwd("child"),
        ),
        compare(
            "rootdir::pyproject_without_pytest_config_is_fallback",
            CHILD_PYPROJECT_ONLY,
            expect(CHILD_PYPROJECT_FOUND).cwd("child").rootdir("child"),
        ),
    ];
    for (i, name) in PRECEDENCE_NAMES.iter().enumerate() {
        let tree = Tree {
            tests: PRECEDENCE_TESTS,
            files: &PRECEDENCE_CONFIGS[i..],
            ..EMPTY
        };
        let case = expect(std::slice::from_ref(&PRECEDENCE_WINNERS[i]));
        trials.push(compare(
            &format!("config::precedence::{name}_wins"),
            tree,
            case,
        ));
    }
    let functions: [(&str, Check); 10] = [
        (
            "discovery::dash_c_runs_as_if_started_in_dir",
            dash_c_directory,
        ),
        ("discovery::gitignore::respected", gitignore_respected),
        (
            "discovery::gitignore::parent_gitignore_applies_in_subdir",
            gitignore_parent,
        ),
        ("discovery::gitignore::negation", gitignore_negation),
        (
            "discovery::errors::malformed_pytest_ini",
            error_malformed_pytest_ini,
        ),
        (
            "discovery::errors::duplicate_key_in_pytest_ini",
            error_duplicate_key,
        ),
        (
            "discovery::errors::malformed_tox_ini_without_pytest_section",
            error_malformed_tox_ini,
        ),
        (
            "discovery::errors::malformed_pyproject_toml",
            error_malformed_pyproject_toml,
        ),
        ("discovery::errors::missing_path", error_missing_path),
        ("discovery::errors::no_tests_exit_5", no_tests_exit_5),
    ];
    trials.extend(functions.into_iter().map(|(name, f)| Trial::test(name, f)));

    // Differences from pytest found by these trials and fixed in src/discover.
    trials.extend([
        compare(
            "python_files_only_match_py_files",
            NON_PY,
            expect(&["test_a.py", "pkg/test_b.py"]),
        ),
        compare(
            "testpaths_glob_skips_hidden_entries",
            HIDDEN_GLOB,
            expect(HIDDEN_GLOB_FOUND),
        ),
        compare(
            "symlinked_dirs_and_files_are_followed",
            SYMLINKS,
            expect(SYMLINKS_FOUND).cwd("proj").rootdir("proj"),
        ),
        compare(
            "empty_tool_pytest_table_is_not_config",
            EMPTY_TOOL_PYTEST,
            expect(CHILD_FOUND).cwd("child"),
        ),
        compare(
            "hash_in_ini_value_is_not_a_comment",
            HASH,
            expect(HASH_FOUND),
        ),
        Trial::test(
            "discovery::config::pytest_toml_top_level_options_are_an_error",
            pytest_toml_top_level_options,
        ),
    ]);
    trials
}

// ---------------------------------------------------------------------------------------------
// Trees and cases

/// A small project: files holding a test, other files (configs), and symlinks (path, target).
#[derive(Clone, Copy)]
struct Tree {
    tests: &'static [&'static str],
    files: &'static [(&'static str, &'static str)],
    links: &'static [(&'static str, &'static str)],
}

const EMPTY: Tree = Tree {
    tests: &[],
    files: &[],
    links: &[],
};

impl Tree {
    /// Writes the tree into a fresh temp dir.
    fn build(&self) -> Result<tempfile::TempDir, Failed> {
        // Canonical, so the paths pytest prints (from its resolved cwd) compare with ours.
        let base = std::env::temp_dir().canonicalize()?;
        let dir = tempfile::Builder::new()
            .prefix("vigil-discovery-")
            .tempdir_in(base)?;
        let all = self
            .tests
            .iter()
            .map(|p| (*p, TEST))
            .chain(self.files.iter().copied());
        for (path, contents) in all {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("a file in the temp dir"))?;
            std::fs::write(&path, contents)?;
        }
        for (link, target) in self.links {
            let link = dir.path().join(link);
            std::fs::create_dir_all(link.parent().expect("a link in the temp dir"))?;
            std::os::unix::fs::symlink(target, &link)?;
        }
        Ok(dir)
    }
}

/// One invocation and what it must find. All paths are relative to the temp dir.
#[derive(Clone, Copy)]
struct Case {
    /// Where both tools start ("" for the temp dir itself).
    cwd: &'static str,
    args: &'static [&'static str],
    /// The rootdir pytest must report.
    rootdir: &'static str,
    /// The test files, in any order; never empty (see `no_tests_exit_5` for that case).
    expected: &'static [&'static str],
}

const ROOT: Case = Case {
    cwd: "",
    args: &[],
    rootdir: "",
    expected: &[],
};

impl Case {
    fn cwd(self, cwd: &'static str) -> Case {
        Case { cwd, ..self }
    }

    fn args(self, args: &'static [&'static str]) -> Case {
        Case { args, ..self }
    }

    fn rootdir(self, rootdir: &'static str) -> Case {
        Case { rootdir, ..self }
    }
}

/// Started in the temp dir with no args, pytest's rootdir the temp dir, finding `expected`.
fn expect(expected: &'static [&'static str]) -> Case {
    Case { expected, ..ROOT }
}

/// `discovery::NAME`: vigil and pytest find `case.expected` in `tree`.
fn compare(name: &str, tree: Tree, case: Case) -> Trial {
    Trial::test(format!("discovery::{name}"), move || {
        let dir = tree.build()?;
        same_files(dir.path(), &case)
    })
}

// Expected file lists (and arg lists) too long to sit in `trials()`.
const NO_MATCH_FOUND: &[&str] = &["test_top.py", "pkg/test_a.py"];
const TOOL_TESTPATHS_FOUND: &[&str] = &["tests/check_d.py", "tests/spec_e.py"];
const ARGS_FILES: &[&str] = &["tests/helpers.py", "tests/check_b.py", "tests/test_a.py"];
const ARGS_NORECURSE_FOUND: &[&str] = &["build/test_b.py", ".hidden/test_h.py"];
const ARGS_DIR_AND_FILE: &[&str] = &["tests", "tests/test_a.py"];
const NODE_IDS_ARGS: &[&str] = &[
    "tests/helpers.py::test_h",
    "tests/test_k.py::TestK::test_m",
    "tests/test_a.py::test_y",
];
const NODE_IDS_FOUND: &[&str] = &["tests/helpers.py", "tests/test_k.py", "tests/test_a.py"];
const NODE_ID_UP: &[&str] = &["../tests/test_a.py::test_x"];
const NESTED_SUB_FOUND: &[&str] = &["child/sub/test_s.py"];
const NESTED_SPAN_FOUND: &[&str] = &["check_a.py", "child/check_c.py"];
const CHILD_FOUND: &[&str] = &["child/check_c.py"];
const CHILD_PYPROJECT_FOUND: &[&str] = &["child/test_c.py"];
const HIDDEN_GLOB_FOUND: &[&str] = &["tests/a/test_a.py", "tests/test_direct.py"];
const HASH_FOUND: &[&str] = &["tests/test_a.py", "integration/test_i.py"];

const DEFAULT_NAMES: Tree = Tree {
    tests: &[
        "test_a.py",
        "b_test.py",
        "tests.py",
        "check_x.py",
        "testx.py",
        "test_.py",
        "_test.py",
        "Test_upper.py",
        "test_c.pyc.py",
        "test_notes.txt",
        "pkg/test_d.py",
        "pkg/e_test.py",
        "pkg/deep/er/test_f.py",
        "pkg/helpers.py",
        "pkg/conftest.py",
        "test_dir/g.py",
    ],
    files: &[("pytest.ini", "[pytest]\n")],
    ..EMPTY
};
const DEFAULT_NAMES_FOUND: &[&str] = &[
    "test_a.py",
    "b_test.py",
    "test_.py",
    "_test.py",
    "test_c.pyc.py",
    "pkg/test_d.py",
    "pkg/e_test.py",
    "pkg/deep/er/test_f.py",
];

const CUSTOM: Tree = Tree {
    tests: &[
        "check_a.py",
        "test_b.py",
        "c_test.py",
        "sub/check_d.py",
        "checkx.py",
    ],
    files: &[("pytest.ini", "[pytest]\npython_files = check_*.py\n")],
    ..EMPTY
};

const MULTI_TESTS: &[&str] = &[
    "check_a.py",
    "b_spec.py",
    "test_c.py",
    "sub/check_d.py",
    "sub/e_spec.py",
    "f_test.py",
];
const MULTI_FOUND: &[&str] = &["check_a.py", "b_spec.py", "sub/check_d.py", "sub/e_spec.py"];
const MULTI_LINES: Tree = Tree {
    tests: MULTI_TESTS,
    files: &[(
        "pytest.ini",
        "[pytest]\npython_files =\n    check_*.py\n    *_spec.py\n",
    )],
    ..EMPTY
};
const MULTI_ONE_LINE: Tree = Tree {
    tests: MULTI_TESTS,
    files: &[(
        "pytest.ini",
        "[pytest]\npython_files = check_*.py *_spec.py\n",
    )],
    ..EMPTY
};

/// A pattern with `/` matches the whole path, anywhere below; its `*` crosses directories.
const SLASH: Tree = Tree {
    tests: &[
        "sub/a_spec.py",
        "sub/deep/b_spec.py",
        "other/c_spec.py",
        "x/sub/d_spec.py",
        "e_spec.py",
        "test_f.py",
        "other/test_g.py",
    ],
    files: &[(
        "pytest.ini",
        "[pytest]\npython_files = sub/*_spec.py test_*.py\n",
    )],
    ..EMPTY
};
const SLASH_FOUND: &[&str] = &[
    "sub/a_spec.py",
    "sub/deep/b_spec.py",
    "x/sub/d_spec.py",
    "test_f.py",
    "other/test_g.py",
];

const CHAR_CLASS: Tree = Tree {
    tests: &[
        "test_a.py",
        "test_b.py",
        "test_ab.py",
        "t1_x.py",
        "t22_x.py",
    ],
    files: &[(
        "pytest.ini",
        "[pytest]\npython_files = test_[!a]*.py t?_x.py\n",
    )],
    ..EMPTY
};

const TESTPATHS_INI: Tree = Tree {
    tests: &[
        "tests/test_a.py",
        "more/test_b.py",
        "test_top.py",
        "other/test_c.py",
    ],
    files: &[("pytest.ini", "[pytest]\ntestpaths = tests more\n")],
    ..EMPTY
};

const PYPROJECT_TESTS: &[&str] = &[
    "tests/test_a.py",
    "integration/check_b.py",
    "integration/test_c.py",
    "test_top.py",
];
const PYPROJECT_LIST: Tree = Tree {
    tests: PYPROJECT_TESTS,
    files: &[(
        "pyproject.toml",
        "[project]\nname = \"x\"\n\n[tool.pytest.ini_options]\ntestpaths = [\"tests\", \"integration\"]\n\
         python_files = [\"test_*.py\", \"check_*.py\"]\n",
    )],
    ..EMPTY
};
const PYPROJECT_LIST_FOUND: &[&str] = &[
    "tests/test_a.py",
    "integration/check_b.py",
    "integration/test_c.py",
];
/// ini mode also takes plain strings, split as ini values are.
const PYPROJECT_STRING: Tree = Tree {
    tests: PYPROJECT_TESTS,
    files: &[("pyproject.toml", "[tool.pytest.ini_options]\ntestpaths = \"integration\"\npython_files = \"check_*.py spec_*.py\"\n")],
    ..EMPTY
};

const GLOB: Tree = Tree {
    tests: &[
        "tests/x/unit/test_1.py",
        "tests/y/unit/test_2.py",
        "tests/y/unit/deep/test_3.py",
        "tests/y/integ/test_4.py",
        "tests/unit/test_5.py",
        "test_top.py",
    ],
    files: &[("pytest.ini", "[pytest]\ntestpaths = tests/*/unit\n")],
    ..EMPTY
};
const GLOB_FOUND: &[&str] = &[
    "tests/x/unit/test_1.py",
    "tests/y/unit/test_2.py",
    "tests/y/unit/deep/test_3.py",
];

/// testpaths that match nothing: pytest (with a warning) collects from the invocation dir.
const NO_MATCH: Tree = Tree {
    tests: &["test_top.py", "pkg/test_a.py"],
    files: &[("pytest.ini", "[pytest]\ntestpaths = missing nothing/*\n")],
    ..EMPTY
};

const TESTPATHS: Tree = Tree {
    tests: &[
        "tests/test_a.py",
        "other/test_o.py",
        "other/deep/test_d.py",
        "test_top.py",
    ],
    files: &[("pytest.ini", "[pytest]\ntestpaths = tests\n")],
    ..EMPTY
};
const OTHER_FOUND: &[&str] = &["other/test_o.py", "other/deep/test_d.py"];
const ALL_TESTPATHS_FILES: &[&str] = &[
    "tests/test_a.py",
    "other/test_o.py",
    "other/deep/test_d.py",
    "test_top.py",
];

/// From a subdirectory: the config above is used (python_files) but its testpaths are not.
const SUBDIR: Tree = Tree {
    tests: &[
        "tests/test_a.py",
        "other/check_o.py",
        "other/test_o.py",
        "other/deep/check_d.py",
        "check_top.py",
    ],
    files: &[(
        "pytest.ini",
        "[pytest]\ntestpaths = tests\npython_files = check_*.py test_*.py\n",
    )],
    ..EMPTY
};
const SUBDIR_OTHER_FOUND: &[&str] = &[
    "other/check_o.py",
    "other/test_o.py",
    "other/deep/check_d.py",
];

const NORECURSE_DEFAULT: Tree = Tree {
    tests: &[
        "test_top.py",
        "build/test_b.py",
        "dist/test_d.py",
        ".hidden/test_h.py",
        "node_modules/test_n.py",
        "foo.egg/test_e.py",
        "venv/test_v.py",
        "_darcs/test_da.py",
        "CVS/test_cvs.py",
        "{arch}/test_arch.py",
        "myenv/test_my.py",
        "condaenv/test_conda.py",
        "pkg/build/test_nb.py",
        "pkg/.git/test_git.py",
        "pkg/test_p.py",
        "buildx/test_bx.py",
        "venv2/test_v2.py",
        "arch/test_ar.py",
        "egg/test_egg.py",
    ],
    files: &[
        ("myenv/pyvenv.cfg", "home = /usr/bin\n"),
        ("condaenv/conda-meta/history", ""),
        ("pytest.ini", "[pytest]\n"),
    ],
    ..EMPTY
};
const NORECURSE_DEFAULT_FOUND: &[&str] = &[
    "test_top.py",
    "pkg/test_p.py",
    "buildx/test_bx.py",
    "venv2/test_v2.py",
    "arch/test_ar.py",
    "egg/test_egg.py",
];

/// A custom `norecursedirs` replaces the default list (build/ and .hidden/ are entered again),
/// a pattern with `/` matches the whole path, and virtualenvs and `__pycache__` stay skipped.
const NORECURSE_CUSTOM: Tree = Tree {
    tests: &[
        "test_top.py",
        "build/test_b.py",
        ".hidden/test_h.py",
        "skipme/test_s.py",
        "pkg/skipme/test_ps.py",
        "tests/data/test_data.py",
        "tests/test_t.py",
        "data/test_topdata.py",
        "myenv/test_my.py",
        "__pycache__/test_cache.py",
    ],
    files: &[
        ("myenv/pyvenv.cfg", "home = /usr/bin\n"),
        (
            "pytest.ini",
            "[pytest]\nnorecursedirs = skipme tests/data\n",
        ),
    ],
    ..EMPTY
};
const NORECURSE_CUSTOM_FOUND: &[&str] = &[
    "test_top.py",
    "build/test_b.py",
    ".hidden/test_h.py",
    "tests/test_t.py",
    "data/test_topdata.py",
];

const PYCACHE: Tree = Tree {
    tests: &[
        "test_a.py",
        "__pycache__/test_c1.py",
        "pkg/__pycache__/test_c2.py",
        "pkg/test_p.py",
    ],
    files: &[("pytest.ini", "[pytest]\nnorecursedirs = nothing\n")],
    ..EMPTY
};

const CONFIG_TESTS: &[&str] = &["suite/check_a.py", "suite/test_b.py", "check_top.py"];
const SETUP_CFG: Tree = Tree {
    tests: CONFIG_TESTS,
    files: &[(
        "setup.cfg",
        "[metadata]\nname = x\n\n[tool:pytest]\npython_files = check_*.py\ntestpaths = suite\n",
    )],
    ..EMPTY
};
const TOX_INI: Tree = Tree {
    tests: CONFIG_TESTS,
    files: &[(
        "tox.ini",
        "[tox]\nenvlist = py3\n\n[pytest]\npython_files = check_*.py\ntestpaths = suite\n",
    )],
    ..EMPTY
};
/// tox.ini without `[pytest]` is not pytest's config; setup.cfg's `[tool:pytest]` next to it is.
const TOX_NO_SECTION: Tree = Tree {
    tests: &["check_a.py", "test_b.py", "spec_c.py"],
    files: &[
        ("tox.ini", "[tox]\nenvlist = py3\n"),
        ("setup.cfg", "[tool:pytest]\npython_files = spec_*.py\n"),
    ],
    ..EMPTY
};

const TOML_TESTS: &[&str] = &[
    "check_a.py",
    "test_b.py",
    "suite/check_c.py",
    "suite/test_d.py",
];
const PYTEST_TOML: Tree = Tree {
    tests: TOML_TESTS,
    files: &[("pytest.toml", "[pytest]\npython_files = [\"check_*.py\"]\n")],
    ..EMPTY
};
const PYTEST_TOML_TESTPATHS: Tree = Tree {
    tests: TOML_TESTS,
    files: &[(
        "pytest.toml",
        "[pytest]\npython_files = [\"check_*.py\"]\ntestpaths = [\"suite\"]\n",
    )],
    ..EMPTY
};
const DOT_PYTEST_TOML: Tree = Tree {
    tests: TOML_TESTS,
    files: &[(
        ".pytest.toml",
        "[pytest]\npython_files = [\"check_*.py\"]\n",
    )],
    ..EMPTY
};

const TOOL_TESTS: &[&str] = &[
    "check_a.py",
    "test_b.py",
    "spec_c.py",
    "tests/check_d.py",
    "tests/spec_e.py",
    "tests/test_f.py",
];
const TOOL_PYTEST: Tree = Tree {
    tests: TOOL_TESTS,
    files: &[(
        "pyproject.toml",
        "[tool.pytest]\npython_files = [\"check_*.py\", \"spec_*.py\"]\n",
    )],
    ..EMPTY
};
const TOOL_PYTEST_FOUND: &[&str] = &[
    "check_a.py",
    "spec_c.py",
    "tests/check_d.py",
    "tests/spec_e.py",
];
const TOOL_PYTEST_TESTPATHS: Tree = Tree {
    tests: TOOL_TESTS,
    files: &[(
        "pyproject.toml",
        "[tool.pytest]\npython_files = [\"check_*.py\", \"spec_*.py\"]\ntestpaths = [\"tests\"]\n",
    )],
    ..EMPTY
};

/// In one directory: pytest.toml > .pytest.toml > pytest.ini > .pytest.ini > pyproject.toml >
/// tox.ini > setup.cfg. Trial i holds configs i.. and expects config i to win.
const PRECEDENCE_TESTS: &[&str] = &[
    "a_1.py",
    "b_2.py",
    "c_3.py",
    "d_4.py",
    "e_5.py",
    "f_6.py",
    "g_7.py",
    "test_x.py",
];
static PRECEDENCE_NAMES: [&str; 7] = [
    "pytest_toml",
    "dot_pytest_toml",
    "pytest_ini",
    "dot_pytest_ini",
    "pyproject_toml",
    "tox_ini",
    "setup_cfg",
];
static PRECEDENCE_CONFIGS: [(&str, &str); 7] = [
    ("pytest.toml", "[pytest]\npython_files = [\"a_*.py\"]\n"),
    (".pytest.toml", "[pytest]\npython_files = [\"b_*.py\"]\n"),
    ("pytest.ini", "[pytest]\npython_files = c_*.py\n"),
    (".pytest.ini", "[pytest]\npython_files = d_*.py\n"),
    (
        "pyproject.toml",
        "[tool.pytest.ini_options]\npython_files = [\"e_*.py\"]\n",
    ),
    ("tox.ini", "[pytest]\npython_files = f_*.py\n"),
    ("setup.cfg", "[tool:pytest]\npython_files = g_*.py\n"),
];
static PRECEDENCE_WINNERS: [&str; 7] = [
    "a_1.py", "b_2.py", "c_3.py", "d_4.py", "e_5.py", "f_6.py", "g_7.py",
];

/// A `.py` file named on the command line is collected whatever its name, and a directory
/// named on the command line is entered even when norecursedirs or venv rules would skip it.
const ARGS: Tree = Tree {
    tests: &[
        "tests/test_a.py",
        "tests/helpers.py",
        "tests/check_b.py",
        "build/test_b.py",
        ".hidden/test_h.py",
        "myenv/test_my.py",
        "pkg/build/test_pb.py",
    ],
    files: &[
        ("myenv/pyvenv.cfg", "home = /usr/bin\n"),
        ("pytest.ini", "[pytest]\ntestpaths = tests\n"),
    ],
    ..EMPTY
};

const NODE_IDS: Tree = Tree {
    tests: &["other/test_o.py"],
    files: &[
        (
            "tests/test_a.py",
            "def test_x():\n    pass\n\ndef test_y():\n    pass\n",
        ),
        ("tests/helpers.py", "def test_h():\n    pass\n"),
        (
            "tests/test_k.py",
            "class TestK:\n    def test_m(self):\n        pass\n",
        ),
        ("pytest.ini", "[pytest]\n"),
    ],
    ..EMPTY
};

/// The config nearest the common ancestor of the args (or the invocation dir) wins, and the
/// rootdir is where it lives.
const NESTED: Tree = Tree {
    tests: &[
        "check_a.py",
        "test_a.py",
        "child/check_c.py",
        "child/test_c.py",
        "child/sub/test_s.py",
    ],
    files: &[
        ("pytest.ini", "[pytest]\npython_files = check_*.py\n"),
        ("child/pytest.ini", "[pytest]\n"),
    ],
    ..EMPTY
};
const NESTED_CHILD_FOUND: &[&str] = &["child/test_c.py", "child/sub/test_s.py"];

/// pyproject.toml, tox.ini and setup.cfg without pytest configuration in a child do not stop
/// the search: the parent's pytest.ini is used.
const CHILD_NON_PYTEST: Tree = Tree {
    tests: &["check_a.py", "child/check_c.py", "child/test_c.py"],
    files: &[
        ("pytest.ini", "[pytest]\npython_files = check_*.py\n"),
        (
            "child/pyproject.toml",
            "[project]\nname = \"child\"\n\n[tool.black]\nline-length = 100\n",
        ),
        ("child/tox.ini", "[tox]\nenvlist = py3\n"),
        ("child/setup.cfg", "[metadata]\nname = child\n"),
    ],
    ..EMPTY
};
/// With no config above, a pyproject.toml without pytest configuration makes its dir the rootdir.
const CHILD_PYPROJECT_ONLY: Tree = Tree {
    tests: &["check_a.py", "child/check_c.py", "child/test_c.py"],
    files: &[("child/pyproject.toml", "[project]\nname = \"child\"\n")],
    ..EMPTY
};

// ---------------------------------------------------------------------------------------------
// Running both tools

/// Runs pytest in-process under a probe plugin that prints the rootdir after pytest is done, so
/// one pytest process gives both the node ids and the rootdir. Same environment as
/// `support::pytest`.
const PROBE: &str = "\
import sys, pytest
class Probe:
    rootdir = None
    def pytest_configure(self, config):
        Probe.rootdir = config.rootpath
code = pytest.main(sys.argv[1:], plugins=[Probe()])
print('vigil-probe-rootdir:', Probe.rootdir)
sys.exit(int(code))
";

struct Collected {
    code: Option<i32>,
    rootdir: Option<PathBuf>,
    /// The file parts of the node ids, as pytest prints them (rootdir-relative).
    node_files: BTreeSet<String>,
    text: String,
}

fn pytest_collect(cwd: &Path, args: &[&str]) -> Result<Collected, Failed> {
    let output = Command::new(support::python()?)
        .current_dir(cwd)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("NO_COLOR", "1")
        .env_remove("PYTEST_ADDOPTS")
        .args([
            "-c",
            PROBE,
            "-p",
            "no:cacheprovider",
            "--collect-only",
            "-q",
            "--import-mode=importlib",
        ])
        .args(args)
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut rootdir = None;
    let mut node_files = BTreeSet::new();
    for line in stdout.lines() {
        if let Some(dir) = line.strip_prefix("vigil-probe-rootdir: ") {
            rootdir = (dir != "None").then(|| PathBuf::from(dir));
        } else if let Some((file, _)) = line.split_once("::") {
            node_files.insert(file.to_string());
        }
    }
    Ok(Collected {
        code: output.status.code(),
        rootdir,
        node_files,
        text: support::text(&output),
    })
}

/// Lexically normalized `base/path` (either may hold `..`), relative to `root` when below it.
fn relative_to_root(root: &Path, base: &Path, path: &str) -> String {
    let mut out = PathBuf::new();
    for part in base.join(path).components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    match out.strip_prefix(root) {
        Ok(rel) => rel.display().to_string(),
        Err(_) => out.display().to_string(),
    }
}

fn sorted(items: &[&str]) -> Vec<String> {
    items
        .iter()
        .map(|s| s.to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Files `vigil list --files ARGS` prints (root-relative, sorted), checking exit 0 and that no
/// file is listed twice.
fn vigil_files(root: &Path, cwd: &Path, args: &[&str]) -> Result<Vec<String>, Failed> {
    let argv: Vec<&str> = ["list", "--files"].iter().chain(args).copied().collect();
    let output = support::vigil(cwd, &argv)?;
    check(output.status.code() == Some(0), || {
        format!(
            "vigil list --files {args:?}: exit {:?}, want 0\n{}",
            output.status.code(),
            support::text(&output)
        )
    })?;
    let lines: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| relative_to_root(root, cwd, l))
        .collect();
    let unique: BTreeSet<String> = lines.iter().cloned().collect();
    check(unique.len() == lines.len(), || {
        format!("vigil listed a file twice:\n{}", lines.join("\n"))
    })?;
    Ok(unique.into_iter().collect())
}

/// Files pytest collects (root-relative, sorted), checking exit 0 and the rootdir it reports.
fn pytest_files(
    root: &Path,
    cwd: &Path,
    args: &[&str],
    want_rootdir: &str,
) -> Result<Vec<String>, Failed> {
    let collected = pytest_collect(cwd, args)?;
    check(collected.code == Some(0), || {
        format!(
            "pytest --collect-only {args:?}: exit {:?}, want 0\n{}",
            collected.code, collected.text
        )
    })?;
    let rootdir = collected
        .rootdir
        .ok_or_else(|| format!("the probe saw no rootdir:\n{}", collected.text))?;
    let rel = relative_to_root(root, &rootdir, ".");
    check(rel == want_rootdir, || {
        format!("pytest's rootdir is {rel:?}, the trial expects {want_rootdir:?}")
    })?;
    Ok(collected
        .node_files
        .iter()
        .map(|f| relative_to_root(root, &rootdir, f))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect())
}

/// pytest, vigil and the trial's own expectation agree on the files.
fn same_files(root: &Path, case: &Case) -> TestResult {
    let expected = sorted(case.expected);
    check(!expected.is_empty(), || {
        "a trial must expect at least one file".into()
    })?;
    let cwd = root.join(case.cwd);
    let from_pytest = pytest_files(root, &cwd, case.args, case.rootdir).map_err(|e| {
        format!(
            "cwd {:?}, args {:?}: {}\ntree:\n{}",
            case.cwd,
            case.args,
            e.message().unwrap_or(""),
            tree(root)
        )
    })?;
    let from_vigil = vigil_files(root, &cwd, case.args)?;
    let report = || {
        format!(
            "cwd {:?}, args {:?}\n  expected: {expected:?}\n  pytest:   {from_pytest:?}\n  vigil:    {from_vigil:?}\ntree:\n{}",
            case.cwd,
            case.args,
            tree(root)
        )
    };
    check(from_pytest == expected, || {
        format!(
            "pytest disagrees with the trial's expectation\n{}",
            report()
        )
    })?;
    check(from_vigil == expected, || {
        format!("vigil differs from pytest\n{}", report())
    })
}

/// The temp dir's files, one per line, for failure messages.
fn tree(root: &Path) -> String {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .display()
                .to_string();
            match std::fs::symlink_metadata(&path) {
                Ok(m) if m.file_type().is_symlink() => {
                    let target = std::fs::read_link(&path)
                        .map(|t| t.display().to_string())
                        .unwrap_or_default();
                    out.push(format!("{rel} -> {target}"));
                }
                Ok(m) if m.is_dir() => walk(&path, root, out),
                _ => out.push(rel),
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out.iter().map(|l| format!("    {l}\n")).collect()
}

/// Runs vigil expecting a usage error (exit 4) with nothing listed; returns its output.
fn vigil_usage_error(cwd: &Path, args: &[&str]) -> Result<String, Failed> {
    let output: Output = support::vigil(cwd, args)?;
    let text = support::text(&output);
    check(output.status.code() == Some(4), || {
        format!(
            "vigil {args:?}: exit {:?}, want 4\n{text}",
            output.status.code()
        )
    })?;
    check(output.stdout.is_empty(), || {
        format!("vigil {args:?} printed to stdout despite the error:\n{text}")
    })?;
    Ok(text)
}

/// pytest on the same tree refuses it too (exit 4), its message naming `named`.
fn pytest_usage_error(cwd: &Path, args: &[&str], named: &str) -> TestResult {
    let collected = pytest_collect(cwd, args)?;
    check(
        collected.code == Some(4) && collected.text.contains(named),
        || {
            format!(
                "pytest {args:?}: exit {:?}, want 4 naming {named}\n{}",
                collected.code, collected.text
            )
        },
    )
}

// ---------------------------------------------------------------------------------------------
// -C

/// `vigil -C DIR` lists what vigil started in DIR lists, relative to DIR.
fn dash_c_directory() -> TestResult {
    let dir = TESTPATHS.build()?;
    let root = dir.path();
    let inside = support::vigil(&root.join("other"), &["list", "--files"])?;
    let via_c = support::vigil(root, &["-C", "other", "list", "--files"])?;
    let (inside, via_c) = (support::text(&inside), support::text(&via_c));
    check(inside == "deep/test_d.py\ntest_o.py\n", || {
        format!("vigil in other/ listed:\n{inside}")
    })?;
    check(via_c == inside, || {
        format!("-C other listed:\n{via_c}\nstarted in other/, vigil listed:\n{inside}")
    })?;
    // -C back to the rootdir uses testpaths, as starting there does.
    let at_root = support::text(&support::vigil(
        &root.join("other"),
        &["-C", "..", "list", "--files"],
    )?);
    check(at_root == "tests/test_a.py\n", || {
        format!("-C .. from other/ listed:\n{at_root}")
    })
}

// ---------------------------------------------------------------------------------------------
// .gitignore (vigil only: pytest does not read it)

const GITIGNORE: Tree = Tree {
    tests: &[
        "test_a.py",
        "test_ignored.py",
        "gen/test_g.py",
        "pkg/test_p.py",
        "pkg/test_local_ignored.py",
        "pkg/out/test_o.py",
        "pkg/test_keep_generated.py",
    ],
    files: &[
        (".gitignore", "test_ignored.py\ngen/\n*_generated.py\n"),
        ("pkg/.gitignore", "test_local_ignored.py\nout/\n"),
        ("pytest.ini", "[pytest]\n"),
    ],
    ..EMPTY
};

fn gitignore_respected() -> TestResult {
    let dir = GITIGNORE.build()?;
    let root = dir.path();
    let want = sorted(&["test_a.py", "pkg/test_p.py"]);
    let got = vigil_files(root, root, &[])?;
    check(got == want, || {
        format!(
            "vigil listed {got:?}, want {want:?} (gitignored files left out)\ntree:\n{}",
            tree(root)
        )
    })?;
    // pytest itself collects the ignored files: the trial really does leave tests out.
    let from_pytest = pytest_files(root, root, &[], "")?;
    check(from_pytest.len() == GITIGNORE.tests.len(), || {
        format!("pytest should collect every file, got {from_pytest:?}")
    })
}

/// A .gitignore above the invocation dir still applies (`*_generated.py` is only in the root's).
fn gitignore_parent() -> TestResult {
    let dir = GITIGNORE.build()?;
    let root = dir.path();
    let got = vigil_files(root, &root.join("pkg"), &[])?;
    let want = sorted(&["pkg/test_p.py"]);
    check(got == want, || {
        format!(
            "from pkg/: vigil listed {got:?}, want {want:?}\ntree:\n{}",
            tree(root)
        )
    })
}

fn gitignore_negation() -> TestResult {
    let tree_ = Tree {
        tests: &["test_a.py", "test_b.py", "pkg/test_c.py"],
        files: &[
            (".gitignore", "test_*.py\n!test_a.py\n"),
            ("pytest.ini", "[pytest]\n"),
        ],
        ..EMPTY
    };
    let dir = tree_.build()?;
    let root = dir.path();
    let got = vigil_files(root, root, &[])?;
    let want = sorted(&["test_a.py"]);
    check(got == want, || {
        format!("vigil listed {got:?}, want {want:?}\ntree:\n{}", tree(root))
    })
}

// ---------------------------------------------------------------------------------------------
// Errors

/// vigil refuses a broken config file naming `file:line`, and pytest refuses it too.
/// (pytest names the line its own way, e.g. "(at line 3, column 1)" for TOML.)
fn config_rejected(
    file: &'static str,
    content: &'static str,
    line: usize,
    pytest_names_line: bool,
) -> TestResult {
    let dir = Tree {
        tests: &["test_a.py"],
        ..EMPTY
    }
    .build()?;
    let root = dir.path();
    std::fs::write(root.join(file), content)?;
    let path = root.join(file).display().to_string();
    let at = format!("{path}:{line}");
    let text = vigil_usage_error(root, &["list", "--files"])?;
    check(text.contains(&at), || {
        format!("want the message to name {at}, got:\n{text}")
    })?;
    pytest_usage_error(root, &[], if pytest_names_line { &at } else { &path })
}

fn error_malformed_pytest_ini() -> TestResult {
    config_rejected(
        "pytest.ini",
        "# a comment\npython_files = check_*.py\n[pytest]\n",
        2,
        true,
    )
}

fn error_duplicate_key() -> TestResult {
    config_rejected(
        "pytest.ini",
        "[pytest]\ntestpaths = a\n\ntestpaths = b\n",
        4,
        true,
    )
}

/// A broken tox.ini is an error even without a [pytest] section: pytest parses it to look.
fn error_malformed_tox_ini() -> TestResult {
    config_rejected(
        "tox.ini",
        "[tox]\nenvlist = py3\nnot a key value line\n",
        3,
        true,
    )
}

fn error_malformed_pyproject_toml() -> TestResult {
    config_rejected(
        "pyproject.toml",
        "[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\n= 1\n",
        3,
        false,
    )
}

fn error_missing_path() -> TestResult {
    let dir = Tree {
        tests: &["tests/test_a.py"],
        files: &[("pytest.ini", "[pytest]\n")],
        ..EMPTY
    }
    .build()?;
    let root = dir.path();
    for (args, named) in [
        (&["nope"][..], "nope"),
        (
            &["tests", "tests/test_missing.py"][..],
            "tests/test_missing.py",
        ),
        (
            &["tests/test_missing.py::test_x"][..],
            "tests/test_missing.py",
        ),
    ] {
        let argv: Vec<&str> = ["list", "--files"].iter().chain(args).copied().collect();
        let text = vigil_usage_error(root, &argv)?;
        check(
            text.contains("file or directory not found") && text.contains(named),
            || {
                format!("vigil {argv:?}: want \"file or directory not found\" naming {named}, got:\n{text}")
            },
        )?;
    }
    pytest_usage_error(root, &["nope"], "file or directory not found: nope")
}

/// No test files: exit 5 and nothing listed, as pytest exits 5 when it collects nothing.
fn no_tests_exit_5() -> TestResult {
    let dir = Tree {
        tests: &["helpers.py", "pkg/util.py", "build/test_b.py"],
        files: &[("pytest.ini", "[pytest]\n")],
        ..EMPTY
    }
    .build()?;
    let root = dir.path();
    let output = support::vigil(root, &["list", "--files"])?;
    check(
        output.status.code() == Some(5) && output.stdout.is_empty(),
        || {
            format!(
                "vigil: exit {:?}, want 5 with nothing listed\n{}",
                output.status.code(),
                support::text(&output)
            )
        },
    )?;
    let collected = pytest_collect(root, &[])?;
    check(collected.code == Some(5), || {
        format!("pytest: exit {:?}\n{}", collected.code, collected.text)
    })
}

// ---------------------------------------------------------------------------------------------
// Former differences from pytest (fixed)

/// pytest only ever collects `.py` files as modules, whatever `python_files` says: with
/// `python_files = test_*`, `test_data.json` is no test file.
const NON_PY: Tree = Tree {
    tests: &["test_a.py", "pkg/test_b.py"],
    files: &[
        ("test_data.json", "{}\n"),
        ("pkg/test_notes.txt", "notes\n"),
        ("pytest.ini", "[pytest]\npython_files = test_*\n"),
    ],
    ..EMPTY
};

/// pytest expands testpaths with Python's `glob.iglob`, whose `*` skips names starting with
/// `.`: `testpaths = tests/*` leaves out `tests/.cache/`.
const HIDDEN_GLOB: Tree = Tree {
    tests: &[
        "tests/a/test_a.py",
        "tests/.cache/test_hidden.py",
        "tests/test_direct.py",
    ],
    files: &[("pytest.ini", "[pytest]\ntestpaths = tests/*\n")],
    ..EMPTY
};

/// pytest follows symlinks (`DirEntry.is_dir()` / `is_file()` follow them): a symlinked
/// directory is entered and a symlinked test file collected, under the link's own path.
const SYMLINKS: Tree = Tree {
    tests: &[
        "outside/test_o.py",
        "elsewhere/real_body.py",
        "proj/tests/test_a.py",
    ],
    files: &[("proj/pytest.ini", "[pytest]\n")],
    links: &[
        ("proj/tests/linked", "../../outside"),
        ("proj/tests/test_l.py", "../../elsewhere/real_body.py"),
    ],
};
const SYMLINKS_FOUND: &[&str] = &[
    "proj/tests/test_a.py",
    "proj/tests/linked/test_o.py",
    "proj/tests/test_l.py",
];

/// An empty `[tool.pytest]` table is no pytest configuration (pytest 9 wants keys in it, or
/// `[tool.pytest.ini_options]`), so the search goes on to the parent's pytest.ini.
const EMPTY_TOOL_PYTEST: Tree = Tree {
    tests: &["check_a.py", "child/check_c.py", "child/test_c.py"],
    files: &[
        ("pytest.ini", "[pytest]\npython_files = check_*.py\n"),
        ("child/pyproject.toml", "[tool.pytest]\n"),
    ],
    ..EMPTY
};

/// pytest splits "args" ini values with Python's `shlex.split`, which has no comments: in
/// `testpaths = tests # integration` the words are `tests`, `#`, `integration`, and pytest
/// collects `integration/` (a POSIX shell, and the `shlex` crate, would drop `# ...`).
const HASH: Tree = Tree {
    tests: &[
        "tests/test_a.py",
        "integration/test_i.py",
        "other/test_o.py",
    ],
    files: &[("pytest.ini", "[pytest]\ntestpaths = tests # integration\n")],
    ..EMPTY
};

/// pytest.toml with options outside a `[pytest]` table: pytest 9 refuses it (exit 4, "pytest
/// configuration must be under a [pytest] table"); vigil must refuse it too.
fn pytest_toml_top_level_options() -> TestResult {
    let dir = Tree {
        tests: &["test_a.py", "check_b.py"],
        files: &[("pytest.toml", "python_files = [\"check_*.py\"]\n")],
        ..EMPTY
    }
    .build()?;
    let root = dir.path();
    pytest_usage_error(root, &[], "pytest.toml")?;
    let text = vigil_usage_error(root, &["list", "--files"])?;
    check(text.contains("pytest.toml"), || {
        format!("want the message to name pytest.toml, got:\n{text}")
    })
}
