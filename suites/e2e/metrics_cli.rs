//! `vigil metrics`: the OpenMetrics text for a fixed history (an insta snapshot), read back by
//! a real parser (prometheus_client's OpenMetrics parser, and its parser of the older text
//! format node_exporter's textfile collector reads), `--output` written whole, and the usage
//! errors of a missing or empty history.

pub mod history;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use libtest_mimic::{Failed, Trial};
use serde_json::Value;

use crate::support::{self, check, exited, TestResult};

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test("metrics::fixed_history_text", fixed_history_snapshot),
        Trial::test(
            "metrics::prometheus_client_parses_the_text",
            parsed_by_prometheus_client,
        ),
        Trial::test("metrics::output_file_is_written_whole", output_file),
        Trial::test(
            "metrics::no_history_no_runs_or_unknown_branch_exit_4",
            usage_errors,
        ),
    ]
}

/// `vigil --history DB metrics ARGS` in `dir`; no Python involved.
pub fn vigil_metrics(dir: &Path, db: &Path, args: &[&str]) -> Result<Output, Failed> {
    Ok(Command::new(support::vigil_bin())
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("VIGIL_HISTORY")
        .arg("--history")
        .arg(db)
        .arg("metrics")
        .args(args)
        .output()?)
}

/// A temp dir holding the fixed history as `history.db`.
pub fn fixed_history() -> Result<tempfile::TempDir, Failed> {
    let dir = tempfile::Builder::new()
        .prefix("vigil-metrics-")
        .tempdir()?;
    history::write(&dir.path().join("history.db"))?;
    Ok(dir)
}

/// The metrics text for the fixed history with `args`.
fn fixed_text(args: &[&str]) -> Result<String, Failed> {
    let dir = fixed_history()?;
    let out = vigil_metrics(dir.path(), &dir.path().join("history.db"), args)?;
    exited(&out, 0)?;
    Ok(String::from_utf8(out.stdout)?)
}

fn fixed_history_snapshot() -> TestResult {
    let text = fixed_text(&[])?;
    insta::assert_snapshot!("metrics_fixed_history", text);
    Ok(())
}

/// Prints each family the OpenMetrics parser reads from stdin as JSON; with `classic`, the
/// parser of the 0.0.4 text format instead. A text either rejects is an exception (exit 1).
const PARSE: &str = r#"
import json, sys
if sys.argv[1] == "classic":
    from prometheus_client.parser import text_string_to_metric_families
else:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
families = [
    {"name": f.name, "type": f.type, "unit": f.unit, "help": f.documentation,
     "samples": [[s.name, s.labels, s.value] for s in f.samples]}
    for f in text_string_to_metric_families(sys.stdin.read())
]
print(json.dumps(families))
"#;

/// The families `parser` (`openmetrics` or `classic`) reads from `text`, or its error.
fn parse(text: &str, parser: &str) -> Result<Result<Vec<Value>, String>, Failed> {
    let python = support::python()?;
    let has_client = Command::new(&python)
        .args(["-c", "import prometheus_client"])
        .output()?;
    check(has_client.status.success(), || {
        format!(
            "{} cannot import prometheus_client: run `cargo xtask setup` (it pins it)",
            python.display()
        )
    })?;
    let mut child = Command::new(&python)
        .args(["-c", PARSE, parser])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        std::io::Write::write_all(&mut stdin, text.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Ok(Err(String::from_utf8_lossy(&out.stderr).into_owned()));
    }
    Ok(Ok(serde_json::from_slice(&out.stdout)?))
}

/// The value of the sample of `family` whose labels include all of `labels`.
fn value(families: &[Value], family: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let family = families.iter().find(|f| f["name"] == family)?;
    family["samples"]
        .as_array()?
        .iter()
        .find(|s| labels.iter().all(|(k, v)| s[1][k] == *v))
        .and_then(|s| s[2].as_f64())
}

