//! Finds pytest's rootdir and configuration file the way pytest itself does
//! (`_pytest/config/findpaths.py`), and reads the options that decide which files are tests.

use std::path::{Path, PathBuf};

use super::DiscoverError;
use super::{args_split, iniformat};

/// The config file names pytest looks for in each directory, in its order.
const CONFIG_NAMES: [&str; 7] = [
    "pytest.toml",
    ".pytest.toml",
    "pytest.ini",
    ".pytest.ini",
    "pyproject.toml",
    "tox.ini",
    "setup.cfg",
];

/// The part of pytest's configuration that decides what gets collected.
#[derive(Debug, Clone, PartialEq)]
pub struct PytestConfig {
    pub rootdir: PathBuf,
    pub inifile: Option<PathBuf>,
    pub python_files: Vec<String>,
    pub testpaths: Vec<String>,
    pub norecursedirs: Vec<String>,
}

/// Values read from a config file, as pytest's "args"/"linelist" options after splitting.
#[derive(Debug, Default)]
struct Options {
    python_files: Option<Vec<String>>,
    testpaths: Option<Vec<String>>,
    norecursedirs: Option<Vec<String>>,
}

/// pytest's `determine_setup` without `-c`/`--rootdir`: `dirs` are the existing path arguments.
pub fn determine(invocation_dir: &Path, dirs: &[PathBuf]) -> Result<PytestConfig, DiscoverError> {
    let ancestor = common_ancestor(invocation_dir, dirs);
    let mut found = locate(std::slice::from_ref(&ancestor))?;
    if found.is_none() {
        if let Some(dir) = ancestor.ancestors().find(|d| d.join("setup.py").is_file()) {
            found = Some((dir.to_path_buf(), None, Options::default()));
        } else if dirs != [ancestor.clone()] {
            found = locate(dirs)?;
        }
    }
    let (rootdir, inifile, options) = found.unwrap_or_else(|| {
        let root = common_ancestor(
            invocation_dir,
            &[invocation_dir.to_path_buf(), ancestor.clone()],
        );
        let root = if root.parent().is_none() {
            ancestor
        } else {
            root
        };
        (root, None, Options::default())
    });
    Ok(PytestConfig {
        rootdir,
        inifile,
        python_files: options
            .python_files
            .unwrap_or_else(|| strings(&["test_*.py", "*_test.py"])),
        testpaths: options.testpaths.unwrap_or_default(),
        norecursedirs: options.norecursedirs.unwrap_or_else(|| {
            strings(&[
                "*.egg",
                ".*",
                "_darcs",
                "build",
                "CVS",
                "dist",
                "node_modules",
                "venv",
                "{arch}",
            ])
        }),
    })
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

type Located = Option<(PathBuf, Option<PathBuf>, Options)>;

/// pytest's `locate_config`: the first directory, walking up from each arg, with a config file
/// that holds pytest configuration; failing that, the first `pyproject.toml` seen.
fn locate(args: &[PathBuf]) -> Result<Located, DiscoverError> {
    let mut first_pyproject: Option<PathBuf> = None;
    for arg in args {
        for base in arg.ancestors() {
            for name in CONFIG_NAMES {
                let path = base.join(name);
                if !path.is_file() {
                    continue;
                }
                if name == "pyproject.toml" && first_pyproject.is_none() {
                    first_pyproject = Some(path.clone());
                }
                if let Some(options) = load(&path)? {
                    return Ok(Some((base.to_path_buf(), Some(path), options)));
                }
            }
        }
    }
    Ok(first_pyproject.map(|p| {
        (
            p.parent().unwrap_or(Path::new("/")).to_path_buf(),
            Some(p),
            Options::default(),
        )
    }))
}

/// Reads one config file; `None` when it holds no pytest configuration.
fn load(path: &Path) -> Result<Option<Options>, DiscoverError> {
    let bytes = std::fs::read(path).map_err(|error| DiscoverError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| not_utf8(path, &e))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    match name {
        "pytest.ini" | ".pytest.ini" => {
            load_ini(path, &text, "pytest").map(|o| Some(o.unwrap_or_default()))
        }
        "tox.ini" => load_ini(path, &text, "pytest"),
        "setup.cfg" => load_setup_cfg(path, &text),
        _ => load_toml(path, &text, name),
    }
}

/// pytest reads config files as UTF-8 (and fails with a traceback when one is not): say where.
fn not_utf8(path: &Path, error: &std::string::FromUtf8Error) -> DiscoverError {
    let at = error.utf8_error().valid_up_to();
    let bytes = error.as_bytes();
    DiscoverError::Config {
        path: path.to_path_buf(),
        line: bytes[..at].iter().filter(|b| **b == b'\n').count() + 1,
        message: format!("byte 0x{:02x} is not UTF-8", bytes[at]),
    }
}

fn load_ini(path: &Path, text: &str, section: &str) -> Result<Option<Options>, DiscoverError> {
    let sections = iniformat::parse(text).map_err(|e| DiscoverError::Config {
        path: path.to_path_buf(),
        line: e.line,
        message: e.message,
    })?;
    let Some(section) = sections.get(section) else {
        return Ok(None);
    };
    // python_files and testpaths/norecursedirs are "args" options: shell-split.
    let get = |key: &str| match section.values.get(key) {
        Some((value, line)) => args_split::split(value)
            .map(Some)
            .ok_or_else(|| unclosed_quote(path, *line, key)),
        None => Ok(None),
    };
    Ok(Some(Options {
        python_files: get("python_files")?,
        testpaths: get("testpaths")?,
        norecursedirs: get("norecursedirs")?,
    }))
}

/// pytest's `shlex.split` stops the run here too ("No closing quotation", exit 4); this says
/// where.
fn unclosed_quote(path: &Path, line: usize, key: &str) -> DiscoverError {
    DiscoverError::Config {
        path: path.to_path_buf(),
        line,
        message: format!("`{key}`: no closing quotation"),
    }
}

/// `[tool:pytest]`; a plain `[pytest]` section there is an error in pytest, so it is here too.
fn load_setup_cfg(path: &Path, text: &str) -> Result<Option<Options>, DiscoverError> {
    let options = load_ini(path, text, "tool:pytest")?;
    if options.is_none() && load_ini(path, text, "pytest")?.is_some() {
        let line = text
            .lines()
            .position(|l| l.trim_start().starts_with("[pytest]"))
            .map_or(1, |i| i + 1);
        let message = "[pytest] section in setup.cfg files is no longer supported, change to [tool:pytest] instead.";
        return Err(DiscoverError::Config {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        });
    }
    Ok(options)
}

fn load_toml(path: &Path, text: &str, name: &str) -> Result<Option<Options>, DiscoverError> {
    let doc: toml::Table = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map_or(0, |s| text[..s.start].lines().count().max(1));
        DiscoverError::Config {
            path: path.to_path_buf(),
            line,
            message: e.message().to_string(),
        }
    })?;
    let table = if name == "pyproject.toml" {
        tool_pytest_table(&doc)
    } else {
        pytest_table(path, &doc, text)?
    };
    let Some(table) = table else {
        return Ok((name != "pyproject.toml").then(Options::default));
    };
    let get = |key: &str| match table.get(key).map(toml_list) {
        Some(None) => {
            let line = text
                .lines()
                .position(|l| l.trim_start().starts_with(key))
                .map_or(1, |i| i + 1);
            Err(unclosed_quote(path, line, key))
        }
        other => Ok(other.flatten()),
    };
    Ok(Some(Options {
        python_files: get("python_files")?,
        testpaths: get("testpaths")?,
        norecursedirs: get("norecursedirs")?,
    }))
}

