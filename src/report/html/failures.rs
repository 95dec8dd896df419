//! The run's failing tests grouped by the bug they hit: by diagnosis fingerprint where one was
//! recorded, otherwise by the exact first line of the message (until diagnosis fills in
//! fingerprints, the message is the best stand-in for "the same bug").

use std::collections::BTreeMap;

use crate::history::RunResult;

/// What a group's tests share.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum GroupKey {
    Fingerprint(String),
    /// The first line of the message; empty when the failure had no message.
    FirstLine(String),
}

pub struct Group<'a> {
    pub key: GroupKey,
    pub results: Vec<&'a RunResult>,
}

/// Failing results grouped, largest group first (ties by key, so the page is stable).
pub fn group_failures(results: &[RunResult]) -> Vec<Group<'_>> {
    let mut groups: BTreeMap<GroupKey, Vec<&RunResult>> = BTreeMap::new();
    for result in results.iter().filter(|r| r.outcome.is_failure()) {
        groups.entry(key(result)).or_default().push(result);
    }
    let mut groups: Vec<Group> = groups
        .into_iter()
        .map(|(key, results)| Group { key, results })
        .collect();
    // Stable sort: equal sizes keep the key order of the map.
    groups.sort_by_key(|g| std::cmp::Reverse(g.results.len()));
    groups
}

fn key(result: &RunResult) -> GroupKey {
    match &result.fingerprint {
        Some(fingerprint) => GroupKey::Fingerprint(fingerprint.clone()),
        None => GroupKey::FirstLine(first_line(result.message.as_deref()).to_string()),
    }
}

pub fn first_line(message: Option<&str>) -> &str {
    message.and_then(|m| m.lines().next()).unwrap_or("")
}

/// Whether any group stands in for a fingerprint by its message.
pub fn any_by_message(groups: &[Group]) -> bool {
    groups
        .iter()
        .any(|g| matches!(g.key, GroupKey::FirstLine(_)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Outcome;

    fn failed(test: &str, message: &str, fingerprint: Option<&str>) -> RunResult {
        RunResult {
            test: test.into(),
            tier: None,
            outcome: Outcome::Failed,
            duration_us: 0,
            attempts: 1,
            message: Some(message.into()),
            fingerprint: fingerprint.map(String::from),
        }
    }

    #[test]
    fn groups_by_fingerprint_else_by_first_line() {
        let mut passed = failed("p", "x", None);
        passed.outcome = Outcome::Passed;
        let results = vec![
            failed("a", "assert 1 == 2\nmore", None),
            failed("b", "assert 1 == 2\nother detail", None),
            failed("c", "assert 1 == 2", Some("fp1")),
            failed("d", "boom", Some("fp1")),
            failed("e", "assert 1 == 3", None),
            passed,
        ];
        let groups = group_failures(&results);
        let shape: Vec<(GroupKey, Vec<&str>)> = groups
            .iter()
            .map(|g| {
                (
                    g.key.clone(),
                    g.results.iter().map(|r| r.test.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            [
                (GroupKey::Fingerprint("fp1".into()), vec!["c", "d"]),
                (GroupKey::FirstLine("assert 1 == 2".into()), vec!["a", "b"]),
                (GroupKey::FirstLine("assert 1 == 3".into()), vec!["e"]),
            ]
        );
        assert!(any_by_message(&groups));
    }
}
