//! What a test's markers require: `requires_env`, `requires_bin`, `requires_service`, and
//! `requires("name")` / `requires_<name>` for a `[capabilities.<name>]` table.

use std::collections::BTreeMap;
use std::fmt;

use super::config::CapabilityConfig;
use crate::events::Marker;

/// One thing a test needs to be present.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Requirement {
    /// An environment variable, set and non-empty.
    Env(String),
    /// An executable on `PATH`, or a path to an executable file.
    Bin(String),
    /// A TCP address (`host:port`, `[v6]:port`) that accepts a connection.
    Service(String),
    /// A `[capabilities.<name>]` table from the config.
    Named(String),
}

impl Requirement {
    /// Stable text form (`env:FOO`, `bin:git`, `service:127.0.0.1:5432`, `named:postgres`): the key
    /// of the probe results vigil hands its pytest plugin.
    pub fn key(&self) -> String {
        let (scheme, value) = self.parts();
        format!("{scheme}:{value}")
    }

    /// The inverse of [`Requirement::key`]; `None` for an unknown scheme.
    pub fn parse_key(key: &str) -> Option<Requirement> {
        let (scheme, value) = key.split_once(':')?;
        let value = value.to_string();
        match scheme {
            "env" => Some(Requirement::Env(value)),
            "bin" => Some(Requirement::Bin(value)),
            "service" => Some(Requirement::Service(value)),
            "named" => Some(Requirement::Named(value)),
            _ => None,
        }
    }

    /// What one marker requires. Markers that are not requirements give an empty result.
    pub fn from_marker(
        marker: &Marker,
        named: &BTreeMap<String, CapabilityConfig>,
    ) -> Result<Requirements, UnknownCapability> {
        let build: fn(String) -> Requirement = match marker.name.as_str() {
            "requires_env" => Requirement::Env,
            "requires_bin" => Requirement::Bin,
            "requires_service" => service_requirement,
            "requires" => return named_by_args(marker, named),
            other => {
                // `requires_<name>` only means something when the config defines <name>; otherwise
                // it is the project's own marker (its conftest may well handle it).
                return Ok(match other.strip_prefix("requires_") {
                    Some(name) if named.contains_key(name) => Requirements {
                        known: vec![Requirement::Named(name.to_string())],
                        unresolved: Vec::new(),
                    },
                    _ => Requirements::default(),
                });
            }
        };
        let mut found = Requirements::default();
        for arg in &marker.args {
            match arg.as_str() {
                Some(text) => found.push(build(text.to_string())),
                None => found.unresolved.push(Unresolved::new(marker, arg)),
            }
        }
        Ok(found)
    }

    pub(super) fn parts(&self) -> (&'static str, &str) {
        match self {
            Requirement::Env(v) => ("env", v),
            Requirement::Bin(v) => ("bin", v),
            Requirement::Service(v) => ("service", v),
            Requirement::Named(v) => ("named", v),
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// `requires_service` accepts the same `tcp:` prefix as a configured probe.
fn service_requirement(address: String) -> Requirement {
    match address.strip_prefix("tcp:") {
        Some(rest) => Requirement::Service(rest.to_string()),
        None => Requirement::Service(address),
    }
}

/// `requires("a", "b")`: every name must be configured; unknown ones are the caller's usage error.
fn named_by_args(
    marker: &Marker,
    named: &BTreeMap<String, CapabilityConfig>,
) -> Result<Requirements, UnknownCapability> {
    let mut found = Requirements::default();
    let mut unknown = Vec::new();
    for arg in &marker.args {
        match arg.as_str() {
            Some(name) if named.contains_key(name) => {
                found.push(Requirement::Named(name.to_string()))
            }
            Some(name) => push_unique(&mut unknown, name.to_string()),
            None => found.unresolved.push(Unresolved::new(marker, arg)),
        }
    }
    if unknown.is_empty() {
        Ok(found)
    } else {
        Err(UnknownCapability::new(unknown, named))
    }
}

fn push_unique<T: PartialEq>(items: &mut Vec<T>, item: T) {
    if !items.contains(&item) {
        items.push(item);
    }
}

/// What a test's markers require, as far as vigil can tell without running Python.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirements {
    /// Distinct requirements in marker order.
    pub known: Vec<Requirement>,
    /// Requirement markers whose arguments are not string literals; the caller has to fall back
    /// (e.g. let the test run and decide at run time).
    pub unresolved: Vec<Unresolved>,
}

impl Requirements {
    fn push(&mut self, requirement: Requirement) {
        push_unique(&mut self.known, requirement);
    }

    fn extend(&mut self, other: Requirements) {
        for requirement in other.known {
            self.push(requirement);
        }
        self.unresolved.extend(other.unresolved);
    }
}

/// A requirement marker argument that is not a plain string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// The marker's name, e.g. `requires_env`.
    pub marker: String,
    /// The argument's source text (from `{"$expr": ...}`), or its JSON for other literals.
    pub expr: String,
}

impl Unresolved {
    fn new(marker: &Marker, arg: &serde_json::Value) -> Unresolved {
        let expr = match arg.get("$expr").and_then(|e| e.as_str()) {
            Some(source) => source.to_string(),
            None => arg.to_string(),
        };
        Unresolved {
            marker: marker.name.clone(),
            expr,
        }
    }
}

impl fmt::Display for Unresolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.marker, self.expr)
    }
}

