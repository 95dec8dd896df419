//! The failures section: a count of groups per category, then one block per failure group
//! (biggest first, as `vigil diagnose` lists them) with its category, nature, confidence,
//! fingerprint, error, place, cause, history, recommendations and member tests. The wording
//! comes from the text rendering (`report::diagnosis`) so the two say the same thing.

use std::collections::HashMap;
use std::fmt::Write;

use crate::diagnose::groups::{Group, Member};
use crate::diagnose::Category;
use crate::history::RunResult;
use crate::report::diagnosis::{error_line, history_text, place, plural};
use crate::report::history_tables::seconds;

use super::data::ReportData;
use super::escape::escape;

/// Member tests listed openly per group; the rest fold into a `<details>`.
const SHOWN_TESTS: usize = 10;

/// The `<section id="failures">` of the page.
pub fn section(data: &ReportData) -> String {
    let groups = &data.groups;
    if groups.is_empty() {
        return "<section id=\"failures\">\n<h2>Failures <small>0</small></h2>\n\
                <p class=\"none\">No test failed in this run.</p>\n</section>\n"
            .to_string();
    }
    let count: usize = groups.iter().map(|g| g.tests.len()).sum();
    let mut out = format!(
        "<section id=\"failures\">\n<h2>Failures <small>{count} in {}</small></h2>\n",
        plural(groups.len(), "group")
    );
    out += &category_counts(groups);
    out += "<p class=\"note\">One group per bug: failures share a group when diagnosis gives \
            them the same fingerprint (exception, project frames and normalized message).</p>\n";
    // Member rows show tier, duration and attempts from the run's results.
    let results: HashMap<&str, &RunResult> =
        data.results.iter().map(|r| (r.test.as_str(), r)).collect();
    for group in groups {
        out += &group_block(group, data.run.id, &results);
    }
    out + "</section>\n"
}

/// "3 network · 2 assertion": groups per category, most groups first; ties in the order
/// their first group appears on the page.
fn category_counts(groups: &[Group]) -> String {
    let mut counts: Vec<(Category, usize)> = Vec::new();
    for group in groups {
        let category = group.diagnosis.category;
        match counts.iter_mut().find(|(c, _)| *c == category) {
            Some((_, n)) => *n += 1,
            None => counts.push((category, 1)),
        }
    }
    counts.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
    let badges: Vec<String> = counts
        .into_iter()
        .map(|(category, n)| badge(category, &format!("{n} {}", category.name())))
        .collect();
    format!("<p class=\"categories\">{}</p>\n", badges.join(" · "))
}

/// A category's coloured label; the colours live in style.css (`.cat-NAME`).
fn badge(category: Category, text: &str) -> String {
    format!(
        "<span class=\"badge cat-{}\">{}</span>",
        category.name(),
        escape(text)
    )
}

fn group_block(group: &Group, run_id: i64, results: &HashMap<&str, &RunResult>) -> String {
    let d = &group.diagnosis;
    let mut out = format!(
        "<details class=\"group\" open>\n<summary>{} <span class=\"n\">{}</span> \
         <span class=\"title\">{}</span></summary>\n",
        badge(d.category, d.category.name()),
        plural(group.tests.len(), "test"),
        escape(&error_line(d))
    );
    out += &facts(group, run_id);
    out += &members(&group.tests, results);
    out + "</details>\n"
}

/// The diagnosis as a definition list: verdict, fingerprint, place, cause, history, fix and
/// the recommended actions.
fn facts(group: &Group, run_id: i64) -> String {
    let d = &group.diagnosis;
    let mut rows = vec![
        (
            "diagnosis",
            format!(
                "<span class=\"nature {nature}\">{nature}</span> · {} confident \
                 <span class=\"muted\">(rule <code>{}</code>)</span>",
                percent(d.confidence),
                escape(&d.rule),
                nature = d.nature.name()
            ),
        ),
        (
            "fingerprint",
            format!("<code class=\"fp\">{}</code>", escape(&group.fingerprint)),
        ),
    ];
    if let Some(place) = place(group) {
        rows.push(("where", format!("<code>{}</code>", escape(&place))));
    }
    rows.push(("cause", prose(&d.cause)));
    rows.push((
        "history",
        escape(&history_text(group, Some(run_id)).unwrap_or_default()),
    ));
    if let Some(fix) = group.history.as_ref().and_then(|h| h.fixes.first()) {
        rows.push(("fixed", prose(&fix.note)));
    }
    if !group.recommendations.is_empty() {
        rows.push(("do", actions(group)));
    }
    let rows: String = rows
        .into_iter()
        .map(|(label, value)| format!("<dt>{label}</dt><dd>{value}</dd>\n"))
        .collect();
    format!("<dl class=\"diag\">\n{rows}</dl>\n")
}

