//! `vigil verify` against real pytest on fixtures/verify (calc.add subtracts): a patch that
//! also breaks `sub` is rolled back and leaves the tree byte-identical; the right patch is
//! kept; a fingerprint that used up its attempts is refused; an uncommitted fix in a git work
//! tree is verified in place, and rolled back to HEAD with the change kept in `git stash`.

use std::collections::BTreeMap;
use std::path::Path;

use libtest_mimic::{Failed, Trial};
use serde_json::Value;

use crate::support::{self, check, exited, TestResult};

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test(
            "verify::keeps_a_good_patch_and_rolls_back_a_bad_one",
            keep_and_roll_back,
        ),
        Trial::test("verify::refuses_after_three_attempts_an_hour", loop_guard),
        Trial::test(
            "verify::working_tree_rollback_stashes_the_change_and_restores_head",
            working_tree,
        ),
    ]
}

/// Every file under `dir` but vigil's own store and git's, with its bytes.
fn tree(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>, Failed> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at)? {
            let path = entry?.path();
            let rel = path.strip_prefix(dir)?.to_string_lossy().into_owned();
            if rel == ".vigil" || rel == ".git" || rel.contains("__pycache__") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(rel, std::fs::read(&path)?);
            }
        }
    }
    Ok(files)
}

fn verify(dir: &Path, patch: &str, code: i32) -> Result<Value, Failed> {
    let out = support::vigil(dir, &["verify", "--patch", patch])?;
    exited(&out, code)?;
    Ok(serde_json::from_slice(&out.stdout)?)
}

fn keep_and_roll_back() -> TestResult {
    let dir = support::fixture("verify")?;
    exited(&support::vigil(dir.path(), &["run"])?, 1)?;
    let before = tree(dir.path())?;
    let bad = verify(dir.path(), "fixes/bad.patch", 1)?;
    check(
        bad["verdict"] == "rolled_back" && bad["restored"] == true,
        || format!("the bad patch is rolled back: {bad:#}"),
    )?;
    // It changes add and sub: the failing test, and the test of sub it affects.
    let both = serde_json::json!([
        "tests/test_calc.py::test_add",
        "tests/test_calc.py::test_sub"
    ]);
    check(bad["selection"] == both, || {
        format!("the bad patch selects both tests: {bad:#}")
    })?;
    check(tree(dir.path())? == before, || {
        "the tree is byte-identical after the rollback".to_string()
    })?;
    let good = verify(dir.path(), "fixes/good.patch", 0)?;
    let passed = good["results"]
        .as_array()
        .map_or(0, |r| r.iter().filter(|t| t["outcome"] == "passed").count());
    // It changes add only: test_sub cannot be affected, and does not run.
    check(good["verdict"] == "kept" && passed == 1, || {
        format!("the good patch is kept: {good:#}")
    })?;
    check(
        good["selection"] == serde_json::json!(["tests/test_calc.py::test_add"]),
        || format!("the good patch selects the failing test only: {good:#}"),
    )?;
    check(tree(dir.path())? != before, || {
        "the kept fix stays in the tree".to_string()
    })?;
    exited(&support::vigil(dir.path(), &["run"])?, 0)
}

fn loop_guard() -> TestResult {
    let dir = support::fixture("verify")?;
    exited(&support::vigil(dir.path(), &["run"])?, 1)?;
    for _ in 0..3 {
        let verdict = verify(dir.path(), "fixes/bad.patch", 1)?;
        check(verdict["verdict"] == "rolled_back", || {
            format!("{verdict:#}")
        })?;
    }
    let fourth = verify(dir.path(), "fixes/bad.patch", 1)?;
    check(
        fourth["verdict"] == "refused"
            && fourth["reason"]
                .as_str()
                .is_some_and(|r| r.contains("3 fix attempts")),
        || format!("the fourth attempt within the hour is refused: {fourth:#}"),
    )
}

fn working_tree() -> TestResult {
    let dir = support::fixture("verify")?;
    support::git_repo(dir.path())?;
    exited(&support::vigil(dir.path(), &["run"])?, 1)?;
    let head = tree(dir.path())?;
    support::git(dir.path(), &["apply", "fixes/bad.patch"])?;
    std::fs::write(dir.path().join("extra.py"), "# added by the fix\n")?;
    let out = support::vigil(dir.path(), &["verify", "--working-tree"])?;
    exited(&out, 1)?;
    let verdict: Value = serde_json::from_slice(&out.stdout)?;
    check(
        verdict["verdict"] == "rolled_back" && verdict["restored"] == true,
        || format!("{verdict:#}"),
    )?;
    check(tree(dir.path())? == head, || {
        "the work tree is back at HEAD, the added file gone".to_string()
    })?;
    let stashed = support::git(dir.path(), &["stash", "list"])?;
    check(stashed.contains("vigil verify: rolled back"), || {
        format!("the change is kept in the stash: {stashed}")
    })?;
    support::git(dir.path(), &["apply", "fixes/good.patch"])?;
    let kept = support::vigil(dir.path(), &["verify", "--working-tree"])?;
    exited(&kept, 0)
}