/// pyproject's `[tool.pytest]` keys (pytest 9's TOML mode) or else `[tool.pytest.ini_options]`;
/// an empty `[tool.pytest]` is no configuration, as in pytest.
fn tool_pytest_table(doc: &toml::Table) -> Option<toml::Table> {
    let tool = doc.get("tool")?.get("pytest")?.as_table()?;
    let native: toml::Table = tool
        .iter()
        .filter(|(k, _)| *k != "ini_options")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !native.is_empty() {
        return Some(native);
    }
    tool.get("ini_options")?.as_table().cloned()
}

/// `pytest.toml`'s `[pytest]` table; options outside any table are pytest's usage error.
fn pytest_table(
    path: &Path,
    doc: &toml::Table,
    text: &str,
) -> Result<Option<toml::Table>, DiscoverError> {
    if let Some(table) = doc.get("pytest").and_then(|t| t.as_table()) {
        return Ok(Some(table.clone()));
    }
    let stray: Vec<&str> = doc
        .iter()
        .filter(|(_, v)| !v.is_table())
        .map(|(k, _)| k.as_str())
        .collect();
    if let Some(first) = stray.first() {
        let line = text
            .lines()
            .position(|l| l.trim_start().starts_with(first))
            .map_or(1, |i| i + 1);
        let message = format!(
            "pytest configuration must be under a [pytest] table (found top-level options: {})",
            stray.join(", ")
        );
        return Err(DiscoverError::Config {
            path: path.to_path_buf(),
            line,
            message,
        });
    }
    Ok(None)
}

/// `None` for a string with an unclosed quote.
fn toml_list(value: &toml::Value) -> Option<Vec<String>> {
    match value {
        toml::Value::Array(items) => Some(
            items
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), String::from))
                .collect(),
        ),
        toml::Value::String(s) => args_split::split(s),
        other => Some(vec![other.to_string()]),
    }
}

/// pytest's `get_common_ancestor`: the deepest directory holding every existing path.
fn common_ancestor(invocation_dir: &Path, paths: &[PathBuf]) -> PathBuf {
    let mut common: Option<PathBuf> = None;
    for path in paths.iter().filter(|p| p.exists()) {
        common = Some(match common {
            None => path.clone(),
            Some(c) if path.starts_with(&c) => c,
            Some(c) if c.starts_with(path) => path.clone(),
            Some(c) => shared_prefix(&c, path),
        });
    }
    match common {
        None => invocation_dir.to_path_buf(),
        Some(c) if c.is_file() => c.parent().map_or(c.clone(), Path::to_path_buf),
        Some(c) => c,
    }
}

fn shared_prefix(a: &Path, b: &Path) -> PathBuf {
    a.components()
        .zip(b.components())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x)
        .collect()
}
