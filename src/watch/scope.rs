//! What a run is asked to cover before selection turns it into paths: every test, the failing
//! ones, the tests some changed files affect — or a union of these, since changes that arrive
//! while a run is cancelled join what that run was covering.

use std::collections::BTreeSet;
use std::path::PathBuf;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    pub all: bool,
    pub failed: bool,
    /// Changed files (absolute).
    pub changes: BTreeSet<PathBuf>,
    /// The first run of the session.
    pub initial: bool,
    /// Enter: the changes are selected for again as if their whole files changed (what the
    /// selector remembers of them is already their current text).
    pub rerun: bool,
}

impl Scope {
    pub fn all() -> Scope {
        Scope {
            all: true,
            ..Scope::default()
        }
    }

    pub fn initial() -> Scope {
        Scope {
            initial: true,
            ..Scope::all()
        }
    }

    pub fn failed() -> Scope {
        Scope {
            failed: true,
            ..Scope::default()
        }
    }

    pub fn changes(paths: impl IntoIterator<Item = PathBuf>) -> Scope {
        Scope {
            changes: paths.into_iter().collect(),
            ..Scope::default()
        }
    }

    /// The union: whatever either covers.
    pub fn merge(&mut self, other: Scope) {
        self.all |= other.all;
        self.failed |= other.failed;
        self.initial |= other.initial;
        self.rerun |= other.rerun;
        self.changes.extend(other.changes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_keeps_everything_either_covers() {
        let mut scope = Scope::changes([PathBuf::from("/p/a.py")]);
        scope.merge(Scope::changes([
            PathBuf::from("/p/b.py"),
            PathBuf::from("/p/a.py"),
        ]));
        assert_eq!(scope.changes.len(), 2);
        assert!(!scope.all && !scope.failed);
        scope.merge(Scope::failed());
        assert!(scope.failed && !scope.all);
        scope.merge(Scope::all());
        assert!(scope.all && scope.changes.len() == 2);
    }
}
