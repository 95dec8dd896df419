//! The alert `vigil trends --notify-command` / `--notify-url` sends when `--fail-on` found
//! something: one versioned JSON document whose `text` is a one-line summary, so a Slack or
//! Mattermost incoming webhook takes it as it is, and whose `findings` list what was found.

use serde::Serialize;

use super::flaky::Flaky;
use super::timeline::RunSummary;
use super::trends::{Change, Regression, StillFailing, Trends};

/// The payload's schema version; a change that is not additive bumps it.
pub const ALERT_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub struct Alert<'a> {
    pub version: u32,
    /// `vigil: 2 new failures, 1 flaky on main at abc1234`.
    pub text: String,
    pub branch: Option<&'a str>,
    pub commit: Option<&'a str>,
    /// The latest run of the window.
    pub run: &'a RunSummary,
    pub findings: Findings<'a>,
}

/// The kinds `--fail-on` named, each list as `vigil trends --format json` has it; a kind not
/// named is an empty list.
#[derive(Debug, Serialize)]
pub struct Findings<'a> {
    pub new_failures: &'a [Change],
    pub still_failing: &'a [StillFailing],
    pub flaky: &'a [Flaky],
    pub perf_regressions: &'a [Regression],
}

impl<'a> Alert<'a> {
    /// The alert for those of `kinds` (`--fail-on` names) that `trends` found; `None` when it
    /// found none of them.
    pub fn of(trends: &'a Trends, kinds: &[impl AsRef<str>]) -> Option<Alert<'a>> {
        let named = |kind: &str| kinds.iter().any(|k| k.as_ref() == kind);
        let pick = |kind: &str| named(kind) && trends.has(kind);
        if !kinds.iter().any(|k| trends.has(k.as_ref())) {
            return None;
        }
        let run = trends.runs.last()?;
        let findings = Findings {
            new_failures: if pick("new-failure") {
                &trends.new_failures
            } else {
                &[]
            },
            still_failing: if pick("still-failing") {
                &trends.still_failing
            } else {
                &[]
            },
            flaky: if pick("flaky") { &trends.flaky } else { &[] },
            perf_regressions: if pick("perf-regression") {
                &trends.regressions
            } else {
                &[]
            },
        };
        Some(Alert {
            version: ALERT_VERSION,
            text: summary(&findings, trends.branch.as_deref(), run.commit.as_deref()),
            branch: trends.branch.as_deref(),
            commit: run.commit.as_deref(),
            run,
            findings,
        })
    }
}

/// `vigil: 2 new failures, 1 flaky on main at abc1234` (the commit shortened as git does).
fn summary(findings: &Findings, branch: Option<&str>, commit: Option<&str>) -> String {
    let counts = [
        (findings.new_failures.len(), "new failure", "new failures"),
        (
            findings.still_failing.len(),
            "still failing",
            "still failing",
        ),
        (findings.flaky.len(), "flaky", "flaky"),
        (
            findings.perf_regressions.len(),
            "perf regression",
            "perf regressions",
        ),
    ];
    let parts: Vec<String> = counts
        .iter()
        .filter(|(n, ..)| *n > 0)
        .map(|&(n, one, many)| format!("{n} {}", if n == 1 { one } else { many }))
        .collect();
    let mut text = format!("vigil: {}", parts.join(", "));
    if let Some(branch) = branch {
        text += &format!(" on {branch}");
    }
    if let Some(commit) = commit {
        text += &format!(" at {}", commit.chars().take(7).collect::<String>());
    }
    text
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::events::Outcome;
    use crate::history::{GitInfo, ResultRecord, RunRecord, Store, TrendOptions};

    fn run(started_ms: i64, commit: &str, outcomes: &[(&str, Outcome)]) -> RunRecord {
        let results = outcomes
            .iter()
            .map(|&(test, outcome)| ResultRecord {
                test: test.into(),
                tier: Some("unit".into()),
                outcome,
                duration: Duration::from_millis(1),
                attempt: 1,
                message: outcome.is_failure().then(|| format!("{test} broke")),
                diagnosis: None,
            })
            .collect();
        let mut run = RunRecord {
            started_ms,
            git: GitInfo {
                commit: Some(commit.into()),
                branch: Some("main".into()),
                dirty: Some(false),
            },
            results,
            ..RunRecord::default()
        };
        run.tally_results();
        run
    }

    /// t.py::a and t.py::b break in the latest run; t.py::c flips on commit 1.
    fn trends() -> Trends {
        use Outcome::{Failed, Passed};
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("h.db")).expect("open");
        let c1 = "1111111111111111111111111111111111111111";
        let ok = [("t.py::a", Passed), ("t.py::b", Passed)];
        store
            .record(&run(1, c1, &[ok[0], ok[1], ("t.py::c", Passed)]))
            .expect("run 1");
        store
            .record(&run(2, c1, &[ok[0], ok[1], ("t.py::c", Failed)]))
            .expect("run 2");
        let broken = [
            ("t.py::a", Failed),
            ("t.py::b", Failed),
            ("t.py::c", Passed),
        ];
        store.record(&run(3, "abc1234def", &broken)).expect("run 3");
        Trends::compute(&store, &TrendOptions::default()).expect("trends")
    }

    #[test]
    fn the_alert_holds_what_fail_on_named_and_found() {
        let trends = trends();
        let alert = Alert::of(&trends, &["new-failure", "flaky"]).expect("found");
        assert_eq!(
            alert.text,
            "vigil: 2 new failures, 1 flaky on main at abc1234"
        );
        let value = serde_json::to_value(&alert).expect("json");
        assert_eq!(value["version"], 1);
        assert_eq!(value["commit"], "abc1234def");
        assert_eq!(value["run"]["id"], 3);
        let tests = |key: &str| -> Vec<String> {
            value["findings"][key]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| f["test"].as_str().unwrap_or_default().to_string())
                .collect()
        };
        assert_eq!(tests("new_failures"), ["t.py::a", "t.py::b"]);
        assert_eq!(tests("flaky"), ["t.py::c"]);
        assert_eq!(
            value["findings"]["new_failures"][0]["message"],
            "t.py::a broke"
        );
        // Named, not found: an empty list, as are the kinds not named.
        assert_eq!(tests("perf_regressions"), Vec::<String>::new());
        // Only what was named counts toward the summary.
        let alert = Alert::of(&trends, &["flaky", "still-failing"]).expect("found");
        assert_eq!(alert.text, "vigil: 1 flaky on main at abc1234");
        assert!(alert.findings.new_failures.is_empty());
    }

    #[test]
    fn nothing_named_found_is_no_alert() {
        let trends = trends();
        assert!(Alert::of(&trends, &["perf-regression", "still-failing"]).is_none());
        assert!(Alert::of(&trends, &[] as &[&str]).is_none());
    }
}
