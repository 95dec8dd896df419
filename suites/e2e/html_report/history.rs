//! A made-up but lifelike history, written through the library with fixed timestamps and
//! commits so the report rendered from it is the same on every machine: twelve runs of four
//! tiers with a regression, a fix, flaky tests, a duration regression, one bug failing two
//! tests, and a test id full of HTML. The later runs carry diagnoses of pytest's tracebacks,
//! as `vigil run` records them; the earlier ones, like runs recorded before diagnosis
//! existed, only messages.

use std::path::Path;
use std::time::Duration;

use vigil::diagnose::{Diagnoser, Diagnosis, Rules};
use vigil::events::{Outcome, Phase, Problem};
use vigil::history::{GitInfo, ResultRecord, RunRecord, Store};

pub const RUNS: usize = 12;

/// 2026-01-05 09:00 UTC; runs follow every four hours.
const START_MS: i64 = 1_767_603_600_000;

/// The first run (0-based) recorded with diagnoses.
const DIAGNOSED_FROM: usize = 6;

/// Where the made-up project was checked out.
const ROOT: &str = "/home/ci/shop";

/// The test whose id must come out escaped.
pub const HOSTILE_TEST: &str =
    "tests/unit/test_render.py::test_escape[<script>alert(\"x\")</script>&'y']";

/// (id, tier, typical seconds)
const TESTS: &[(&str, &str, f64)] = &[
    (
        "tests/unit/test_money.py::test_round_currency_down",
        "unit",
        0.004,
    ),
    (
        "tests/unit/test_money.py::test_round_currency_half_up",
        "unit",
        0.003,
    ),
    ("tests/unit/test_money.py::test_apply_tax", "unit", 0.002),
    (
        "tests/unit/test_money.py::test_split_bill_needs_people",
        "unit",
        0.002,
    ),
    ("tests/unit/test_core.py::test_add", "unit", 0.001),
    ("tests/unit/test_core.py::test_divide", "unit", 0.001),
    (
        "tests/unit/test_core.py::test_divide_by_zero",
        "unit",
        0.002,
    ),
    ("tests/unit/test_expr.py::test_precedence", "unit", 0.006),
    ("tests/unit/test_expr.py::test_parentheses", "unit", 0.005),
    (
        "tests/unit/test_cache.py::test_eviction_order",
        "unit",
        0.012,
    ),
    (HOSTILE_TEST, "unit", 0.003),
    (
        "tests/integration/test_db.py::test_migrate_up",
        "integration",
        0.09,
    ),
    (
        "tests/integration/test_db.py::test_rollback",
        "integration",
        0.07,
    ),
    (
        "tests/integration/test_api.py::test_fetch_rates",
        "integration",
        0.11,
    ),
    (
        "tests/integration/test_api.py::test_post_invoice",
        "integration",
        0.13,
    ),
    (
        "tests/integration/test_workflow.py::test_split_bill_with_tax",
        "integration",
        0.05,
    ),
    ("tests/e2e/test_cli.py::test_report_roundtrip", "e2e", 0.45),
    ("tests/e2e/test_cli.py::test_help", "e2e", 0.30),
    ("tests/e2e/test_cli.py::test_version", "e2e", 0.22),
    (
        "tests/performance/test_bench.py::test_parse_large_file",
        "performance",
        0.80,
    ),
    (
        "tests/performance/test_bench.py::test_render_report",
        "performance",
        1.20,
    ),
];

