//! vigil's own configuration: `vigil.toml`, or `[tool.vigil]` in `pyproject.toml`, found in the
//! invocation directory or above. The top level is the `default` profile; `[profiles.NAME]`
//! tables inherit. Unknown keys and wrong types are errors naming the file, line and key.

mod position;
mod profiles;
mod schema;
mod values;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use profiles::Profile;
pub use schema::{
    BreakerTable, DiagnoseTable, HistoryTable, NativeTable, RedactTable, RetryTable, RuleTable,
    StringOrList, Table, TierTable, WatchTable,
};

use crate::plan::CapabilityConfig;

use position::{key_at, line_column};
use profiles::ProfileError;

/// A loaded config and where it came from (relative paths in it are relative to its directory).
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub table: Table,
    pub file: Option<PathBuf>,
    /// The file's text, kept to turn spans into lines for errors found after parsing.
    text: String,
}

impl Loaded {
    pub fn resolve(&self, path: &Path) -> PathBuf {
        match self.dir() {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path.to_path_buf(),
        }
    }

    /// The directory of the config file, if there is one.
    pub fn dir(&self) -> Option<&Path> {
        self.file.as_ref().and_then(|f| f.parent())
    }

    /// The named profile after inheritance (`default` is the file's top level).
    pub fn profile(&self, name: &str) -> Result<Profile, ConfigError> {
        profiles::resolve(name, &self.table).map_err(|e| self.profile_error(name, e))
    }

    pub fn capabilities(&self) -> BTreeMap<String, CapabilityConfig> {
        self.table
            .capabilities
            .as_ref()
            .map(|c| c.get_ref().clone())
            .unwrap_or_default()
    }

    pub fn tiers(&self) -> BTreeMap<String, TierTable> {
        self.table
            .tiers
            .as_ref()
            .map(|t| t.get_ref().clone())
            .unwrap_or_default()
    }

    /// The `[native]` table, or an implied one when a `Cargo.toml` sits beside the config.
    pub fn native(&self) -> Option<NativeTable> {
        let explicit = self.table.native.as_ref().map(|n| n.get_ref().clone());
        let implied = || {
            self.dir()
                .filter(|d| d.join("Cargo.toml").is_file())
                .map(|_| NativeTable::default())
        };
        explicit
            .or_else(implied)
            .filter(|n| n.enabled != Some(false))
    }

    /// The `[history]` table (all defaults when absent).
    pub fn history(&self) -> HistoryTable {
        self.table
            .history
            .as_ref()
            .map(|h| h.get_ref().clone())
            .unwrap_or_default()
    }

    /// The `[breaker]` table (all defaults when absent).
    pub fn breaker(&self) -> BreakerTable {
        self.table
            .breaker
            .as_ref()
            .map(|b| b.get_ref().clone())
            .unwrap_or_default()
    }

    /// The `[diagnose]` table (all defaults when absent).
    pub fn diagnose(&self) -> DiagnoseTable {
        self.table
            .diagnose
            .as_ref()
            .map(|d| d.get_ref().clone())
            .unwrap_or_default()
    }

    /// The `[watch]` table (all defaults when absent).
    pub fn watch(&self) -> WatchTable {
        self.table
            .watch
            .as_ref()
            .map(|w| w.get_ref().clone())
            .unwrap_or_default()
    }

    /// The `[redact]` table (the built-in patterns alone when absent).
    pub fn redact(&self) -> RedactTable {
        self.table
            .redact
            .as_ref()
            .map(|r| r.get_ref().clone())
            .unwrap_or_default()
    }

    /// An error about the value at `span` of this file (for checks made after parsing).
    pub fn error_at(&self, span: std::ops::Range<usize>, message: String) -> ConfigError {
        let path = self.file.clone().unwrap_or_default();
        invalid(&path, &self.text, span.start, message)
    }

