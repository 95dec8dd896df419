//! The page: one HTML document with its stylesheet inlined, assembled from sections (summary,
//! failures, charts, changes, flaky). Every user-controlled string goes through `escape`;
//! everything else here is fixed markup.

use crate::history::RunSummary;
use crate::report::history_tables::seconds;
use crate::report::text_table::timestamp;

use super::charts::{
    duration_axis, percent_ticks, LineChart, Series, DURATION_COLORS, TIER_COLORS,
};
use super::data::ReportData;
use super::escape::escape;
use super::failures;

const STYLE: &str = include_str!("style.css");

/// The page runs no script and loads nothing: its own `<style>` and `style` attributes are
/// all it needs. Said to the browser too, so a string that ever slipped past `escape` could
/// still not run, load or submit anything.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

pub fn page(data: &ReportData) -> String {
    let run = &data.run;
    let body = [
        header(run),
        summary(data),
        failures::section(data),
        pass_rate_chart(data),
        duration_chart(data),
        changes(data),
        flaky(data),
    ]
    .concat();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CONTENT_SECURITY_POLICY}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>vigil run #{} — {}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<main>\n\
         {body}<footer>Written by <code>vigil report</code> from the run history.</footer>\n\
         </main>\n</body>\n</html>\n",
        run.id,
        verdict(run).1
    )
}

/// The run's verdict: a CSS class and its word.
fn verdict(run: &RunSummary) -> (&'static str, String) {
    match run.exit_code {
        _ if run.interrupted => ("bad", "interrupted".to_string()),
        0 => ("good", "passed".to_string()),
        1 => ("bad", "failed".to_string()),
        5 => ("meh", "no tests collected".to_string()),
        code => ("bad", format!("exit {code}")),
    }
}

fn header(run: &RunSummary) -> String {
    let (class, word) = verdict(run);
    let mut facts = vec![
        format!("{} UTC", timestamp(run.started_ms)),
        format!("took {}", seconds(run.duration_ms as f64 / 1e3)),
    ];
    if let Some(branch) = &run.branch {
        facts.push(format!("branch <code>{}</code>", escape(branch)));
    }
    if let Some(commit) = &run.commit {
        let dirty = if run.dirty == Some(true) {
            " <span class=\"dirty\">uncommitted changes</span>"
        } else {
            ""
        };
        facts.push(format!(
            "commit <code>{}</code>{dirty}",
            escape(&short(commit))
        ));
    }
    if let Some(profile) = &run.profile {
        facts.push(format!("profile <code>{}</code>", escape(profile)));
    }
    facts.push(format!(
        "tiers {}",
        escape(run.tiers.as_deref().unwrap_or("all"))
    ));
    if run.source != "vigil" {
        facts.push(format!(
            "imported from <code>{}</code>",
            escape(&run.source)
        ));
    }
    format!(
        "<header>\n<h1>vigil run #{} <span class=\"verdict {class}\">{word} · exit {}</span></h1>\n\
         <p class=\"facts\">{}</p>\n</header>\n",
        run.id,
        run.exit_code,
        facts.join(" · ")
    )
}

fn summary(data: &ReportData) -> String {
    let run = &data.run;
    let other = run.total - run.passed - run.failed - run.errors - run.skipped;
    let mut cards = vec![
        ("total", run.total, "tests"),
        ("passed", run.passed, "passed"),
        ("failed", run.failed, "failed"),
        ("errors", run.errors, "errors, crashes, timeouts"),
        ("skipped", run.skipped, "skipped"),
    ];
    if other > 0 {
        cards.push(("other", other, "xfailed / xpassed"));
    }
    let cards: String = cards
        .into_iter()
        .map(|(class, n, label)| {
            format!("<div class=\"card {class}\"><b>{n}</b><span>{label}</span></div>")
        })
        .collect();
    format!("<section class=\"cards\">{cards}</section>\n")
}

/// Run labels for the x axis and the position of the report's run among them.
fn x_axis(data: &ReportData) -> (Vec<String>, Option<usize>) {
    let labels = data
        .trends
        .runs
        .iter()
        .map(|r| format!("#{}", r.id))
        .collect();
    let marker = data
        .chosen
        .then(|| data.trends.runs.iter().position(|r| r.id == data.run.id))
        .flatten();
    (labels, marker)
}

/// Positions of (run id, value) points on the window's x axis.
fn positions(data: &ReportData, points: &[(i64, f64)]) -> Vec<(usize, f64)> {
    points
        .iter()
        .filter_map(|&(id, v)| {
            let index = data.trends.runs.iter().position(|r| r.id == id)?;
            Some((index, v))
        })
        .collect()
}

fn chart_section(id: &str, title: &str, note: &str, chart: String) -> String {
    format!(
        "<section id=\"{id}\">\n<h2>{title}</h2>\n<p class=\"note\">{note}</p>\n\
         <figure>{chart}</figure>\n</section>\n"
    )
}

fn pass_rate_chart(data: &ReportData) -> String {
    let (labels, marker) = x_axis(data);
    let series: Vec<Series> = data
        .trends
        .tiers
        .iter()
        .zip(TIER_COLORS.iter().cycle())
        .map(|(tier, color)| Series {
            label: tier.tier.clone(),
            color,
            points: positions(data, &tier.series),
            format: |v| format!("{:.1}%", v * 100.0),
        })
        .collect();
    let note = format!(
        "Share of passed tests among those that passed or failed, per run; last {} runs of {}.",
        data.trends.runs.len(),
        escape(&data.window)
    );
    let chart = LineChart {
        title: "pass rate by tier",
        x_labels: &labels,
        y_max: 1.0,
        y_ticks: percent_ticks(),
        series,
        marker,
    };
    chart_section("pass-rate", "Pass rate by tier", &note, chart.render())
}

