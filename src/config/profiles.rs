//! Profiles: `default` (the top level of the file), the built-in `ci`, `nightly` and `watch`
//! (what `vigil watch` runs with: the default's settings, so its runs are told apart), and the
//! user's `[profiles.NAME]`, each starting from the one it `inherit`s (default: `default`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use toml::Spanned;

use super::schema::{RetryTable, Table};

/// The settings of one profile after inheritance; flags and `VIGIL_*` still override them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    pub name: String,
    pub python: Option<PathBuf>,
    pub jobs: Option<usize>,
    pub timeout: Option<f64>,
    pub junit: Option<PathBuf>,
    pub pytest_args: Vec<String>,
    /// Only these tiers run; `None` runs every tier.
    pub select_tiers: Option<Vec<String>>,
    /// tier → tiers that must have passed before it runs.
    pub tier_gates: BTreeMap<String, Vec<String>>,
    /// `[retry]`, with where it was written (a profile's table replaces the inherited one).
    pub retry: Option<Spanned<RetryTable>>,
}

pub const BUILT_IN: [&str; 4] = ["default", "ci", "nightly", "watch"];

/// The gates `ci` and `nightly` start with: integration waits for unit, e2e for integration.
fn layered_gates() -> BTreeMap<String, Vec<String>> {
    BTreeMap::from([
        ("integration".to_string(), vec!["unit".to_string()]),
        ("e2e".to_string(), vec!["integration".to_string()]),
    ])
}

/// The built-in layer of a profile name, applied under the user's table of the same name.
fn built_in(name: &str) -> Option<Profile> {
    match name {
        "ci" | "nightly" => Some(Profile {
            tier_gates: layered_gates(),
            ..Profile::default()
        }),
        _ => None,
    }
}

/// Why a profile cannot be resolved; the caller adds file and line.
#[derive(Debug, PartialEq)]
pub enum ProfileError {
    Unknown {
        name: String,
        known: Vec<String>,
    },
    /// `inherit` names a profile that leads back to itself; the chain in order, and the span
    /// of an `inherit` value in it (every cycle has one: the built-in chain has none).
    Cycle {
        chain: Vec<String>,
        span: Option<std::ops::Range<usize>>,
    },
    /// `inherit` names a profile that does not exist (the span is the `inherit` value's).
    UnknownParent {
        profile: String,
        parent: String,
        span: std::ops::Range<usize>,
    },
}

/// Resolves `name` against the file's top level and its `[profiles]`.
pub fn resolve(name: &str, top: &Table) -> Result<Profile, ProfileError> {
    let user = top.profiles.as_ref().map(|p| p.get_ref());
    let exists = |n: &str| BUILT_IN.contains(&n) || user.is_some_and(|u| u.contains_key(n));
    if !exists(name) {
        let mut known: Vec<String> = BUILT_IN.iter().map(|s| s.to_string()).collect();
        known.extend(user.into_iter().flat_map(|u| u.keys().cloned()));
        known.sort();
        known.dedup();
        return Err(ProfileError::Unknown {
            name: name.to_string(),
            known,
        });
    }
    let chain = chain(name, top, &exists)?;
    let mut profile = Profile::default();
    apply(&mut profile, top);
    for link in chain.iter().rev().filter(|n| n.as_str() != "default") {
        if let Some(layer) = built_in(link) {
            overlay(&mut profile, layer);
        }
        if let Some(table) = user.and_then(|u| u.get(link)) {
            apply(&mut profile, table);
        }
    }
    profile.name = name.to_string();
    Ok(profile)
}

/// `name`, its parent, ... down to `default`.
fn chain(
    name: &str,
    top: &Table,
    exists: &dyn Fn(&str) -> bool,
) -> Result<Vec<String>, ProfileError> {
    let mut chain = vec![name.to_string()];
    let mut current = name.to_string();
    let mut written = None;
    while current != "default" {
        let table = top
            .profiles
            .as_ref()
            .and_then(|p| p.get_ref().get(&current));
        let inherit = table.and_then(|t| t.inherit.as_ref());
        let parent = match (inherit, current.as_str()) {
            (Some(p), _) => p.get_ref().clone(),
            (None, "nightly") => "ci".to_string(),
            (None, _) => "default".to_string(),
        };
        if let Some(span) = inherit.map(|p| p.span()).filter(|_| !exists(&parent)) {
            return Err(ProfileError::UnknownParent {
                profile: current,
                parent,
                span,
            });
        }
        written = inherit.map(|p| p.span()).or(written);
        if chain.contains(&parent) {
            chain.push(parent);
            return Err(ProfileError::Cycle {
                chain,
                span: written,
            });
        }
        chain.push(parent.clone());
        current = parent;
    }
    Ok(chain)
}

