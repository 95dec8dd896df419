//! Performance tier: properties that keep vigil fast, checked without timing anything (these
//! machines are shared and noisy; `cargo xtask bench` measures time against peers).
//! Here: planning by tier, capability and dependency costs no extra pytest process.

use std::path::Path;

use libtest_mimic::Trial;

use crate::support::{self, check, TestResult};

/// Where this tier lives: the harness asks vigil which tier that path is.
pub const FILE: &str = file!();

pub fn trials() -> Vec<Trial> {
    let cases: [(&str, &str, &[&str], usize); 4] = [
        ("plain_run", "tiers", &[], 2),
        ("tier_selection", "tiers", &["--tier", "unit,e2e"], 2),
        ("gated_waves", "tiers", &["--profile", "ci"], 6),
        ("dependencies_and_capabilities", "dependencies", &[], 2),
    ];
    cases
        .into_iter()
        .map(|(name, fixture, args, most)| {
            Trial::test(format!("pytest_processes::{name}"), move || {
                one_collection_per_worker(fixture, args, most)
            })
        })
        .collect()
}

/// Runs vigil with a Python that logs every start, and checks that no start was a separate
/// collection pass and that there were at most `most` (one per worker per wave).
fn one_collection_per_worker(fixture: &str, args: &[&str], most: usize) -> TestResult {
    let dir = support::fixture(fixture)?;
    let log = dir.path().join("python-starts.log");
    let wrapper = logging_python(dir.path(), &log)?;
    let mut full = vec!["run", "-j", "2"];
    full.extend(args);
    full.extend(["--", "-p", "no:cacheprovider"]);
    let out = support::vigil_with_python(dir.path(), &wrapper, &full)?;
    let starts = std::fs::read_to_string(&log).unwrap_or_default();
    let pytest: Vec<&str> = starts.lines().filter(|l| l.contains("-m pytest")).collect();
    check(!pytest.is_empty() && pytest.len() <= most, || {
        format!(
            "{} pytest starts, want 1..={most}:\n{starts}\n{}",
            pytest.len(),
            support::text(&out)
        )
    })?;
    check(!starts.contains("--collect-only"), || {
        format!("a separate collection pass ran:\n{starts}")
    })
}

/// A shell script standing in for Python: it appends its arguments to `log`, then execs the
/// suites' real interpreter.
fn logging_python(dir: &Path, log: &Path) -> Result<std::path::PathBuf, libtest_mimic::Failed> {
    use std::os::unix::fs::PermissionsExt;
    let real = support::python()?;
    let path = dir.join("logging-python");
    let script = format!(
        "#!/bin/sh\necho \"$@\" >> '{}'\nexec '{}' \"$@\"\n",
        log.display(),
        real.display()
    );
    std::fs::write(&path, script)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    Ok(path)
}