/// The recommendations, most confident first, each with its confidence.
fn actions(group: &Group) -> String {
    let items: String = group
        .recommendations
        .iter()
        .map(|r| {
            format!(
                "<li>{} <span class=\"muted\">{}</span></li>\n",
                prose(&r.action),
                percent(r.confidence)
            )
        })
        .collect();
    format!("<ol class=\"actions\">\n{items}</ol>")
}

/// The member tests with their own messages; beyond `SHOWN_TESTS` they fold away, so a bug
/// behind hundreds of tests does not bury the groups after it.
fn members(tests: &[Member], results: &HashMap<&str, &RunResult>) -> String {
    let row = |m: &Member| member(m, results.get(m.test.as_str()).copied());
    let mut out: String = tests.iter().take(SHOWN_TESTS).map(row).collect();
    if tests.len() > SHOWN_TESTS {
        let rest: String = tests.iter().skip(SHOWN_TESTS).map(row).collect();
        let _ = write!(
            out,
            "<details class=\"more\">\n<summary>{}</summary>\n{rest}</details>\n",
            plural(tests.len() - SHOWN_TESTS, "more test")
        );
    }
    out
}

fn member(member: &Member, result: Option<&RunResult>) -> String {
    let mut about = Vec::new();
    if let Some(result) = result {
        about.push(escape(result.tier.as_deref().unwrap_or("untiered")));
        about.push(seconds(result.duration_us as f64 / 1e6));
        if result.attempts > 1 {
            about.push(format!("{} attempts", result.attempts));
        }
    }
    let message = match member.message.as_str() {
        "" => "(no message recorded)",
        message => message,
    };
    format!(
        "<div class=\"case\"><p><span class=\"outcome\">{}</span> <code>{}</code> \
         <span class=\"muted\">{}</span></p>\n<pre>{}</pre></div>\n",
        member.outcome.label(),
        escape(&member.test),
        about.join(" · "),
        escape(message)
    )
}

/// A rule's sentence as HTML: escaped, with its `backquoted` spans (config keys, markers,
/// commands) set as code. Escaping leaves backquotes alone, so the pairs are still there; an
/// unpaired one stays as it is.
fn prose(text: &str) -> String {
    let escaped = escape(text);
    let parts: Vec<&str> = escaped.split('`').collect();
    let mut out = String::with_capacity(escaped.len());
    for (i, part) in parts.iter().enumerate() {
        let quoted = i % 2 == 1;
        let closed = i + 1 < parts.len();
        match (quoted, closed) {
            (true, true) => out += &format!("<code>{part}</code>"),
            (true, false) => out += &format!("`{part}"),
            (false, _) => out += part,
        }
    }
    out
}

