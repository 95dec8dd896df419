//! What diagnosis costs: a generated pytest project of ~2000 failing tests (an assertion, a
//! KeyError in a shared helper, ConnectionRefusedError from a closed local port) run by
//! `vigil run -j 1` against plain pytest on the same project in the same rounds, and
//! `vigil diagnose` on the run vigil recorded. vigil has no switch to turn diagnosis off, so
//! the run's ratio to pytest bounds what diagnosing every failure costs.

use super::diagnosis::{median_wall, parse_diagnosed, run_logged, stdout_of, DIAGNOSE_ROUNDS};
use super::timing;
use crate::cmd;
use anyhow::{Context, Result};
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Test files; each has three parametrized tests (one per failure kind) of CASES cases.
const FILES: usize = 4;
const CASES: usize = 167;
/// Paired rounds of pytest and vigil. One round is two runs of 10–15 s on two cores, and the
/// whole diagnosis section should stay under two minutes, so there are few of them.
const ROUNDS: usize = 2;
/// pytest's own flags, the same for both tools so pytest does the same work under each.
const PYTEST_ARGS: [&str; 3] = ["-p", "no:cacheprovider", "-q"];

const HELPERS: &str = r#"import socket


def price_of(catalog, sku):
    return catalog[sku]


def fetch(port):
    with socket.socket() as sock:
        sock.connect(("127.0.0.1", port))
"#;

const CONFTEST: &str = r#"import socket

import pytest


@pytest.fixture(scope="session")
def closed_port():
    # Bound but not listening: a connect is refused at once, and no one else can take the port.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()
"#;

const PYTEST_INI: &str = "[pytest]\ntestpaths = tests\npythonpath = .\n";

pub struct Cost {
    /// Failures in the recorded run, and their distinct fingerprints.
    pub failures: usize,
    pub fingerprints: usize,
    /// Median wall seconds of each tool, and the median of the per-round ratios.
    pub pytest: f64,
    pub vigil: f64,
    pub ratio: f64,
    pub diagnose: Duration,
}

/// Writes the project into `dir`, times both tools, then `vigil diagnose` on vigil's last run.
pub fn measure(vigil: &Path, python: &Path, dir: &Path, logs: &Path) -> Result<Cost> {
    write_project(dir)?;
    // Untimed: pytest rewrites and caches the test modules once, so neither tool pays for it.
    cmd::run(
        Command::new(python)
            .args(["-m", "pytest", "--collect-only"])
            .args(PYTEST_ARGS)
            .current_dir(dir)
            .stdout(std::process::Stdio::null()),
    )?;
    let (pytest, vigil_s) = time_rounds(vigil, python, dir, logs)?;
    let diagnose_cmd = || {
        let mut cmd = Command::new(vigil);
        cmd.arg("--history").arg(dir.join("h.db"));
        cmd.args(["diagnose", "--format", "json"]).current_dir(dir);
        cmd
    };
    let diagnosed = parse_diagnosed(&stdout_of(&mut diagnose_cmd())?)?;
    let ratios: Vec<f64> = vigil_s.iter().zip(&pytest).map(|(v, p)| v / p).collect();
    let median = |xs: &[f64]| timing::median(xs).context("no timed rounds");
    Ok(Cost {
        failures: diagnosed.failures,
        fingerprints: diagnosed.distinct(),
        pytest: median(&pytest)?,
        vigil: median(&vigil_s)?,
        ratio: median(&ratios)?,
        diagnose: median_wall(diagnose_cmd, DIAGNOSE_ROUNDS)?,
    })
}