/// Writes the twelve runs into a new database at `path`.
pub fn write(path: &Path) -> Result<(), String> {
    let mut store = Store::open(path).map_err(|e| e.to_string())?;
    let diagnoser = Diagnoser::new(Rules::builtin(), Path::new(ROOT));
    for run in 0..RUNS {
        let diagnoser = (run >= DIAGNOSED_FROM).then_some(&diagnoser);
        store
            .record(&record(run, diagnoser))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn record(run: usize, diagnoser: Option<&Diagnoser>) -> RunRecord {
    let results: Vec<ResultRecord> = TESTS
        .iter()
        .enumerate()
        .map(|(i, &(test, tier, seconds))| {
            let (outcome, message) = verdict(test, run);
            let diagnosis = match (diagnoser, message) {
                (Some(diagnoser), Some(message)) => {
                    Some(diagnose(diagnoser, test, outcome, message))
                }
                _ => None,
            };
            ResultRecord {
                test: test.to_string(),
                tier: Some(tier.to_string()),
                outcome,
                duration: Duration::from_secs_f64(duration(test, seconds, run, i)),
                attempt: 1,
                message: message.map(String::from),
                diagnosis,
            }
        })
        .collect();
    let total: Duration = results.iter().map(|r| r.duration).sum();
    let failed = results.iter().any(|r| r.outcome.is_failure());
    let started_ms = START_MS + run as i64 * 4 * 3_600_000;
    let mut record = RunRecord {
        started_ms,
        ended_ms: started_ms + (total / 2).as_millis() as i64,
        git: GitInfo {
            commit: Some(commit(commit_of(run))),
            branch: Some("main".into()),
            dirty: Some(false),
        },
        profile: Some("ci".into()),
        host: Some("ci-runner-1".into()),
        duration: total / 2,
        exit_code: i32::from(failed),
        source: "vigil".into(),
        results,
        ..RunRecord::default()
    };
    record.tally_results();
    record
}

/// Two runs per commit, so a pass and a failure on one commit make a test flaky; the latest
/// run has a commit of its own (its new failures are new, not flaky).
fn commit_of(run: usize) -> usize {
    if run + 1 == RUNS {
        RUNS
    } else {
        run / 2
    }
}

fn commit(n: usize) -> String {
    let h = (n as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    format!("{h:016x}{:016x}{:08x}", h.rotate_left(17), h >> 32)
}

/// Deterministic ±4 % jitter; the parser benchmark doubles from run 7 on.
fn duration(test: &str, seconds: f64, run: usize, index: usize) -> f64 {
    let jitter = 1.0 + (((run * 37 + index * 11) % 9) as f64 - 4.0) / 100.0;
    let slowdown = if test.ends_with("test_parse_large_file") && run >= 7 {
        2.0
    } else {
        1.0
    };
    seconds * jitter * slowdown
}

fn verdict(test: &str, run: usize) -> (Outcome, Option<&'static str>) {
    let failed = |message| (Outcome::Failed, Some(message));
    match test.rsplit("::").next().unwrap_or(test) {
        "test_round_currency_half_up" if run >= 8 => failed(
            "AssertionError: assert 0.12 == 0.13\n +  where 0.12 = round_currency(0.125)\n\
             \n    def test_round_currency_half_up():\n>       assert round_currency(0.125) == 0.13",
        ),
        "test_eviction_order" if [3, 7, 10].contains(&run) => {
            failed("AssertionError: assert ['b', 'a'] == ['a', 'b']\n  At index 0 diff: 'b' != 'a'")
        }
        name if name.starts_with("test_escape") && run >= 10 => failed(
            "AssertionError: assert '<b>&amp;amp;</b>' == \"<b>&amp;</b>\"\n  - <b>&amp;</b>\n  \
             + <b>&amp;amp;</b>",
        ),
        "test_migrate_up" if run < 4 => (
            Outcome::Error,
            Some("sqlite3.OperationalError: no such column: users.email"),
        ),
        "test_fetch_rates" if run == 11 => failed(
            "ConnectionRefusedError: [Errno 111] Connection refused\n\
             while fetching exchange rates from localhost:8080",
        ),
        "test_post_invoice" if run == 11 => failed(
            "ConnectionRefusedError: [Errno 111] Connection refused\n\
             while posting invoice 2026-0042 to localhost:8080",
        ),
        "test_report_roundtrip" if [1, 5, 9].contains(&run) => failed(
            "TimeoutError: the report page did not finish loading within 5 s",
        ),
        "test_render_report" if run == 5 => (
            Outcome::TimedOut,
            Some("timed out after 10 s (--timeout)"),
        ),
        _ => (Outcome::Passed, None),
    }
}

/// The verdict on a failure as `vigil run` reaches it: from what pytest printed.
fn diagnose(diagnoser: &Diagnoser, test: &str, outcome: Outcome, message: &str) -> Box<Diagnosis> {
    let name = test.rsplit("::").next().unwrap_or(test);
    let problem = Problem {
        phase: Phase::Call,
        is_error: outcome == Outcome::Error,
        message: message.to_string(),
        location: None,
        longrepr: traceback(name).unwrap_or(message).to_string(),
    };
    Box::new(diagnoser.diagnose_text(test, outcome, &problem))
}

/// What pytest printed (`--tb=short`) for each failure `verdict` gives a test; `None` for the
/// timeout, which vigil reports itself (the message is the whole text).
fn traceback(name: &str) -> Option<&'static str> {
    let text = match name {
        "test_round_currency_half_up" => {
            "tests/unit/test_money.py:14: in test_round_currency_half_up\n    \
             assert round_currency(0.125) == 0.13\nE   AssertionError: assert 0.12 == 0.13\n\
             E    +  where 0.12 = round_currency(0.125)"
        }
        "test_eviction_order" => {
            "tests/unit/test_cache.py:31: in test_eviction_order\n    \
             assert cache.keys() == ['a', 'b']\nE   AssertionError: assert ['b', 'a'] == ['a', 'b']\n\
             E     At index 0 diff: 'b' != 'a'"
        }
        name if name.starts_with("test_escape") => {
            "tests/unit/test_render.py:22: in test_escape\n    assert render(markup) == expected\n\
             E   AssertionError: assert '<b>&amp;amp;</b>' == \"<b>&amp;</b>\""
        }
        "test_migrate_up" => {
            "tests/integration/test_db.py:9: in test_migrate_up\n    \
             db.execute(\"SELECT email FROM users\")\n\
             E   sqlite3.OperationalError: no such column: users.email"
        }
        // Both API tests reach the server through one helper: one bug, one group.
        "test_fetch_rates" => {
            "tests/integration/test_api.py:12: in test_fetch_rates\n    \
             rates = client.request(\"GET\", \"/rates\")\n\
             app/client.py:58: in request\n    \
             sock = socket.create_connection((\"localhost\", 8080), timeout=2)\n\
             /usr/lib/python3.12/socket.py:852: in create_connection\n    raise exceptions[0]\n\
             E   ConnectionRefusedError: [Errno 111] Connection refused"
        }
        "test_post_invoice" => {
            "tests/integration/test_api.py:20: in test_post_invoice\n    \
             client.request(\"POST\", \"/invoices\", invoice)\n\
             app/client.py:58: in request\n    \
             sock = socket.create_connection((\"localhost\", 8080), timeout=2)\n\
             /usr/lib/python3.12/socket.py:852: in create_connection\n    raise exceptions[0]\n\
             E   ConnectionRefusedError: [Errno 111] Connection refused"
        }
        "test_report_roundtrip" => {
            "tests/e2e/test_cli.py:40: in test_report_roundtrip\n    page.wait_for_load(5)\n\
             E   TimeoutError: the report page did not finish loading within 5 s"
        }
        _ => return None,
    };
    Some(text)
}

/// The duration chart's tests, slowest first (medians over the last five runs).
pub const SLOWEST: [&str; 5] = [
    "tests/performance/test_bench.py::test_parse_large_file",
    "tests/performance/test_bench.py::test_render_report",
    "tests/e2e/test_cli.py::test_report_roundtrip",
    "tests/e2e/test_cli.py::test_help",
    "tests/e2e/test_cli.py::test_version",
];