fn parsed_by_prometheus_client() -> TestResult {
    let text = fixed_text(&[])?;
    let families = parse(&text, "openmetrics")?.map_err(|e| format!("{e}\n{text}"))?;
    let names: Vec<&str> = families.iter().filter_map(|f| f["name"].as_str()).collect();
    check(
        names
            == [
                "vigil_tests",
                "vigil_test_duration_seconds",
                "vigil_run_duration_seconds",
                "vigil_run_exit_code",
                "vigil_run_end_timestamp_seconds",
                "vigil_run_id",
                "vigil_window_runs",
                "vigil_flaky_tests",
                "vigil_pass_ratio",
            ],
        || format!("families: {names:?}"),
    )?;
    for family in &families {
        let name = family["name"].as_str().unwrap_or_default();
        let unit = family["unit"].as_str().unwrap_or_default();
        let want = ["seconds", "ratio"]
            .into_iter()
            .find(|u| name.ends_with(&format!("_{u}")))
            .unwrap_or("");
        check(family["type"] == "gauge" && unit == want, || {
            format!("{family}")
        })?;
    }
    let main = ("branch", "main");
    let expected = [
        (
            "vigil_tests",
            vec![main, ("tier", "unit"), ("outcome", "failed")],
            1.0,
        ),
        (
            "vigil_tests",
            vec![main, ("tier", "unit"), ("outcome", "passed")],
            2.0,
        ),
        (
            "vigil_tests",
            vec![("tier", "integration"), ("outcome", "skipped")],
            1.0,
        ),
        (
            "vigil_tests",
            vec![("tier", "untiered"), ("outcome", "passed")],
            1.0,
        ),
        (
            "vigil_tests",
            vec![("tier", "e2e"), ("outcome", "timed_out")],
            0.0,
        ),
        ("vigil_run_exit_code", vec![main], 1.0),
        ("vigil_run_duration_seconds", vec![main], 3.25),
        (
            "vigil_run_end_timestamp_seconds",
            vec![main],
            1_772_434_804.005,
        ),
        ("vigil_window_runs", vec![main], 6.0),
        ("vigil_flaky_tests", vec![("tier", "unit")], 1.0),
        ("vigil_flaky_tests", vec![("tier", "e2e")], 0.0),
        ("vigil_pass_ratio", vec![("tier", "unit")], 16.0 / 18.0),
        ("vigil_pass_ratio", vec![("tier", "e2e")], 1.0),
    ];
    for (family, labels, want) in expected {
        let got = value(&families, family, &labels);
        check(got.is_some_and(|v| (v - want).abs() < 1e-9), || {
            format!("{family}{labels:?}: {got:?}, want {want}")
        })?;
    }
    // The test time of a tier in the latest run: 3 + 2 + 11 ms, each 5 × 125 µs slower.
    let unit_time = value(
        &families,
        "vigil_test_duration_seconds",
        &[("tier", "unit")],
    );
    check(
        unit_time.is_some_and(|v| (v - 0.017875).abs() < 1e-9),
        || format!("unit test time {unit_time:?}"),
    )?;
    // The text that fails the parser fails this test: without `# EOF` it is not OpenMetrics.
    let cut = text.trim_end().trim_end_matches("# EOF");
    check(parse(cut, "openmetrics")?.is_err(), || {
        "the parser took a text without # EOF; it checks nothing".into()
    })?;
    // node_exporter's textfile collector reads the older format: gauges there too.
    let classic = parse(&text, "classic")?.map_err(|e| format!("classic parser: {e}"))?;
    check(
        classic.len() == families.len() && classic.iter().all(|f| f["type"] == "gauge"),
        || format!("classic parser: {classic:?}"),
    )?;
    // A branch name with a quote and a backslash comes back as it was.
    let odd = fixed_text(&["--branch", history::ODD_BRANCH])?;
    let families = parse(&odd, "openmetrics")?.map_err(|e| format!("{e}\n{odd}"))?;
    let runs = value(
        &families,
        "vigil_window_runs",
        &[("branch", history::ODD_BRANCH)],
    );
    check(runs == Some(1.0), || odd.clone())
}

/// `--output` relative to `-C`, into a directory that does not exist yet, then again over the
/// file: each time exactly the stdout text, world-readable, and no temp file left beside it.
fn output_file() -> TestResult {
    let dir = fixed_history()?;
    let db = dir.path().join("history.db");
    let stdout = vigil_metrics(dir.path(), &db, &[])?;
    exited(&stdout, 0)?;
    let stdout_text = String::from_utf8_lossy(&stdout.stdout).into_owned();
    let work = dir.path().join("work");
    std::fs::create_dir(&work)?;
    let textfile = dir.path().join("textfile");
    for runs in ["30", "2"] {
        let out = Command::new(support::vigil_bin())
            .current_dir(&work)
            .arg("-C")
            .arg(dir.path())
            .arg("--history")
            .arg(&db)
            .args(["metrics", "--runs", runs, "--output", "textfile/vigil.prom"])
            .output()?;
        exited(&out, 0)?;
        check(out.stdout.is_empty(), || support::text(&out))?;
        let written = std::fs::read_to_string(textfile.join("vigil.prom"))?;
        if runs == "30" {
            check(written == stdout_text, || {
                format!("{written}\n---\n{stdout_text}")
            })?;
        } else {
            // Replaced whole by the narrower window's text.
            check(
                written.contains("\nvigil_window_runs{branch=\"main\"} 2\n")
                    && written.ends_with("\n# EOF\n"),
                || written.clone(),
            )?;
        }
    }
    let names: Vec<String> = std::fs::read_dir(&textfile)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    check(names == ["vigil.prom"], || {
        format!("in the directory: {names:?}")
    })?;
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(textfile.join("vigil.prom"))?
        .permissions()
        .mode();
    check(mode & 0o044 == 0o044, || format!("mode {mode:o}"))
}

fn usage_errors() -> TestResult {
    let dir = tempfile::tempdir()?;
    let missing = vigil_metrics(dir.path(), &dir.path().join("none.db"), &[])?;
    exited(&missing, 4)?;
    check(support::text(&missing).contains("no history at"), || {
        support::text(&missing)
    })?;
    let empty_db = dir.path().join("empty.db");
    vigil::history::Store::open(&empty_db).map_err(|e| e.to_string())?;
    let empty = vigil_metrics(dir.path(), &empty_db, &["--output", "out.prom"])?;
    exited(&empty, 4)?;
    check(
        support::text(&empty).contains("no runs in the history")
            && !dir.path().join("out.prom").exists(),
        || support::text(&empty),
    )?;
    let fixed = fixed_history()?;
    let db = fixed.path().join("history.db");
    let unknown = vigil_metrics(fixed.path(), &db, &["--branch", "nope"])?;
    exited(&unknown, 4)?;
    check(
        support::text(&unknown).contains("no runs of branch \"nope\""),
        || support::text(&unknown),
    )
}
