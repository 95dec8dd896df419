//! Scoring diagnosis against a labeled corpus (`[[case]]` entries with the expected category,
//! nature and group of each failing test): category and nature accuracy, and pairwise
//! grouping precision and recall of the fingerprints. vigil's own corpus is
//! `fixtures/failures/labels.toml`; a project can label its own failures to check its rules.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::category::{Category, Nature};

/// One labeled failure.
#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    pub test: String,
    pub category: Category,
    pub nature: Nature,
    /// Cases with the same group are the same bug.
    pub group: String,
}

#[derive(Debug, Deserialize)]
struct LabelFile {
    case: Vec<Case>,
}

#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error("cannot read {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: String,
        line: usize,
        message: String,
    },
}

/// Reads a labels file; a bad entry names its line.
pub fn read_labels(path: &Path) -> Result<Vec<Case>, LabelError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| LabelError::Read {
        path: shown.clone(),
        error,
    })?;
    let file: LabelFile = toml::from_str(&text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        LabelError::Invalid {
            path: shown,
            line: text[..offset.min(text.len())].matches('\n').count() + 1,
            message: e.message().to_string(),
        }
    })?;
    Ok(file.case)
}

/// What diagnosis said about one failing test.
#[derive(Debug, Clone)]
pub struct Observed {
    pub category: Category,
    pub nature: Nature,
    pub fingerprint: String,
}

/// A case diagnosis got wrong (or did not see fail).
#[derive(Debug, Clone, Serialize)]
pub struct Miss {
    pub test: String,
    pub expected: String,
    pub got: String,
}

/// The figures.
#[derive(Debug, Clone, Serialize)]
pub struct Score {
    pub cases: usize,
    /// Labeled cases that failed and were diagnosed.
    pub found: usize,
    pub category_accuracy: f64,
    pub nature_accuracy: f64,
    pub group_precision: f64,
    pub group_recall: f64,
    /// Distinct labeled groups and distinct fingerprints over the found cases.
    pub groups: usize,
    pub fingerprints: usize,
    pub misses: Vec<Miss>,
    /// Failures diagnosed that no case labels.
    pub unlabeled: Vec<String>,
    /// Labeled groups whose tests got several fingerprints (what recall loses).
    pub split: Vec<String>,
    /// Fingerprints shared by tests of several labeled groups (what precision loses).
    pub merged: Vec<String>,
}

impl Score {
    /// The lowest of the four figures.
    pub fn worst(&self) -> f64 {
        [
            self.category_accuracy,
            self.nature_accuracy,
            self.group_precision,
            self.group_recall,
        ]
        .into_iter()
        .fold(1.0, f64::min)
    }
}

/// Scores `observed` (test id → diagnosis) against `cases`. A case that did not fail counts
/// as wrong in both accuracies and takes no part in grouping.
pub fn score(cases: &[Case], observed: &BTreeMap<String, Observed>) -> Score {
    let mut misses = Vec::new();
    let (mut category_ok, mut nature_ok) = (0, 0);
    let mut found: Vec<(&Case, &Observed)> = Vec::new();
    for case in cases {
        let Some(seen) = observed.get(&case.test) else {
            misses.push(Miss {
                test: case.test.clone(),
                expected: describe(case.category, case.nature),
                got: "no diagnosed failure".to_string(),
            });
            continue;
        };
        found.push((case, seen));
        category_ok += usize::from(seen.category == case.category);
        nature_ok += usize::from(seen.nature == case.nature);
        if seen.category != case.category || seen.nature != case.nature {
            misses.push(Miss {
                test: case.test.clone(),
                expected: describe(case.category, case.nature),
                got: describe(seen.category, seen.nature),
            });
        }
    }
    let (group_precision, group_recall) = pairwise(&found);
    let (split, merged) = disagreements(&found);
    let labeled: std::collections::BTreeSet<&str> = cases.iter().map(|c| c.test.as_str()).collect();
    Score {
        cases: cases.len(),
        found: found.len(),
        category_accuracy: ratio(category_ok, cases.len()),
        nature_accuracy: ratio(nature_ok, cases.len()),
        group_precision,
        group_recall,
        groups: distinct(found.iter().map(|(c, _)| c.group.as_str())),
        fingerprints: distinct(found.iter().map(|(_, o)| o.fingerprint.as_str())),
        misses,
        unlabeled: observed
            .keys()
            .filter(|t| !labeled.contains(t.as_str()))
            .cloned()
            .collect(),
        split,
        merged,
    }
}