fn write_project(dir: &Path) -> Result<()> {
    let tests = dir.join("tests");
    fs::create_dir_all(&tests).with_context(|| format!("creating {}", tests.display()))?;
    let mut files = vec![
        (dir.join("pytest.ini"), PYTEST_INI.to_string()),
        (dir.join("helpers.py"), HELPERS.to_string()),
        (tests.join("conftest.py"), CONFTEST.to_string()),
    ];
    for i in 0..FILES {
        files.push((tests.join(format!("test_bulk_{i}.py")), test_module()));
    }
    for (path, text) in files {
        fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// One test file: the three failure kinds, CASES parameters each.
fn test_module() -> String {
    format!(
        r#"import pytest

import helpers

CASES = range({CASES})


@pytest.mark.parametrize("n", CASES)
def test_total(n):
    assert sum([n, n]) == 2 * n + 1


@pytest.mark.parametrize("n", CASES)
def test_price(n):
    assert helpers.price_of({{}}, f"sku-{{n}}") > 0


@pytest.mark.parametrize("n", CASES)
def test_fetch(n, closed_port):
    helpers.fetch(closed_port)
"#
    )
}

/// ROUNDS rounds of both tools, the first to go alternating; wall seconds (pytest, vigil).
fn time_rounds(
    vigil: &Path,
    python: &Path,
    dir: &Path,
    logs: &Path,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let (mut pytest, mut vigil_s) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        eprintln!("diagnosis cost: round {}/{ROUNDS}", round + 1);
        let mut time_pytest = || -> Result<()> {
            let mut cmd = Command::new(python);
            cmd.args(["-m", "pytest"])
                .args(PYTEST_ARGS)
                .current_dir(dir);
            pytest.push(run_logged(&mut cmd, &logs.join("bulk-pytest.log"))?.as_secs_f64());
            Ok(())
        };
        if round % 2 == 0 {
            time_pytest()?;
        }
        vigil_s.push(time_vigil(vigil, python, dir, logs)?.as_secs_f64());
        if round % 2 == 1 {
            time_pytest()?;
        }
    }
    Ok((pytest, vigil_s))
}

/// `-j 1`: one pytest process, as plain pytest has, so the ratio is vigil's overhead
/// (plugin, diagnosis, history) and not parallelism.
fn time_vigil(vigil: &Path, python: &Path, dir: &Path, logs: &Path) -> Result<Duration> {
    let mut cmd = Command::new(vigil);
    cmd.arg("--history").arg(dir.join("h.db"));
    cmd.args(["run", "-j", "1", "--python"]).arg(python);
    cmd.arg("--").args(PYTEST_ARGS).current_dir(dir);
    run_logged(&mut cmd, &logs.join("bulk-vigil.log"))
}

impl Cost {
    /// [figure, measured] rows for the cost table.
    pub fn rows(&self) -> Vec<[String; 2]> {
        let per_failure_ms = (self.vigil - self.pytest) * 1000.0 / self.failures.max(1) as f64;
        let diagnose_s = self.diagnose.as_secs_f64();
        vec![
            [
                format!("generated project: {FILES} files x 3 tests x {CASES} cases; failures recorded / distinct fingerprints"),
                format!("{} / {}", self.failures, self.fingerprints),
            ],
            [
                format!("`python -m pytest -p no:cacheprovider -q`, median of {ROUNDS}"),
                format!("{:.2} s", self.pytest),
            ],
            [
                format!("`vigil run -j 1 -- -p no:cacheprovider -q` (diagnoses every failure), median of {ROUNDS}"),
                format!("{:.2} s", self.vigil),
            ],
            [
                "ratio vigil/pytest (median of per-round ratios); vigil's extra time per failure".into(),
                format!("{:.2}; {per_failure_ms:+.2} ms", self.ratio),
            ],
            [
                format!("`vigil diagnose` on that run (re-reads the stored diagnoses, groups them), median of {DIAGNOSE_ROUNDS}"),
                format!("{:.0} ms ({:.0} failures/s)", diagnose_s * 1000.0, self.failures as f64 / diagnose_s),
            ],
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_rows_show_ratio_and_throughput() {
        let cost = Cost {
            failures: 2000,
            fingerprints: 6,
            pytest: 10.0,
            vigil: 12.0,
            ratio: 1.2,
            diagnose: Duration::from_millis(50),
        };
        let rows = cost.rows();
        assert_eq!(rows[0][1], "2000 / 6");
        assert_eq!(rows[3][1], "1.20; +1.00 ms");
        assert_eq!(rows[4][1], "50 ms (40000 failures/s)");
    }

    #[test]
    fn test_module_has_three_parametrized_kinds() {
        let text = test_module();
        assert_eq!(text.matches("@pytest.mark.parametrize").count(), 3);
        assert!(text.contains(&format!("range({CASES})")));
        assert!(text.contains(r#"price_of({}, f"sku-{n}")"#));
    }
}
