//! vigil's own configuration: `vigil.toml`, or `[tool.vigil]` in `pyproject.toml`, found in the
//! invocation directory or above. Unknown keys are errors naming the key and its line.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Settings a project can fix in its config; command-line flags and `VIGIL_*` override them.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Interpreter to run pytest with, relative to the config file's directory.
    pub python: Option<PathBuf>,
    /// Worker count (`-j`).
    pub jobs: Option<usize>,
    /// Per-test timeout in seconds.
    pub timeout: Option<f64>,
    /// Where to write JUnit XML, relative to the config file's directory.
    pub junit: Option<PathBuf>,
    /// Extra arguments for every pytest worker.
    #[serde(default)]
    pub pytest_args: Vec<String>,
}

/// A loaded config and where it came from (relative paths in it are relative to its directory).
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub config: Config,
    pub file: Option<PathBuf>,
}

impl Loaded {
    pub fn resolve(&self, path: &Path) -> PathBuf {
        match self.file.as_ref().and_then(|f| f.parent()) {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path.to_path_buf(),
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
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    match parse(&text, in_pyproject) {
        Ok(Some(config)) => Ok(Loaded {
            config,
            file: Some(path.to_path_buf()),
        }),
        Ok(None) => Ok(Loaded::default()),
        Err((offset, message)) => {
            let (line, column) = line_column(&text, offset);
            Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                message,
            })
        }
    }
}

/// `None` when a pyproject has no `[tool.vigil]`; errors carry a byte offset into `text`.
pub fn parse(text: &str, in_pyproject: bool) -> Result<Option<Config>, (usize, String)> {
    let span_err = |e: toml::de::Error| (e.span().map_or(0, |s| s.start), e.message().to_string());
    if !in_pyproject {
        return toml::from_str(text).map(Some).map_err(span_err);
    }
    #[derive(Deserialize)]
    struct Pyproject {
        tool: Option<Tool>,
    }
    #[derive(Deserialize)]
    struct Tool {
        vigil: Option<Config>,
    }
    let doc: Pyproject = toml::from_str(text).map_err(span_err)?;
    Ok(doc.tool.and_then(|t| t.vigil))
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_is_an_error_with_its_line_and_column() {
        let (offset, message) = parse("jobs = 2\npyhton = \"py\"\n", false).unwrap_err();
        assert_eq!(line_column("jobs = 2\npyhton = \"py\"\n", offset), (2, 1));
        assert!(message.contains("pyhton"), "{message}");
    }

    #[test]
    fn pyproject_without_the_table_is_no_config() {
        assert_eq!(parse("[project]\nname = \"x\"\n", true).unwrap(), None);
        let c = parse("[tool.vigil]\njobs = 3\n", true).unwrap().unwrap();
        assert_eq!(c.jobs, Some(3));
    }
}
