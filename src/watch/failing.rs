//! The tests failing now, as the runs of this watch session left them: a test joins when it
//! fails and leaves when it passes (or is skipped); a complete, unfiltered run of everything
//! also drops the tests it no longer has.

use std::collections::BTreeSet;
use std::path::Path;

use crate::events::Outcome;

#[derive(Debug, Default, Clone)]
pub struct FailingSet {
    /// Test ids as runs report them: pytest node ids relative to the rootdir, `native:` ids.
    ids: BTreeSet<String>,
}

impl FailingSet {
    /// One test's latest outcome.
    pub fn record(&mut self, id: &str, outcome: Outcome) {
        if outcome.is_failure() {
            self.ids.insert(id.to_string());
        } else {
            self.ids.remove(id);
        }
    }

    /// After a complete run of every test: failing tests it did not report no longer exist.
    pub fn keep_only<'a>(&mut self, reported: impl IntoIterator<Item = &'a str>) {
        let reported: BTreeSet<&str> = reported.into_iter().collect();
        self.ids.retain(|id| reported.contains(id.as_str()));
    }

    pub fn ids(&self) -> impl Iterator<Item = &String> {
        self.ids.iter()
    }

    /// The ids as run paths: Python node ids with their file made absolute (runs may start
    /// elsewhere than the rootdir), `native:` ids as they are.
    pub fn as_paths(&self, rootdir: &Path) -> Vec<String> {
        self.ids.iter().map(|id| absolute_id(rootdir, id)).collect()
    }
}

/// `tests/test_x.py::test_a` → `/root/tests/test_x.py::test_a`.
pub fn absolute_id(rootdir: &Path, id: &str) -> String {
    if id.starts_with(super::NATIVE_PREFIX) {
        return id.to_string();
    }
    let (file, rest) = match id.find("::") {
        Some(at) => id.split_at(at),
        None => (id, ""),
    };
    format!("{}{rest}", rootdir.join(file).display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_join_and_passes_leave() {
        let mut set = FailingSet::default();
        set.record("t.py::a", Outcome::Failed);
        set.record("t.py::b", Outcome::Crashed);
        set.record("t.py::c", Outcome::Passed);
        set.record("t.py::a", Outcome::Passed);
        assert_eq!(set.ids().collect::<Vec<_>>(), ["t.py::b"]);
        set.record("t.py::d", Outcome::Error);
        set.keep_only(["t.py::d", "t.py::e"]);
        assert_eq!(set.ids().collect::<Vec<_>>(), ["t.py::d"]);
    }

    #[test]
    fn ids_become_absolute_paths() {
        let root = Path::new("/p");
        assert_eq!(
            absolute_id(root, "tests/t.py::T::a[x::y]"),
            "/p/tests/t.py::T::a[x::y]"
        );
        assert_eq!(absolute_id(root, "tests/t.py"), "/p/tests/t.py");
        assert_eq!(absolute_id(root, "native:c::b::t"), "native:c::b::t");
    }
}