/// `requires("name")` with a name the config does not define.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "requires({}) names {} the config does not define; add a [capabilities.<name>] table with a \
     probe to vigil.toml ([tool.vigil.capabilities.<name>] in pyproject.toml) ({})",
    quoted(.names), if .names.len() == 1 { "a capability" } else { "capabilities" },
    list_defined(.defined)
)]
pub struct UnknownCapability {
    /// The unknown names, in marker order.
    pub names: Vec<String>,
    /// The names the config does define, to spot a typo.
    pub defined: Vec<String>,
}

impl UnknownCapability {
    fn new(names: Vec<String>, named: &BTreeMap<String, CapabilityConfig>) -> UnknownCapability {
        UnknownCapability {
            names,
            defined: named.keys().cloned().collect(),
        }
    }
}

fn quoted(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    quoted.join(", ")
}

fn list_defined(names: &[String]) -> String {
    if names.is_empty() {
        "none are defined".to_string()
    } else {
        format!("defined: {}", names.join(", "))
    }
}

/// Everything a test's markers require. Unknown `requires("name")` names from all markers are
/// reported together.
pub fn requirements(
    markers: &[Marker],
    named: &BTreeMap<String, CapabilityConfig>,
) -> Result<Requirements, UnknownCapability> {
    let mut found = Requirements::default();
    let mut unknown = Vec::new();
    for marker in markers {
        match Requirement::from_marker(marker, named) {
            Ok(more) => found.extend(more),
            Err(error) => error
                .names
                .into_iter()
                .for_each(|n| push_unique(&mut unknown, n)),
        }
    }
    if unknown.is_empty() {
        Ok(found)
    } else {
        Err(UnknownCapability::new(unknown, named))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plan::capabilities::test_fixtures::postgres_on;

    fn marker(name: &str, args: Vec<serde_json::Value>) -> Marker {
        Marker {
            name: name.to_string(),
            args,
            kwargs: serde_json::Map::new(),
        }
    }

    #[test]
    fn keys_round_trip() {
        for req in [
            Requirement::Env("FOO".into()),
            Requirement::Bin("git".into()),
            Requirement::Service("127.0.0.1:5432".into()),
            Requirement::Service("[::1]:80".into()),
            Requirement::Named("postgres".into()),
            Requirement::Env(String::new()),
        ] {
            assert_eq!(Requirement::parse_key(&req.key()), Some(req.clone()));
        }
        assert_eq!(
            Requirement::Service("127.0.0.1:5432".into()).key(),
            "service:127.0.0.1:5432"
        );
        assert_eq!(Requirement::parse_key("http:x"), None);
        assert_eq!(Requirement::parse_key("env"), None);
    }

    #[test]
    fn builtin_markers_with_several_args_require_all() {
        let markers = [
            marker("requires_env", vec![json!("A"), json!("B")]),
            marker("requires_bin", vec![json!("git")]),
            marker(
                "requires_service",
                vec![json!("tcp:localhost:1"), json!("h:2")],
            ),
            marker("requires_env", vec![json!("A")]),
        ];
        let found = requirements(&markers, &BTreeMap::new()).unwrap();
        assert_eq!(
            found.known,
            vec![
                Requirement::Env("A".into()),
                Requirement::Env("B".into()),
                Requirement::Bin("git".into()),
                Requirement::Service("localhost:1".into()),
                Requirement::Service("h:2".into()),
            ]
        );
        assert!(found.unresolved.is_empty());
    }

    #[test]
    fn non_literal_args_are_unresolved_not_guessed() {
        let markers = [
            marker(
                "requires_env",
                vec![json!("A"), json!({"$expr": "KEY_NAME"}), json!(3)],
            ),
            marker("requires", vec![json!({"$expr": "names[0]"})]),
        ];
        let found = requirements(&markers, &BTreeMap::new()).unwrap();
        assert_eq!(found.known, vec![Requirement::Env("A".into())]);
        let shown: Vec<String> = found.unresolved.iter().map(|u| u.to_string()).collect();
        assert_eq!(
            shown,
            [
                "requires_env(KEY_NAME)",
                "requires_env(3)",
                "requires(names[0])"
            ]
        );
    }

    #[test]
    fn named_capabilities_by_marker_name_or_requires() {
        let named = postgres_on(5432);
        let by_name = marker("requires_postgres", vec![]);
        let by_arg = marker("requires", vec![json!("postgres")]);
        for m in [&by_name, &by_arg] {
            let found = Requirement::from_marker(m, &named).unwrap();
            assert_eq!(found.known, vec![Requirement::Named("postgres".into())]);
        }
    }

    #[test]
    fn unconfigured_requires_name_marker_is_ordinary() {
        let found = requirements(
            &[
                marker("requires_gemini", vec![]),
                marker("requires_", vec![]),
                marker("slow", vec![]),
            ],
            &postgres_on(5432),
        )
        .unwrap();
        assert_eq!(found, Requirements::default());
    }

    #[test]
    fn unknown_requires_names_are_an_error_listing_them() {
        let markers = [
            marker("requires", vec![json!("nope"), json!("postgres")]),
            marker("requires", vec![json!("other"), json!("nope")]),
            marker("requires_env", vec![json!("A")]),
        ];
        let error = requirements(&markers, &postgres_on(5432)).unwrap_err();
        assert_eq!(error.names, ["nope", "other"]);
        let message = error.to_string();
        assert!(message.contains("\"nope\", \"other\""), "{message}");
        assert!(message.contains("[capabilities.<name>]"), "{message}");
        assert!(message.contains("defined: postgres"), "{message}");
    }
}
