//! How a run diagnoses its failures: the user's `[[diagnose.rules]]` compiled ahead of the
//! built-in table, and the log files to scan, resolved from `[diagnose]`.

use std::path::Path;

use crate::config::{ConfigError, Loaded, RuleTable};
use crate::diagnose::{rules, Category, Nature, RuleSpec, Rules};

/// `[diagnose]`, compiled.
#[derive(Debug, Clone)]
pub struct DiagnoseSettings {
    pub rules: Rules,
    /// Absolute glob patterns of log files to scan.
    pub logs: Vec<String>,
}

impl Default for DiagnoseSettings {
    fn default() -> Self {
        DiagnoseSettings {
            rules: Rules::builtin(),
            logs: Vec::new(),
        }
    }
}

/// Compiles the config's rules; a bad regex, category or nature names the file and line.
pub fn diagnose_settings(
    loaded: &Loaded,
    invocation_dir: &Path,
) -> Result<DiagnoseSettings, ConfigError> {
    let table = loaded.diagnose();
    let mut user = Vec::new();
    for (index, entry) in table.rules.iter().flatten().enumerate() {
        let spec = rule_spec(entry.get_ref(), index + 1)
            .map_err(|message| loaded.error_at(entry.span(), message))?;
        let rule = rules::compile("user", &spec)
            .map_err(|e| loaded.error_at(entry.span(), e.to_string()))?;
        user.push(rule);
    }
    let base = loaded.dir().unwrap_or(invocation_dir);
    let logs = table
        .logs
        .iter()
        .flatten()
        .map(|glob| base.join(glob).to_string_lossy().into_owned())
        .collect();
    Ok(DiagnoseSettings {
        rules: Rules::with_user(user),
        logs,
    })
}

/// The rule as the compiler takes it; `number` names rules without a `name`.
fn rule_spec(table: &RuleTable, number: usize) -> Result<RuleSpec, String> {
    let name = table.name.clone().unwrap_or_else(|| number.to_string());
    let category = match table.category.as_deref() {
        None => None,
        Some(c) => Some(Category::from_name(c).ok_or_else(|| {
            let known: Vec<&str> = Category::ALL.iter().map(|c| c.name()).collect();
            format!(
                "rule `{name}`: unknown category {c:?} (known: {})",
                known.join(", ")
            )
        })?),
    };
    let nature = match table.nature.as_deref() {
        None => None,
        Some(n) => Some(Nature::from_name(n).ok_or_else(|| {
            format!("rule `{name}`: nature is `transient` or `deterministic`, not {n:?}")
        })?),
    };
    if table.confidence.is_some_and(|c| !(0.0..=1.0).contains(&c)) {
        return Err(format!("rule `{name}`: confidence is between 0 and 1"));
    }
    Ok(RuleSpec {
        name,
        category,
        nature,
        confidence: table.confidence,
        exception: table.exception.clone(),
        message: table.message.clone(),
        trace: table.trace.clone(),
        outcome: None,
        cause: table.cause.clone(),
        advice: table.advice.clone(),
    })
}
