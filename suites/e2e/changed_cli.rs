//! `vigil run --changed [--since REV]` in a real git work tree (fixtures/affected): an edit to
//! one function runs only the test that calls it, a commit is compared with `--since`, a
//! clean tree runs nothing (exit 5), and misuse exits 4.

use std::fs;
use std::path::Path;

use libtest_mimic::Trial;

use crate::support::{self, check, exited, text, TestResult};

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test("changed::an_edit_runs_only_the_tests_it_affects", edit),
        Trial::test("changed::since_a_revision_and_misuse", since_and_misuse),
    ]
}

/// Replaces `old` with `new` in the project's `file`.
fn edit_file(dir: &Path, file: &str, old: &str, new: &str) -> TestResult {
    let path = dir.join(file);
    let source = fs::read_to_string(&path)?;
    check(source.contains(old), || format!("{old:?} not in {file}"))?;
    fs::write(&path, source.replacen(old, new, 1))?;
    Ok(())
}

fn edit() -> TestResult {
    let dir = support::fixture("affected")?;
    support::git_repo(dir.path())?;
    let clean = support::vigil(dir.path(), &["run", "--changed"])?;
    exited(&clean, 5)?;
    check(text(&clean).contains("no test is affected"), || {
        text(&clean)
    })?;
    edit_file(dir.path(), "app/calc.py", "a * b", "b * a")?;
    let out = support::vigil(dir.path(), &["run", "--changed", "-v"])?;
    exited(&out, 0)?;
    let shown = text(&out);
    check(
        shown.contains("test_mul") && !shown.contains("test_add") && !shown.contains("test_shout"),
        || format!("only test_mul runs:\n{shown}"),
    )?;
    check(shown.contains("1 passed"), || shown.clone())?;
    let listed = support::vigil(dir.path(), &["list", "--changed"])?;
    exited(&listed, 0)?;
    check(
        String::from_utf8_lossy(&listed.stdout).trim() == "tests/test_calc.py::test_mul",
        || text(&listed),
    )
}

fn since_and_misuse() -> TestResult {
    let dir = support::fixture("affected")?;
    let first = support::git_repo(dir.path())?;
    edit_file(dir.path(), "app/text.py", "s.upper()", "s.upper().strip()")?;
    support::git(dir.path(), &["commit", "-qam", "strip"])?;
    // Nothing changed since HEAD, but since the first commit text.py did.
    exited(&support::vigil(dir.path(), &["list", "--changed"])?, 5)?;
    let since = support::vigil(dir.path(), &["list", "--since", &first])?;
    exited(&since, 0)?;
    check(
        String::from_utf8_lossy(&since.stdout).trim() == "tests/test_text.py::test_shout",
        || text(&since),
    )?;
    let paths = support::vigil(dir.path(), &["run", "--changed", "tests"])?;
    exited(&paths, 4)?;
    let unknown = support::vigil(dir.path(), &["run", "--since", "no-such-rev"])?;
    exited(&unknown, 4)?;
    check(text(&unknown).contains("no-such-rev"), || text(&unknown))?;
    let outside = tempfile::tempdir()?;
    fs::write(
        outside.path().join("test_x.py"),
        "def test_x():\n    pass\n",
    )?;
    let not_git = support::vigil(outside.path(), &["run", "--changed"])?;
    exited(&not_git, 4)?;
    check(text(&not_git).contains("git work tree"), || text(&not_git))
}
