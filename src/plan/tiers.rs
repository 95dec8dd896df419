//! Tiers: unit, integration, e2e, performance, stress and the project's own, from a directory
//! of that name in a test's path or a marker of that name; and tier gates, which split a run
//! into waves so a tier runs only after the tiers it waits for have passed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use crate::config::TierTable;

/// The built-in tiers, in the order they usually run.
pub const BUILT_IN: [&str; 5] = ["unit", "integration", "e2e", "performance", "stress"];

/// The tier of a test that has neither a tier directory nor a tier marker.
pub const UNTIERED: &str = "untiered";

/// One tier and the directory and marker names that place a test in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TierDef {
    pub name: String,
    pub dirs: Vec<String>,
    pub markers: Vec<String>,
}

/// Every tier a project knows: the built-ins (possibly with other names), then its own.
#[derive(Debug, Clone, PartialEq)]
pub struct Tiers {
    pub defs: Vec<TierDef>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TierError {
    #[error("unknown tier `{name}` in {place}; known tiers: {known}")]
    Unknown {
        name: String,
        place: String,
        known: String,
    },
    #[error("tier gates form a cycle: {0}")]
    Cycle(String),
}

impl Tiers {
    pub fn new(config: &BTreeMap<String, TierTable>) -> Tiers {
        let names = BUILT_IN.iter().map(|s| s.to_string()).chain(
            config
                .keys()
                .filter(|k| !BUILT_IN.contains(&k.as_str()))
                .cloned(),
        );
        let defs = names
            .map(|name| {
                let table = config.get(&name).cloned().unwrap_or_default();
                TierDef {
                    dirs: table.dirs.unwrap_or_else(|| vec![name.clone()]),
                    markers: table.markers.unwrap_or_else(|| vec![name.clone()]),
                    name,
                }
            })
            .collect();
        Tiers { defs }
    }

    /// Tier names in order, `untiered` last.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.defs.iter().map(|d| d.name.as_str()).collect();
        names.push(UNTIERED);
        names
    }

    /// Fails naming `place` (e.g. `--tier`) when `name` is not a tier.
    pub fn check(&self, name: &str, place: &str) -> Result<(), TierError> {
        if self.names().contains(&name) {
            return Ok(());
        }
        Err(TierError::Unknown {
            name: name.to_string(),
            place: place.to_string(),
            known: self.names().join(", "),
        })
    }

    /// The tier a marker name stands for.
    pub fn of_marker(&self, marker: &str) -> Option<&str> {
        self.defs
            .iter()
            .find(|d| d.markers.iter().any(|m| m == marker))
            .map(|d| d.name.as_str())
    }

    /// The tier of the deepest directory in `path` (relative to the rootdir) named for one.
    pub fn of_path(&self, path: &Path) -> Option<&str> {
        let dirs: Vec<String> = path
            .parent()
            .into_iter()
            .flat_map(|p| p.components())
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        dirs.iter().rev().find_map(|dir| {
            self.defs
                .iter()
                .find(|d| d.dirs.iter().any(|n| n == dir))
                .map(|d| d.name.as_str())
        })
    }

    /// A test's tier: its closest tier marker (markers closest first), else its path's.
    pub fn of_test<'a>(
        &'a self,
        path: &Path,
        markers: impl IntoIterator<Item = &'a str>,
    ) -> &'a str {
        markers
            .into_iter()
            .find_map(|m| self.of_marker(m))
            .or_else(|| self.of_path(path))
            .unwrap_or(UNTIERED)
    }
}

/// Groups the selected tiers into waves: each tier in the wave after the last of its gates.
/// With no gates, everything is one wave, and a run is exactly one pass of the workers.
pub fn waves(
    selected: &[String],
    gates: &BTreeMap<String, Vec<String>>,
) -> Result<Vec<Vec<String>>, TierError> {
    let mut level: BTreeMap<&str, usize> = BTreeMap::new();
    for tier in selected {
        depth(tier, gates, &mut level, &mut Vec::new())?;
    }
    let count = selected
        .iter()
        .map(|t| level[t.as_str()])
        .max()
        .map_or(0, |m| m + 1);
    let mut waves = vec![Vec::new(); count];
    for tier in selected {
        waves[level[tier.as_str()]].push(tier.clone());
    }
    Ok(waves.into_iter().filter(|w| !w.is_empty()).collect())
}

