//! The project's Python files, the module names each can be imported as, and which files an
//! import statement runs.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::facts::Import;

/// Directories never read for project modules (besides virtualenvs, found by their marker).
const SKIPPED_DIRS: [&str; 8] = [
    ".git",
    ".vigil",
    "__pycache__",
    ".tox",
    ".nox",
    "node_modules",
    ".mypy_cache",
    ".pytest_cache",
];

/// The project's `.py` files under `root`, sorted; `.gitignore`d files are left out.
pub fn python_files(root: &Path) -> Vec<PathBuf> {
    let walker = crate::discover::project_walker(root)
        .filter_entry(|entry| {
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            let name = entry.file_name().to_str().unwrap_or("");
            entry.depth() == 0
                || !is_dir
                || !(SKIPPED_DIRS.contains(&name) || crate::discover::is_virtualenv(entry.path()))
        })
        .build();
    let mut files: Vec<PathBuf> = walker
        .flatten()
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .collect();
    files.sort();
    files
}

/// Module name → files, for resolving imports.
pub struct ModuleIndex {
    by_name: HashMap<String, Vec<usize>>,
    by_path: HashMap<PathBuf, usize>,
}

impl ModuleIndex {
    /// Indexes `files` (absolute, under `root`); the index of a file is its position.
    pub fn new(root: &Path, files: &[PathBuf]) -> ModuleIndex {
        let packages: HashSet<&Path> = files
            .iter()
            .filter(|f| f.file_name().is_some_and(|n| n == "__init__.py"))
            .filter_map(|f| f.parent())
            .collect();
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, file) in files.iter().enumerate() {
            for name in module_names(root, file, &packages) {
                by_name.entry(name).or_default().push(index);
            }
        }
        let by_path = files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.clone(), i))
            .collect();
        ModuleIndex { by_name, by_path }
    }

    pub fn position(&self, file: &Path) -> Option<usize> {
        self.by_path.get(file).copied()
    }

    /// The project files running `import` in `importer` executes: the module, each package
    /// `__init__` on the way to it, and submodules named in a `from` import. Modules outside
    /// the project (the standard library, installed packages) resolve to nothing.
    pub fn resolve(&self, importer: &Path, import: &Import) -> Vec<usize> {
        let mut found = Vec::new();
        if import.level > 0 {
            self.resolve_relative(importer, import, &mut found);
        } else {
            let parts: Vec<&str> = import.module.split('.').collect();
            for end in 1..=parts.len() {
                self.lookup(&parts[..end].join("."), &mut found);
            }
            for name in &import.names {
                self.lookup(&format!("{}.{name}", import.module), &mut found);
            }
        }
        found.sort_unstable();
        found.dedup();
        found
    }

    /// `from ..pkg import x` is resolved by path: the importer's package, `level - 1` up.
    fn resolve_relative(&self, importer: &Path, import: &Import, found: &mut Vec<usize>) {
        let mut base = importer.parent().map(Path::to_path_buf).unwrap_or_default();
        for _ in 1..import.level {
            base = base.parent().map(Path::to_path_buf).unwrap_or_default();
        }
        let mut dir = base.clone();
        for part in import.module.split('.').filter(|p| !p.is_empty()) {
            dir.push(part);
            self.lookup_path(&dir, found);
        }
        for name in &import.names {
            self.lookup_path(&dir.join(name), found);
        }
    }

    /// `dir/x` as a module: `dir/x.py` or the package `dir/x/__init__.py`.
    fn lookup_path(&self, stem: &Path, found: &mut Vec<usize>) {
        let module = stem.with_extension("py");
        let package = stem.join("__init__.py");
        found.extend([module, package].iter().filter_map(|p| self.position(p)));
    }

    fn lookup(&self, name: &str, found: &mut Vec<usize>) {
        if let Some(files) = self.by_name.get(name) {
            found.extend(files);
        }
    }
}

/// The dotted names `file` can be imported as: relative to each ancestor directory (up to
/// `root`) that is not itself a regular package, since only such a directory can be on
/// `sys.path` with the file's package chain below it (pytest's rootdir-relative and
/// `sys.path`-inserting import modes, `src/` layouts, namespace packages).
fn module_names(root: &Path, file: &Path, packages: &HashSet<&Path>) -> Vec<String> {
    let Ok(relative) = file.strip_prefix(root) else {
        return vec![];
    };
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let Some(last) = parts.pop() else {
        return vec![];
    };
    if last != "__init__.py" {
        parts.push(last.trim_end_matches(".py").to_string());
    }
    let mut names = Vec::new();
    // parts[start..] is the name when the directory holding parts[start] is a sys.path entry.
    for start in 0..parts.len() {
        let holder = root.join(parts[..start].iter().collect::<PathBuf>());
        if start == 0 || !packages.contains(holder.as_path()) {
            names.push(parts[start..].join("."));
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import(level: u32, module: &str, names: &[&str]) -> Import {
        Import {
            level,
            module: module.into(),
            names: names.iter().map(|n| n.to_string()).collect(),
        }
    }

    #[test]
    fn imports_resolve_through_packages_and_src_layouts() {
        let root = Path::new("/p");
        let files: Vec<PathBuf> = [
            "src/pkg/__init__.py",
            "src/pkg/lexer.py",
            "src/pkg/sub/__init__.py",
            "src/pkg/sub/deep.py",
            "tests/helpers.py",
            "tests/test_a.py",
        ]
        .iter()
        .map(|f| root.join(f))
        .collect();
        let index = ModuleIndex::new(root, &files);
        let names = |is: Vec<usize>| -> Vec<String> {
            is.into_iter()
                .map(|i| files[i].strip_prefix(root).unwrap().display().to_string())
                .collect()
        };
        let test = root.join("tests/test_a.py");
        assert_eq!(
            names(index.resolve(&test, &import(0, "pkg.sub", &["deep", "thing"]))),
            [
                "src/pkg/__init__.py",
                "src/pkg/sub/__init__.py",
                "src/pkg/sub/deep.py"
            ]
        );
        // `lexer` alone is not importable: its directory is a package.
        assert!(index.resolve(&test, &import(0, "lexer", &[])).is_empty());
        assert_eq!(
            names(index.resolve(&test, &import(0, "helpers", &[]))),
            ["tests/helpers.py"]
        );
        assert!(index.resolve(&test, &import(0, "os.path", &[])).is_empty());
        let deep = root.join("src/pkg/sub/deep.py");
        assert_eq!(
            names(index.resolve(&deep, &import(2, "", &["lexer"]))),
            ["src/pkg/lexer.py"]
        );
        assert_eq!(
            names(index.resolve(&deep, &import(1, "", &["deep"]))),
            ["src/pkg/sub/deep.py"]
        );
    }
}