fn duration_chart(data: &ReportData) -> String {
    let (labels, marker) = x_axis(data);
    let max = data
        .durations
        .iter()
        .flat_map(|(_, points)| points.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    let (y_max, y_ticks) = duration_axis(max);
    let series: Vec<Series> = data
        .durations
        .iter()
        .zip(DURATION_COLORS.iter().cycle())
        .map(|((name, points), color)| Series {
            label: name.clone(),
            color,
            points: positions(data, points),
            format: seconds,
        })
        .collect();
    let note = format!(
        "The {} slowest tests by median time over the recent runs, and their time in every \
         run of the window.",
        series.len()
    );
    let chart = LineChart {
        title: "duration of the slowest tests",
        x_labels: &labels,
        y_max,
        y_ticks,
        series,
        marker,
    };
    chart_section("durations", "Slowest tests", &note, chart.render())
}

fn changes(data: &ReportData) -> String {
    let t = &data.trends;
    let mut out = String::from(
        "<section id=\"changes\">\n<h2>Since earlier runs</h2>\n\
         <p class=\"note\">The latest run of the window against each test's previous result.</p>\n\
         <div class=\"grid\">\n",
    );
    let change_rows = |list: &[crate::history::Change], message: bool| -> Vec<Vec<String>> {
        list.iter()
            .map(|c| {
                let mut row = vec![code(&c.test), escape(c.tier.as_deref().unwrap_or(""))];
                if message {
                    row.push(escape(first_line(c.message.as_deref())));
                }
                row
            })
            .collect()
    };
    out += &block(
        "New failures",
        &["test", "tier", "message"],
        change_rows(&t.new_failures, true),
    );
    out += &block("Fixed", &["test", "tier"], change_rows(&t.fixed, false));
    let still = t
        .still_failing
        .iter()
        .map(|s| {
            vec![
                code(&s.test),
                format!(
                    "#{}{} · {}",
                    s.since_run,
                    if s.at_least { " or earlier" } else { "" },
                    timestamp(s.since_ms)
                ),
                s.first_failing_commit
                    .as_deref()
                    .map_or("-".into(), |c| code(&short(c))),
                s.failing_runs.to_string(),
            ]
        })
        .collect();
    out += &block(
        "Still failing",
        &["test", "since", "first failing commit", "runs"],
        still,
    );
    let regressions = t
        .regressions
        .iter()
        .map(|r| {
            let c = &r.comparison;
            vec![
                code(&r.test),
                seconds(c.before_median_ms / 1e3),
                seconds(c.after_median_ms / 1e3),
                format!("{:+.0}%", c.change * 100.0),
                format!("#{}", r.since_run),
            ]
        })
        .collect();
    out += &block(
        "Duration regressions",
        &["test", "before", "after", "change", "since"],
        regressions,
    );
    out + "</div>\n</section>\n"
}

fn flaky(data: &ReportData) -> String {
    let rows = data
        .trends
        .flaky
        .iter()
        .map(|f| {
            let commits = f.commits.iter().map(|c| code(&short(c)));
            let commits: Vec<String> = commits.chain(f.series.iter().map(|s| code(s))).collect();
            vec![
                code(&f.test),
                escape(f.tier.as_deref().unwrap_or("")),
                format!("{:.0}%", f.flip_rate * 100.0),
                format!("{}/{}", f.passes, f.results),
                commits.join(" "),
            ]
        })
        .collect();
    format!(
        "<section id=\"flaky\">\n<h2>Flaky tests</h2>\n<p class=\"note\">Passed and failed on the \
         same commit, or in one <code>--repeat</code> series. Flip rate: verdict changes per result over the window.</p>\n{}</section>\n",
        table(&["test", "tier", "flip rate", "passed", "commits"], rows)
    )
}

/// A titled table with its row count, or "none".
fn block(title: &str, headers: &[&str], rows: Vec<Vec<String>>) -> String {
    format!(
        "<div class=\"block\">\n<h3>{title} <small>{}</small></h3>\n{}</div>\n",
        rows.len(),
        table(headers, rows)
    )
}

/// `cells` are HTML already: callers escape what they put in.
fn table(headers: &[&str], cells: Vec<Vec<String>>) -> String {
    if cells.is_empty() {
        return "<p class=\"none\">none</p>\n".to_string();
    }
    let head: String = headers.iter().map(|h| format!("<th>{h}</th>")).collect();
    let body: String = cells
        .iter()
        .map(|row| {
            let cells: String = row.iter().map(|c| format!("<td>{c}</td>")).collect();
            format!("<tr>{cells}</tr>\n")
        })
        .collect();
    format!("<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>\n")
}

/// The first line of a stored message ("" without one).
fn first_line(message: Option<&str>) -> &str {
    message.and_then(|m| m.lines().next()).unwrap_or("")
}

fn code(text: &str) -> String {
    format!("<code>{}</code>", escape(text))
}

fn short(commit: &str) -> String {
    commit.chars().take(10).collect()
}
