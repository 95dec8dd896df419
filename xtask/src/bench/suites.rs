//! The real suites: fetched by shared/real-suites/fetch.sh into a cache under target/.

use crate::paths;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::{Command, Stdio};

#[derive(Debug, PartialEq)]
pub struct Suite {
    pub name: String,
    /// Where the suite is run from.
    pub dir: PathBuf,
    /// The suite's own venv python, with pytest, pytest-xdist and its test deps.
    pub python: PathBuf,
}

/// Runs fetch.sh (idempotent, so fast once cached) and returns the suites it reports.
pub fn fetch(names: &[String]) -> Result<Vec<Suite>> {
    let script = paths::repo().join("../shared/real-suites/fetch.sh");
    if !script.exists() {
        bail!(
            "{} not found; the bench needs the shared real-suites list",
            script.display()
        );
    }
    let cache = paths::target_dir().join("real-suites");
    eprintln!(
        "bench: fetching real suites into {} (first time takes a while)",
        cache.display()
    );
    let out = Command::new("bash")
        .arg(&script)
        .arg(&cache)
        .args(names)
        .stderr(Stdio::inherit())
        .output()
        .context("could not run bash")?;
    if !out.status.success() {
        bail!("{} failed ({})", script.display(), out.status);
    }
    let suites = parse(&String::from_utf8_lossy(&out.stdout))?;
    warn_missing(names, &suites);
    Ok(suites)
}

/// Parses fetch.sh's stdout: one `NAME<TAB>SOURCE_DIR<TAB>PYTHON` per line.
pub fn parse(stdout: &str) -> Result<Vec<Suite>> {
    let lines = stdout.lines().filter(|l| !l.trim().is_empty());
    lines.map(parse_line).collect()
}

fn parse_line(line: &str) -> Result<Suite> {
    let fields: Vec<&str> = line.split('\t').collect();
    let [name, dir, python] = fields[..] else {
        bail!("fetch.sh printed `{line}`, expected NAME<TAB>SOURCE_DIR<TAB>PYTHON");
    };
    Ok(Suite {
        name: name.into(),
        dir: dir.into(),
        python: python.into(),
    })
}

/// fetch.sh silently ignores names it does not know; say so instead.
fn warn_missing(names: &[String], suites: &[Suite]) {
    for name in names {
        if !suites.iter().any(|s| &s.name == name) {
            eprintln!("bench: WARNING no suite named `{name}` in real-suites/suites.tsv");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fetch_output() {
        let out = "jinja2\t/c/jinja2\t/c/jinja2/.venv/bin/python\n\nclick\t/c/click\t/c/click/.venv/bin/python\n";
        let suites = parse(out).unwrap();
        assert_eq!(suites.len(), 2);
        assert_eq!(suites[1].name, "click");
        assert_eq!(suites[1].dir, PathBuf::from("/c/click"));
        assert_eq!(suites[1].python, PathBuf::from("/c/click/.venv/bin/python"));
    }

    #[test]
    fn rejects_malformed_lines() {
        assert!(parse("jinja2 /c/jinja2 /c/python\n").is_err());
        assert!(parse("a\tb\tc\td\n").is_err());
    }
}