fn percent(ratio: f32) -> String {
    format!("{:.0}%", ratio * 100.0)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::diagnose::{Diagnoser, Rules};
    use crate::events::{Outcome, Phase, Problem};
    use crate::history::{GitInfo, ResultRecord, RunRecord, Store};
    use crate::report::diagnosis::{NEW, NOT_RECORDED};
    use crate::report::html::{render_html, HtmlOptions};

    /// Two tests reaching a dead service through one helper: one network bug.
    const REFUSED: &str = "tests/test_api.py:12: in test_call\n    client.request()\n\
        app/client.py:58: in request\n    socket.create_connection((\"localhost\", 8080))\n\
        E   ConnectionRefusedError: [Errno 111] Connection refused";
    const ASSERTED: &str = "tests/test_money.py:14: in test_round\n    \
        assert round_currency(0.125) == 0.13\nE   AssertionError: assert 0.12 == 0.13";

    /// A failure of `test` as `vigil run` records it: diagnosed from `longrepr`, or without a
    /// diagnosis (as an imported or older run has it) when there is none.
    fn failed(test: &str, longrepr: Option<&str>, message: &str) -> ResultRecord {
        let diagnoser = Diagnoser::new(Rules::builtin(), Path::new("/proj"));
        let diagnosis = longrepr.map(|text| {
            let problem = Problem {
                phase: Phase::Call,
                is_error: false,
                message: message.to_string(),
                location: None,
                longrepr: text.to_string(),
            };
            Box::new(diagnoser.diagnose_text(test, Outcome::Failed, &problem))
        });
        ResultRecord {
            test: test.to_string(),
            tier: Some("unit".to_string()),
            outcome: Outcome::Failed,
            duration: Duration::from_millis(4),
            attempt: 1,
            message: Some(message.to_string()),
            diagnosis,
        }
    }

    /// The page for the last of `runs` (run i at commit `c{i+1}`).
    fn page(runs: Vec<Vec<ResultRecord>>) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("h.db")).expect("store");
        for (i, results) in runs.into_iter().enumerate() {
            let mut run = RunRecord {
                started_ms: 1_000 * (i as i64 + 1),
                git: GitInfo {
                    commit: Some(format!("c{}", i + 1)),
                    branch: Some("main".to_string()),
                    dirty: Some(false),
                },
                exit_code: 1,
                results,
                ..RunRecord::default()
            };
            run.tally_results();
            store.record(&run).expect("recorded");
        }
        render_html(&store, &HtmlOptions::default()).expect("page")
    }

    /// The group blocks of the page's failures section, in order.
    fn blocks(html: &str) -> Vec<&str> {
        let section = html.split("<section id=\"failures\">").nth(1).unwrap_or("");
        let section = section.split("</section>").next().unwrap_or("");
        section
            .split("<details class=\"group\" open>")
            .skip(1)
            .collect()
    }

    #[test]
    fn each_failure_group_shows_its_category_history_and_member_tests() {
        let html = page(vec![
            vec![failed(
                "tests/test_api.py::test_get",
                Some(REFUSED),
                "refused get",
            )],
            vec![
                failed("tests/test_api.py::test_get", Some(REFUSED), "refused get"),
                failed(
                    "tests/test_api.py::test_post",
                    Some(REFUSED),
                    "refused post",
                ),
                failed(
                    "tests/test_money.py::test_round",
                    Some(ASSERTED),
                    "assert 0.12",
                ),
            ],
        ]);
        assert!(
            html.contains(
                "<p class=\"categories\"><span class=\"badge cat-network\">1 network</span> · \
             <span class=\"badge cat-assertion\">1 assertion</span></p>"
            ),
            "{html}"
        );
        assert!(html.contains("<h2>Failures <small>3 in 2 groups</small></h2>"));
        let blocks = blocks(&html);
        assert_eq!(blocks.len(), 2, "{html}");
        // The bigger group first, with both its tests and their own messages.
        let network = blocks[0];
        assert!(network.contains("<span class=\"badge cat-network\">network</span>"));
        assert!(network.contains("<span class=\"n\">2 tests</span>"));
        for part in [
            "<code>tests/test_api.py::test_get</code>",
            "<pre>refused get</pre>",
            "<code>tests/test_api.py::test_post</code>",
            "<pre>refused post</pre>",
            "<span class=\"nature transient\">transient</span>",
            "<code>app/client.py:58 in request</code>",
            "first seen run 1 (c1), last run 2 (c2); 2 runs, 2 tests",
            "localhost:8080",
        ] {
            assert!(network.contains(part), "{part} not in\n{network}");
        }
        assert!(!network.contains("test_round"));
        let assertion = blocks[1];
        for part in [
            "<span class=\"badge cat-assertion\">assertion</span>",
            "<span class=\"n\">1 test</span>",
            "<span class=\"nature deterministic\">deterministic</span>",
            "<code>tests/test_money.py::test_round</code>",
            NEW,
            "<ol class=\"actions\">",
        ] {
            assert!(assertion.contains(part), "{part} not in\n{assertion}");
        }
        assert!(!assertion.contains("test_api.py::"), "{assertion}");
    }

    #[test]
    fn a_failure_stored_without_a_diagnosis_is_diagnosed_from_its_message() {
        let message = "ConnectionRefusedError: [Errno 111] Connection refused";
        let html = page(vec![vec![failed(
            "tests/test_api.py::test_get",
            None,
            message,
        )]]);
        let blocks = blocks(&html);
        assert_eq!(blocks.len(), 1, "{html}");
        assert!(blocks[0].contains("<span class=\"badge cat-network\">network</span>"));
        assert!(blocks[0].contains("<code>tests/test_api.py::test_get</code>"));
        assert!(blocks[0].contains(&escape(NOT_RECORDED)));
    }

    #[test]
    fn members_beyond_the_first_ten_fold_away() {
        let run = (0..12)
            .map(|i| {
                failed(
                    &format!("tests/test_api.py::test_{i:02}"),
                    Some(REFUSED),
                    "x",
                )
            })
            .collect();
        let html = page(vec![run]);
        let (open, folded) = html
            .split_once("<details class=\"more\">\n<summary>2 more tests</summary>")
            .unwrap_or_else(|| panic!("no fold in\n{html}"));
        assert_eq!(blocks(open)[0].matches("<div class=\"case\">").count(), 10);
        assert!(open.contains("test_09") && !open.contains("test_10"));
        let folded = folded.split("</details>").next().unwrap_or("");
        assert_eq!(folded.matches("<div class=\"case\">").count(), 2);
        assert!(folded.contains("test_10") && folded.contains("test_11"));
    }

    #[test]
    fn backquoted_spans_in_rule_text_become_code() {
        assert_eq!(
            prose("mark it `requires_service(\"db\")` & `x"),
            "mark it <code>requires_service(&quot;db&quot;)</code> &amp; `x"
        );
        assert_eq!(prose("plain <b>"), "plain &lt;b&gt;");
    }
}