/// How many gates stand before `tier` (0 for an ungated tier), following gates transitively.
fn depth<'a>(
    tier: &'a str,
    gates: &'a BTreeMap<String, Vec<String>>,
    level: &mut BTreeMap<&'a str, usize>,
    path: &mut Vec<&'a str>,
) -> Result<usize, TierError> {
    if let Some(&known) = level.get(tier) {
        return Ok(known);
    }
    if path.contains(&tier) {
        path.push(tier);
        return Err(TierError::Cycle(path.join(" → ")));
    }
    path.push(tier);
    let mut deepest = 0;
    for gate in gates.get(tier).into_iter().flatten() {
        deepest = deepest.max(depth(gate, gates, level, path)? + 1);
    }
    path.pop();
    level.insert(tier, deepest);
    Ok(deepest)
}

/// Why a gated tier is skipped, if one of its gates did not pass in this run.
/// `failed` holds the tiers that had a failure or were themselves skipped by a gate.
pub fn gate_reason(
    tier: &str,
    gates: &BTreeMap<String, Vec<String>>,
    failed: &BTreeMap<String, String>,
) -> Option<String> {
    let blocking = gates.get(tier)?.iter().find(|g| failed.contains_key(*g))?;
    Some(match failed[blocking].as_str() {
        "failed" => {
            format!("tier gate: {tier} runs only when {blocking} passes, and {blocking} failed")
        }
        why => format!("tier gate: {tier} runs only when {blocking} passes, and {blocking} {why}"),
    })
}

/// Every tier name a profile mentions, for checking against the known tiers.
pub fn mentioned(gates: &BTreeMap<String, Vec<String>>) -> BTreeSet<&str> {
    gates
        .iter()
        .flat_map(|(t, g)| std::iter::once(t.as_str()).chain(g.iter().map(String::as_str)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gates(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(t, g)| (t.to_string(), g.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn deepest_tier_directory_wins_and_markers_beat_paths() {
        let mut config = BTreeMap::new();
        config.insert(
            "smoke".to_string(),
            TierTable {
                dirs: Some(strings(&["smoke", "sanity"])),
                markers: None,
            },
        );
        let tiers = Tiers::new(&config);
        let p = Path::new("tests/integration/unit/test_x.py");
        assert_eq!(tiers.of_path(p), Some("unit"));
        assert_eq!(tiers.of_path(Path::new("sanity/test_y.py")), Some("smoke"));
        assert_eq!(
            tiers.of_path(Path::new("unit.py")),
            None,
            "the file name is no directory"
        );
        assert_eq!(tiers.of_test(p, ["slow", "e2e"]), "e2e");
        assert_eq!(tiers.of_test(Path::new("t/test_z.py"), []), UNTIERED);
        assert!(tiers.check("smoke", "--tier").is_ok());
        assert!(matches!(
            tiers.check("smok", "--tier"),
            Err(TierError::Unknown { .. })
        ));
    }

    #[test]
    fn gates_make_waves_in_order() {
        let g = gates(&[("integration", &["unit"]), ("e2e", &["integration"])]);
        let all = strings(&["unit", "integration", "e2e", "stress", "untiered"]);
        assert_eq!(
            waves(&all, &g).unwrap(),
            vec![
                strings(&["unit", "stress", "untiered"]),
                strings(&["integration"]),
                strings(&["e2e"])
            ]
        );
        assert_eq!(waves(&all, &BTreeMap::new()).unwrap().len(), 1);
        // A gate on a tier that is not selected still orders nothing wrongly: e2e alone is one wave.
        assert_eq!(
            waves(&strings(&["e2e"]), &g).unwrap(),
            vec![strings(&["e2e"])]
        );
    }

    #[test]
    fn gate_cycles_are_errors_and_reasons_name_the_tier() {
        let g = gates(&[("a", &["b"]), ("b", &["a"])]);
        assert!(matches!(
            waves(&strings(&["a"]), &g),
            Err(TierError::Cycle(_))
        ));
        let g = gates(&[("e2e", &["integration"])]);
        let failed = BTreeMap::from([("integration".to_string(), "failed".to_string())]);
        let reason = gate_reason("e2e", &g, &failed).unwrap();
        assert!(reason.contains("integration failed"), "{reason}");
        assert_eq!(gate_reason("unit", &g, &failed), None);
    }
}