/// Labeled groups spread over several fingerprints, and fingerprints over several groups,
/// each as `name: member, member`.
fn disagreements(found: &[(&Case, &Observed)]) -> (Vec<String>, Vec<String>) {
    let mut by_group: BTreeMap<&str, BTreeMap<&str, Vec<&str>>> = BTreeMap::new();
    let mut by_fingerprint: BTreeMap<&str, BTreeMap<&str, Vec<&str>>> = BTreeMap::new();
    for (case, seen) in found {
        let (group, fp, test) = (
            case.group.as_str(),
            seen.fingerprint.as_str(),
            case.test.as_str(),
        );
        by_group
            .entry(group)
            .or_default()
            .entry(fp)
            .or_default()
            .push(test);
        by_fingerprint
            .entry(fp)
            .or_default()
            .entry(group)
            .or_default()
            .push(test);
    }
    let describe = |map: BTreeMap<&str, BTreeMap<&str, Vec<&str>>>| {
        map.into_iter()
            .filter(|(_, parts)| parts.len() > 1)
            .map(|(name, parts)| {
                let parts: Vec<String> = parts
                    .into_iter()
                    .map(|(part, tests)| format!("{part} ({})", tests.join(", ")))
                    .collect();
                format!("{name}: {}", parts.join(" | "))
            })
            .collect()
    };
    (describe(by_group), describe(by_fingerprint))
}

/// Over every pair of found cases: precision = pairs sharing a fingerprint that share a label
/// group; recall = pairs sharing a label group that share a fingerprint.
fn pairwise(found: &[(&Case, &Observed)]) -> (f64, f64) {
    let (mut both, mut same_fp, mut same_group) = (0, 0, 0);
    for (i, (a, x)) in found.iter().enumerate() {
        for (b, y) in &found[i + 1..] {
            let fp = x.fingerprint == y.fingerprint;
            let group = a.group == b.group;
            both += usize::from(fp && group);
            same_fp += usize::from(fp);
            same_group += usize::from(group);
        }
    }
    (ratio(both, same_fp), ratio(both, same_group))
}

/// `n / of`, 1.0 when there is nothing to get wrong.
fn ratio(n: usize, of: usize) -> f64 {
    if of == 0 {
        1.0
    } else {
        n as f64 / of as f64
    }
}

fn distinct<'a>(items: impl Iterator<Item = &'a str>) -> usize {
    items.collect::<std::collections::BTreeSet<_>>().len()
}

fn describe(category: Category, nature: Nature) -> String {
    format!("{} / {}", category.name(), nature.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(test: &str, category: Category, group: &str) -> Case {
        Case {
            test: test.into(),
            category,
            nature: Nature::Deterministic,
            group: group.into(),
        }
    }

    fn seen(category: Category, fingerprint: &str) -> Observed {
        Observed {
            category,
            nature: Nature::Deterministic,
            fingerprint: fingerprint.into(),
        }
    }

    #[test]
    fn accuracy_and_pairwise_grouping() {
        let cases = [
            case("a", Category::Network, "g1"),
            case("b", Category::Network, "g1"),
            case("c", Category::Code, "g2"),
            case("d", Category::Code, "g3"),
            case("e", Category::Assertion, "g4"),
        ];
        // a and b split (recall loses a pair), c and d merged (precision loses a pair),
        // e never failed.
        let observed: BTreeMap<String, Observed> = [
            ("a", seen(Category::Network, "f1")),
            ("b", seen(Category::Network, "f2")),
            ("c", seen(Category::Code, "f3")),
            ("d", seen(Category::Assertion, "f3")),
            ("z", seen(Category::Code, "f9")),
        ]
        .into_iter()
        .map(|(t, o)| (t.to_string(), o))
        .collect();
        let s = score(&cases, &observed);
        assert_eq!((s.cases, s.found), (5, 4));
        assert!((s.category_accuracy - 0.6).abs() < 1e-9);
        assert!((s.nature_accuracy - 0.8).abs() < 1e-9);
        assert_eq!((s.group_precision, s.group_recall), (0.0, 0.0));
        assert_eq!(s.unlabeled, ["z"]);
        assert_eq!(s.misses.len(), 2);
        assert_eq!(s.worst(), 0.0);
    }

    #[test]
    fn the_corpus_labels_parse() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/failures/labels.toml");
        let cases = read_labels(&path).expect("labels");
        assert!(cases.len() >= 40, "{} cases", cases.len());
        assert!(cases.iter().any(|c| c.category == Category::Crash));
    }
}