    fn profile_error(&self, name: &str, error: ProfileError) -> ConfigError {
        match error {
            ProfileError::Unknown { name, known } => ConfigError::UnknownProfile {
                name,
                known: known.join(", "),
            },
            ProfileError::Cycle { chain, span } => {
                let message = format!("profiles inherit in a cycle: {}", chain.join(" → "));
                match span {
                    Some(span) => self.error_at(span, message),
                    None => ConfigError::UnknownProfile {
                        name: name.to_string(),
                        known: format!("({message})"),
                    },
                }
            }
            ProfileError::UnknownParent {
                profile,
                parent,
                span,
            } => self.error_at(
                span,
                format!("profile `{profile}` inherits `{parent}`, which is not defined"),
            ),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}:{line}:{column}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("cannot read {}: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("no profile named `{name}`; known profiles: {known}")]
    UnknownProfile { name: String, known: String },
}

/// Finds and parses the nearest `vigil.toml` (or `pyproject.toml` with `[tool.vigil]`).
pub fn load(start: &Path) -> Result<Loaded, ConfigError> {
    for dir in start.ancestors() {
        let own = dir.join("vigil.toml");
        if own.is_file() {
            return parse_file(&own, false);
        }
        let pyproject = dir.join("pyproject.toml");
        if pyproject.is_file() {
            let loaded = parse_file(&pyproject, true)?;
            if loaded.file.is_some() {
                return Ok(loaded);
            }
        }
    }
    Ok(Loaded::default())
}

fn parse_file(path: &Path, in_pyproject: bool) -> Result<Loaded, ConfigError> {
    let bytes = std::fs::read(path).map_err(|error| ConfigError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| not_utf8(path, e))?;
    match parse(&text, in_pyproject) {
        Ok(Some(table)) => Ok(Loaded {
            table,
            file: Some(path.to_path_buf()),
            text,
        }),
        Ok(None) => Ok(Loaded::default()),
        Err((offset, message)) => Err(invalid(path, &text, offset, message)),
    }
}

/// TOML is UTF-8: name the first byte that is not, where it is.
fn not_utf8(path: &Path, error: std::string::FromUtf8Error) -> ConfigError {
    let at = error.utf8_error().valid_up_to();
    let bytes = error.as_bytes();
    let valid = String::from_utf8_lossy(&bytes[..at]);
    let (line, column) = line_column(&valid, at);
    ConfigError::Invalid {
        path: path.to_path_buf(),
        line,
        column,
        message: format!(
            "byte 0x{:02x} is not UTF-8 (TOML files are UTF-8 text)",
            bytes[at]
        ),
    }
}

fn invalid(path: &Path, text: &str, offset: usize, message: String) -> ConfigError {
    let (line, column) = line_column(text, offset);
    let message = match key_at(text, offset) {
        Some(key) if !message.contains(&format!("`{key}`")) => format!("`{key}`: {message}"),
        _ => message,
    };
    ConfigError::Invalid {
        path: path.to_path_buf(),
        line,
        column,
        message,
    }
}

/// `None` when a pyproject has no `[tool.vigil]`; errors carry a byte offset into `text`.
pub fn parse(text: &str, in_pyproject: bool) -> Result<Option<Table>, (usize, String)> {
    let span_err = |e: toml::de::Error| (e.span().map_or(0, |s| s.start), e.message().to_string());
    let table = if in_pyproject {
        #[derive(Deserialize)]
        struct Pyproject {
            tool: Option<Tool>,
        }
        #[derive(Deserialize)]
        struct Tool {
            vigil: Option<Table>,
        }
        let doc: Pyproject = toml::from_str(text).map_err(span_err)?;
        match doc.tool.and_then(|t| t.vigil) {
            Some(table) => table,
            None => return Ok(None),
        }
    } else {
        toml::from_str(text).map_err(span_err)?
    };
    check_placement(&table)?;
    check_watch_map(&table)?;
    check_redact(&table)?;
    check_tiers(&table)?;
    Ok(Some(table))
}

/// Tier names in `select_tiers` and `tier_gates` (top level and profiles) must be tiers: a
/// typo would otherwise select nothing, or gate on a tier that never runs.
fn check_tiers(top: &Table) -> Result<(), (usize, String)> {
    let tiers = crate::plan::tiers::Tiers::new(
        &top.tiers
            .as_ref()
            .map(|t| t.get_ref().clone())
            .unwrap_or_default(),
    );
    let profiles = top.profiles.as_ref().map(|p| p.get_ref());
    let tables = std::iter::once(top).chain(profiles.into_iter().flat_map(|p| p.values()));
    for table in tables {
        if let Some(selected) = &table.select_tiers {
            for name in selected.get_ref() {
                tiers
                    .check(name, "select_tiers")
                    .map_err(|e| (selected.span().start, e.to_string()))?;
            }
        }
        if let Some(gates) = &table.tier_gates {
            let names = gates
                .get_ref()
                .iter()
                .flat_map(|(t, g)| g.iter().chain([t]));
            for name in names {
                tiers
                    .check(name, "tier_gates")
                    .map_err(|e| (gates.span().start, e.to_string()))?;
            }
        }
    }
    Ok(())
}

/// Project-wide tables belong at the top level, `inherit` in profiles only.
/// `[watch] map` keys are globs: a bad one is an error at load, not a silent miss later.
fn check_watch_map(top: &Table) -> Result<(), (usize, String)> {
    let Some(map) = top.watch.as_ref().and_then(|w| w.get_ref().map.as_ref()) else {
        return Ok(());
    };
    for pattern in map.get_ref().keys() {
        if let Err(error) = globset::Glob::new(pattern) {
            return Err((
                map.span().start,
                format!("{pattern:?} is not a glob: {error}"),
            ));
        }
    }
    Ok(())
}

/// `[redact]` patterns are globs too: a bad one is an error at load, not a secret let through.
fn check_redact(top: &Table) -> Result<(), (usize, String)> {
    let Some(table) = top.redact.as_ref().map(|r| r.get_ref()) else {
        return Ok(());
    };
    for (key, list) in [("env", &table.env), ("exempt", &table.exempt)] {
        let Some(list) = list else { continue };
        for pattern in list.get_ref() {
            if let Err(error) = crate::redact::glob(pattern) {
                return Err((
                    list.span().start,
                    format!("{key}: {pattern:?} is not a glob: {error}"),
                ));
            }
        }
    }
    Ok(())
}

fn check_placement(top: &Table) -> Result<(), (usize, String)> {
    if let Some(inherit) = &top.inherit {
        return Err((
            inherit.span().start,
            "`inherit` belongs in a [profiles.NAME] table".into(),
        ));
    }
    let profiles = top.profiles.as_ref().map(|p| p.get_ref());
    for (name, profile) in profiles.into_iter().flatten() {
        let misplaced = [
            ("profiles", profile.profiles.as_ref().map(|s| s.span())),
            (
                "capabilities",
                profile.capabilities.as_ref().map(|s| s.span()),
            ),
            ("tiers", profile.tiers.as_ref().map(|s| s.span())),
            ("native", profile.native.as_ref().map(|s| s.span())),
            ("history", profile.history.as_ref().map(|s| s.span())),
            ("diagnose", profile.diagnose.as_ref().map(|s| s.span())),
            ("breaker", profile.breaker.as_ref().map(|s| s.span())),
            ("watch", profile.watch.as_ref().map(|s| s.span())),
            ("redact", profile.redact.as_ref().map(|s| s.span())),
        ];
        if let Some((key, Some(span))) = misplaced.into_iter().find(|(_, s)| s.is_some()) {
            return Err((
                span.start,
                format!(
                    "`{key}` is project-wide: put it at the top level, not in profile `{name}`"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        let (offset, message) = parse(text, false).unwrap_err();
        let (line, column) = line_column(text, offset);
        let message = invalid(Path::new("vigil.toml"), text, offset, message).to_string();
        format!("{line}:{column} {message}")
    }

    #[test]
    fn unknown_key_is_an_error_with_its_line_and_column() {
        let e = error("jobs = 2\npyhton = \"py\"\n");
        assert!(e.starts_with("2:1 vigil.toml:2:1:"), "{e}");
        assert!(e.contains("pyhton"), "{e}");
    }

    #[test]
    fn wrong_type_names_the_key_with_its_table() {
        let e = error("jobs = 2\n[profiles.ci]\ntimeout = \"slow\"\n");
        assert!(e.starts_with("3:11 "), "{e}");
        assert!(e.contains("`profiles.ci.timeout`"), "{e}");
    }

    #[test]
    fn project_tables_inside_a_profile_are_errors() {
        let e = error("[profiles.ci.capabilities.pg]\nprobe = \"tcp:h:1\"\n");
        assert!(e.contains("project-wide"), "{e}");
        let e = error("inherit = \"ci\"\n");
        assert!(e.starts_with("1:11 "), "{e}");
    }

    #[test]
    fn a_bad_redact_glob_is_an_error_at_its_line() {
        let e = error("jobs = 2\n[redact]\nenv = [\"MY_*\", \"[A-\"]\n");
        assert!(e.starts_with("3:7 "), "{e}");
        assert!(e.contains("env: \"[A-\" is not a glob"), "{e}");
        let e = error("[profiles.ci.redact]\nenv = [\"X\"]\n");
        assert!(e.contains("`redact` is project-wide"), "{e}");
        let t = parse(
            "[redact]\nenv = [\"MY_*\"]\nexempt = [\"MY_PUBLIC\"]\n",
            false,
        );
        assert!(t.unwrap().unwrap().redact.is_some());
    }

    #[test]
    fn pyproject_without_the_table_is_no_config() {
        assert!(parse("[project]\nname = \"x\"\n", true).unwrap().is_none());
        let t = parse("[tool.vigil]\njobs = 3\n", true).unwrap().unwrap();
        assert_eq!(t.jobs, Some(3));
    }
}

#[cfg(test)]
mod fuzz_tests;
