//! Changed files that are not Python modules: configuration (everything runs), `[watch] map`
//! globs, Rust sources (the native tests), or else the tests of the nearest test tree.

use std::path::{Path, PathBuf};

use super::{Selection, Settings};

/// Files whose change can alter how every test is collected or run.
const PROJECT_WIDE: [&str; 8] = [
    "pytest.ini",
    "pyproject.toml",
    "setup.cfg",
    "tox.ini",
    "vigil.toml",
    "setup.py",
    "requirements.txt",
    ".python-version",
];

/// Adds to `selection` what a change to the non-Python file `path` selects.
pub fn select(settings: &Settings, path: &Path, tests: &[PathBuf], selection: &mut Selection) {
    let root = &settings.root;
    let Ok(relative) = path.strip_prefix(root) else {
        return;
    };
    let shown = relative.display();
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if PROJECT_WIDE.contains(&name) {
        selection.everything = true;
        selection
            .reasons
            .push(format!("{shown}: project configuration changed"));
        return;
    }
    if mapped(settings, relative, selection) {
        return;
    }
    if name.ends_with(".rs") || name == "Cargo.toml" || name == "Cargo.lock" {
        push(&mut selection.native, "native:".to_string());
        selection
            .reasons
            .push(format!("{shown}: Rust source: the native tests"));
        return;
    }
    nearest_test_tree(root, path, tests, selection);
}

/// `[watch] map` globs; true when one matched.
fn mapped(settings: &Settings, relative: &Path, selection: &mut Selection) -> bool {
    let mut matched = false;
    for (pattern, targets) in &settings.map {
        let Ok(glob) = globset::Glob::new(pattern) else {
            continue;
        };
        if !glob.compile_matcher().is_match(relative) {
            continue;
        }
        matched = true;
        for target in targets {
            let absolute = settings.root.join(target);
            if absolute.exists() {
                push(
                    &mut selection.python,
                    absolute.to_string_lossy().into_owned(),
                );
            }
            selection.reasons.push(format!(
                "{}: [watch] map {pattern:?} → {target}",
                relative.display()
            ));
        }
    }
    matched
}

/// The tests under the closest directory above `path` that holds any; everything when that is
/// the project root.
fn nearest_test_tree(root: &Path, path: &Path, tests: &[PathBuf], selection: &mut Selection) {
    let shown = path.strip_prefix(root).unwrap_or(path).display();
    for dir in path.ancestors().skip(1) {
        if !dir.starts_with(root) {
            break;
        }
        if !tests.iter().any(|t| t.starts_with(dir)) {
            continue;
        }
        if dir == root {
            selection.everything = true;
            selection.reasons.push(format!(
                "{shown}: no test tree closer than the project root"
            ));
        } else {
            push(&mut selection.python, dir.to_string_lossy().into_owned());
            let tree = dir.strip_prefix(root).unwrap_or(dir).display();
            selection
                .reasons
                .push(format!("{shown}: the tests under {tree}"));
        }
        return;
    }
}

fn push(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}
