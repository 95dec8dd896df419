//! `.gitignore` for watched paths: the root's (with `.git/info/exclude`) and nested ones, each
//! read the first time a path below it is checked and forgotten when it changes. As in
//! discovery, they apply with or without a git repository.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::Match;

pub struct Gitignores {
    root: PathBuf,
    /// Directory → its matcher; `None` when it has no `.gitignore` (remembered, so a miss costs
    /// one `stat` once, not on every event).
    by_dir: HashMap<PathBuf, Option<Gitignore>>,
}

impl Gitignores {
    pub fn new(root: &Path) -> Gitignores {
        Gitignores {
            root: root.to_path_buf(),
            by_dir: HashMap::new(),
        }
    }

    /// Whether git would ignore `path` (absolute, under the root): the deepest `.gitignore`
    /// with a verdict on it or a parent directory decides, so a nested `!keep.py` re-includes.
    pub fn ignored(&mut self, path: &Path, is_dir: bool) -> bool {
        let Some(parent) = path.parent() else {
            return false;
        };
        let dirs: Vec<PathBuf> = parent
            .ancestors()
            .take_while(|d| d.starts_with(&self.root))
            .map(Path::to_path_buf)
            .collect();
        for dir in dirs {
            let Some(matcher) = self.matcher(&dir) else {
                continue;
            };
            match matcher.matched_path_or_any_parents(path, is_dir) {
                Match::Ignore(_) => return true,
                Match::Whitelist(_) => return false,
                Match::None => {}
            }
        }
        false
    }

    /// A `.gitignore` (or the exclude file) changed: read it again next time.
    pub fn forget(&mut self, changed: &Path) {
        let name = changed.file_name().and_then(|n| n.to_str());
        if name == Some(".gitignore") {
            if let Some(dir) = changed.parent() {
                self.by_dir.remove(dir);
            }
        } else if name == Some("exclude") {
            self.by_dir.remove(&self.root);
        }
    }

    fn matcher(&mut self, dir: &Path) -> Option<&Gitignore> {
        if !self.by_dir.contains_key(dir) {
            let built = self.build(dir);
            self.by_dir.insert(dir.to_path_buf(), built);
        }
        self.by_dir.get(dir).and_then(Option::as_ref)
    }

    fn build(&self, dir: &Path) -> Option<Gitignore> {
        let mut files = vec![dir.join(".gitignore")];
        if dir == self.root {
            files.push(dir.join(".git").join("info").join("exclude"));
        }
        let files: Vec<PathBuf> = files.into_iter().filter(|f| f.is_file()).collect();
        if files.is_empty() {
            return None;
        }
        let mut builder = GitignoreBuilder::new(dir);
        for file in &files {
            // A bad line is skipped by the builder, as git skips it; the rest still apply.
            let _ = builder.add(file);
        }
        builder.build().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_nested_gitignores_with_the_deepest_deciding() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("pkg/gen")).unwrap();
        std::fs::write(root.join(".gitignore"), "*.log\nbuild/\ngenerated_*.py\n").unwrap();
        std::fs::write(root.join("pkg/.gitignore"), "!generated_keep.py\ngen/\n").unwrap();
        let mut g = Gitignores::new(root);
        assert!(g.ignored(&root.join("run.log"), false));
        assert!(g.ignored(&root.join("build/lib/x.py"), false));
        assert!(!g.ignored(&root.join("app.py"), false));
        assert!(g.ignored(&root.join("generated_a.py"), false));
        assert!(g.ignored(&root.join("pkg/generated_a.py"), false));
        assert!(!g.ignored(&root.join("pkg/generated_keep.py"), false));
        assert!(g.ignored(&root.join("pkg/gen/out.py"), false));
        assert!(!g.ignored(&root.join("pkg/mod.py"), false));
    }

    #[test]
    fn a_changed_gitignore_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mut g = Gitignores::new(root);
        assert!(!g.ignored(&root.join("notes.txt"), false));
        std::fs::write(root.join(".gitignore"), "notes.txt\n").unwrap();
        assert!(
            !g.ignored(&root.join("notes.txt"), false),
            "still the cached verdict"
        );
        g.forget(&root.join(".gitignore"));
        assert!(g.ignored(&root.join("notes.txt"), false));
    }
}