/// A table's keys replace what the profile had; keys it does not set are kept.
fn apply(profile: &mut Profile, table: &Table) {
    let layer = Profile {
        name: String::new(),
        python: table.python.clone(),
        jobs: table.jobs,
        timeout: table.timeout,
        junit: table.junit.clone(),
        pytest_args: table.pytest_args.clone().unwrap_or_default(),
        select_tiers: table.select_tiers.as_ref().map(|s| s.get_ref().clone()),
        tier_gates: table
            .tier_gates
            .as_ref()
            .map(|g| g.get_ref().clone())
            .unwrap_or_default(),
        retry: table.retry.clone(),
    };
    let replaces_gates = table.tier_gates.is_some();
    let replaces_args = table.pytest_args.is_some();
    merge(profile, layer, replaces_args, replaces_gates);
}

fn overlay(profile: &mut Profile, layer: Profile) {
    merge(profile, layer, false, true);
}

fn merge(profile: &mut Profile, layer: Profile, args: bool, gates: bool) {
    profile.python = layer.python.or(profile.python.take());
    profile.jobs = layer.jobs.or(profile.jobs);
    profile.timeout = layer.timeout.or(profile.timeout);
    profile.junit = layer.junit.or(profile.junit.take());
    profile.select_tiers = layer.select_tiers.or(profile.select_tiers.take());
    profile.retry = layer.retry.or(profile.retry.take());
    if args {
        profile.pytest_args = layer.pytest_args;
    }
    // A profile's `tier_gates` is the whole gate table, so `tier_gates = {}` switches them off.
    if gates {
        profile.tier_gates = layer.tier_gates;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn default_has_no_gates_and_ci_gates_the_layers() {
        let top = table("jobs = 3\n");
        let default = resolve("default", &top).unwrap();
        assert!(default.tier_gates.is_empty());
        assert_eq!(default.jobs, Some(3));
        let ci = resolve("ci", &top).unwrap();
        assert_eq!(ci.tier_gates, layered_gates());
        assert_eq!(ci.jobs, Some(3), "ci inherits the top level");
        assert_eq!(
            resolve("nightly", &top).unwrap().tier_gates,
            layered_gates()
        );
    }

    #[test]
    fn user_profiles_inherit_and_override() {
        let top = table(
            "jobs = 3\ntimeout = 9.0\n[profiles.ci]\njobs = 1\n\
             [profiles.quick]\ninherit = \"ci\"\nselect_tiers = [\"unit\"]\ntier_gates = {}\n",
        );
        let quick = resolve("quick", &top).unwrap();
        assert_eq!(quick.jobs, Some(1));
        assert_eq!(quick.timeout, Some(9.0));
        assert_eq!(quick.select_tiers, Some(vec!["unit".to_string()]));
        assert!(
            quick.tier_gates.is_empty(),
            "an empty table turns gates off"
        );
        assert_eq!(resolve("ci", &top).unwrap().tier_gates, layered_gates());
    }

    #[test]
    fn cycles_and_unknown_names_are_errors() {
        let top = table("[profiles.a]\ninherit = \"b\"\n[profiles.b]\ninherit = \"a\"\n");
        let ProfileError::Cycle { chain, span } = resolve("a", &top).unwrap_err() else {
            panic!("not a cycle");
        };
        assert_eq!(chain, ["a", "b", "a"]);
        assert!(span.is_some(), "a cycle points at an `inherit`");
        assert!(matches!(
            resolve("nope", &top).unwrap_err(),
            ProfileError::Unknown { .. }
        ));
        let top = table("[profiles.a]\ninherit = \"zz\"\n");
        assert!(matches!(
            resolve("a", &top).unwrap_err(),
            ProfileError::UnknownParent { .. }
        ));
    }
}
