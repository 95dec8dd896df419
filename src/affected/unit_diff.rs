//! Which units of a module changed between two readings of it. Definitions are matched by
//! name, top-level statements by their text (they have no name, and lines move).

use std::collections::HashMap;

use super::facts::{ModuleFacts, UnitKind};

#[derive(Debug, Default, PartialEq)]
pub struct UnitDiff {
    /// Units of the new reading that are new or changed.
    pub changed: Vec<usize>,
    /// Names the old reading bound that are gone or were rebound by a changed statement.
    pub removed: Vec<String>,
    /// Code that runs on import changed (a statement, an import, or the module is unreadable).
    pub import_time: bool,
}

pub fn diff(before: &ModuleFacts, after: &ModuleFacts) -> UnitDiff {
    if before.opaque || after.opaque {
        return whole(before, after);
    }
    let mut result = UnitDiff::default();
    let mut old_defs: HashMap<(String, usize), u64> = HashMap::new();
    let mut old_statements: HashMap<u64, usize> = HashMap::new();
    for (key, unit) in keyed(before) {
        match key {
            Some(key) => {
                old_defs.insert(key, unit.hash);
            }
            None => *old_statements.entry(unit.hash).or_default() += 1,
        }
    }
    for (index, (key, unit)) in keyed(after).into_iter().enumerate() {
        let same = match key {
            Some(key) => old_defs.remove(&key) == Some(unit.hash),
            None => take(&mut old_statements, unit.hash),
        };
        if !same {
            result.changed.push(index);
            result.import_time |= key_is_statement(unit.kind);
        }
    }
    // What is left of the old reading was removed (or, for statements, rewritten).
    for (key, unit) in keyed(before) {
        let gone = match key {
            Some(key) => old_defs.contains_key(&key),
            None => take(&mut old_statements, unit.hash),
        };
        if gone {
            result.removed.extend(unit.binds.iter().cloned());
            result.import_time |= key_is_statement(unit.kind);
        }
    }
    result
}

/// Everything counts as changed.
pub fn whole(before: &ModuleFacts, after: &ModuleFacts) -> UnitDiff {
    UnitDiff {
        changed: (0..after.units.len()).collect(),
        removed: before
            .units
            .iter()
            .flat_map(|u| u.binds.iter().cloned())
            .collect(),
        import_time: true,
    }
}

fn key_is_statement(kind: UnitKind) -> bool {
    matches!(kind, UnitKind::Statement | UnitKind::Import)
}

/// Each unit with its key: (name, how many of that name came before) for definitions, `None`
/// for statements.
fn keyed(facts: &ModuleFacts) -> Vec<(Option<(String, usize)>, &super::facts::Unit)> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    facts
        .units
        .iter()
        .map(|unit| {
            if key_is_statement(unit.kind) {
                return (None, unit);
            }
            let count = seen.entry(unit.name.as_str()).or_default();
            *count += 1;
            (Some((unit.name.clone(), *count)), unit)
        })
        .collect()
}

/// Takes one statement of this hash out of the multiset; false when there was none.
fn take(statements: &mut HashMap<u64, usize>, hash: u64) -> bool {
    match statements.get_mut(&hash) {
        Some(count) if *count > 0 => {
            *count -= 1;
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::facts::read;
    use super::*;

    fn names(after: &ModuleFacts, d: &UnitDiff) -> Vec<String> {
        d.changed
            .iter()
            .map(|&i| after.units[i].name.clone())
            .collect()
    }

    #[test]
    fn a_body_edit_changes_one_function_and_moves_no_statement() {
        let before =
            read("import os\n\ndef f():\n    return 1\n\ndef g():\n    return 2\n\nX = 1\n");
        let after = read(
            "import os\n\ndef f():\n    y = 3\n    return y\n\ndef g():\n    return 2\n\nX = 1\n",
        );
        let d = diff(&before, &after);
        assert_eq!(names(&after, &d), ["f"]);
        assert!(!d.import_time && d.removed.is_empty());
    }

    #[test]
    fn removed_definitions_and_changed_statements() {
        let before = read("X = 1\ndef f():\n    pass\nclass C:\n    def m(self):\n        pass\n");
        let after = read("X = 2\nclass C:\n    pass\n");
        let d = diff(&before, &after);
        assert_eq!(names(&after, &d), ["<line 1>", "C"]);
        assert!(d.import_time);
        let mut removed = d.removed.clone();
        removed.sort();
        assert_eq!(removed, ["X", "f", "m"]);
    }
}
