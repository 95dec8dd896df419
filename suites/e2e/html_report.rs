//! `vigil report --html`: the page for a fixed history (an insta snapshot), a report from real
//! runs that needs no network, the usage errors, and a screenshot in headless Chromium that
//! proves the charts draw.

mod history;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use libtest_mimic::{Completion, Failed, Trial};
use vigil::report::html::{escape, DURATION_COLORS, PLOT_BACKGROUND, TIER_COLORS};

use crate::support::{self, check, chromium, TestResult};

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test("html_report::fixed_history_page", fixed_history_snapshot),
        Trial::test("html_report::run_flag_reports_an_older_run", older_run),
        Trial::test("html_report::no_history_exits_4", no_history),
        Trial::test(
            "html_report::real_runs_make_a_self_contained_page",
            real_runs,
        ),
        Trial::ignorable_test("html_report::charts_render_in_chromium", screenshot),
    ]
}

/// `vigil --history DB report --html OUT ARGS` in `dir`; no Python involved.
fn report(dir: &Path, db: &Path, out: &Path, args: &[&str]) -> Result<Output, Failed> {
    Ok(Command::new(support::vigil_bin())
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("VIGIL_HISTORY")
        .arg("--history")
        .arg(db)
        .args(["report", "--html"])
        .arg(out)
        .args(args)
        .output()?)
}

/// The fixed history's report, written by the CLI; returns the temp dir and the page's path.
fn fixed_report(args: &[&str]) -> Result<(tempfile::TempDir, PathBuf), Failed> {
    let dir = tempfile::Builder::new().prefix("vigil-html-").tempdir()?;
    let db = dir.path().join("history.db");
    history::write(&db)?;
    // A directory that does not exist yet: the report creates it.
    let page = dir.path().join("out/report.html");
    let out = report(dir.path(), &db, &page, args)?;
    support::exited(&out, 0)?;
    Ok((dir, page))
}

fn fixed_history_snapshot() -> TestResult {
    let (_dir, page) = fixed_report(&[])?;
    let html = std::fs::read_to_string(&page)?;
    check(!html.contains("<script"), || "a raw <script> tag".into())?;
    check(html.contains(&escape(history::HOSTILE_TEST)), || {
        "the hostile test id is not in the page, escaped".into()
    })?;
    insta::assert_snapshot!("html_report_fixed_history", html);
    Ok(())
}

/// `--run 4` titles the page with run 4, marks it in the charts, and shows its failures
/// (recorded before diagnosis, so diagnosed from their messages now); an unknown run is a
/// usage error.
fn older_run() -> TestResult {
    let (_dir, page) = fixed_report(&["--run", "4"])?;
    let html = std::fs::read_to_string(&page)?;
    check(html.contains("<h1>vigil run #4 "), || "not run #4".into())?;
    check(html.contains("this report's run"), || {
        "no marker line for the chosen run".into()
    })?;
    let failures = section(&html, "failures");
    check(failures.contains("test_eviction_order"), || {
        format!("run 4's failure is not among its failures:\n{failures}")
    })?;
    check(
        failures.contains("<details class=\"group\" open>")
            && failures.contains("recorded this failure without a diagnosis"),
        || format!("run 4's failure is not in a group diagnosed now:\n{failures}"),
    )?;
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("history.db");
    history::write(&db)?;
    let out = report(
        dir.path(),
        &db,
        &dir.path().join("r.html"),
        &["--run", "99"],
    )?;
    support::exited(&out, 4)?;
    check(support::text(&out).contains("no run #99"), || {
        support::text(&out)
    })
}

fn no_history() -> TestResult {
    let dir = tempfile::tempdir()?;
    let page = dir.path().join("report.html");
    let out = report(dir.path(), &dir.path().join("none.db"), &page, &[])?;
    support::exited(&out, 4)?;
    let text = support::text(&out);
    check(text.contains("no history at") && !page.exists(), || text)
}

/// The `<section id="ID">` of `html` ("" when missing).
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = format!("<section id=\"{id}\">");
    let after = html.split(&start).nth(1).unwrap_or("");
    after.split("</section>").next().unwrap_or("")
}

/// Three real runs of the example in a git repository, then a report: it names the commit and
/// the failing test, and refers to nothing outside itself.
fn real_runs() -> TestResult {
    let dir = support::fixture("example")?;
    let head = support::git_repo(dir.path())?;
    for _ in 0..3 {
        let out = support::vigil(
            dir.path(),
            &["run", "-j", "2", "--", "-p", "no:cacheprovider"],
        )?;
        support::exited(&out, 1)?;
    }
    let out = support::vigil(dir.path(), &["report", "--html", "reports/index.html"])?;
    support::exited(&out, 0)?;
    let html = std::fs::read_to_string(dir.path().join("reports/index.html"))?;
    let commit: String = head.chars().take(10).collect();
    check(html.contains("<h1>vigil run #3 "), || {
        "not the latest run".into()
    })?;
    check(
        html.contains(&format!("commit <code>{commit}</code>")),
        || format!("commit {commit} missing"),
    )?;
    // vigil recorded a diagnosis each time: one assertion group, with all three runs behind it.
    let failures = section(&html, "failures");
    check(failures.contains("test_round_currency_half_up"), || {
        format!("the failing test is missing:\n{failures}")
    })?;
    check(
        failures.contains("<span class=\"badge cat-assertion\">assertion</span>")
            && failures.contains("last run 3 (")
            && failures.contains("3 runs, 1 test"),
        || format!("no assertion group with three runs of history:\n{failures}"),
    )?;
    check(html.matches("<polyline").count() >= 2, || {
        "fewer than two chart lines".into()
    })?;
    for external in [
        "http://", "https://", "<script", "<link", "<img", "@import", "url(",
    ] {
        check(!html.contains(external), || {
            format!("the page refers outside itself: {external}")
        })?;
    }
    Ok(())
}

/// The fixed history's page in headless Chromium: both plot areas are there, every tier's
/// colour covers far more pixels than its legend swatch (18×4 px), and every slow test's
/// more than its swatch and dots together (~530 px): its line was drawn. (Tier lines may
/// hide one another where rates are equal, so theirs is the weaker bound.)
fn screenshot() -> Result<Completion, Failed> {
    let Some(browser) = chromium::find() else {
        if std::env::var_os("CI").is_some() {
            return Err("chromium is missing, and CI must have it (.ci/run installs it)".into());
        }
        return Ok(Completion::ignored_with(
            "chromium is missing: install it (Debian: apt-get install chromium) to run this",
        ));
    };
    let (dir, page) = fixed_report(&[])?;
    let html = std::fs::read_to_string(&page)?;
    let png = dir.path().join("report.png");
    chromium::screenshot(&browser, &page, &png, (1200, 3000))?;
    let reports = support::repo_root().join("reports");
    std::fs::create_dir_all(&reports)?;
    std::fs::copy(&png, reports.join("html-report.png"))?;
    let pixels = chromium::Pixels::read(&png)?;
    check((pixels.width, pixels.height) == (1200, 3000), || {
        format!("a {}×{} screenshot", pixels.width, pixels.height)
    })?;
    let plot = pixels.count(PLOT_BACKGROUND, 1);
    check(plot > 300_000, || {
        format!("the two plot areas cover {plot} px; a blank or missing chart?")
    })?;
    let tiers = ["e2e", "integration", "performance", "unit"];
    let tier_lines = tiers.iter().zip(TIER_COLORS).map(|(t, c)| (*t, c, 400));
    let test_lines = history::SLOWEST.iter().zip(DURATION_COLORS);
    let lines = tier_lines.chain(test_lines.map(|(t, c)| (*t, c, 1200)));
    for (name, color, least) in lines {
        let legend = format!("background:{color}\"></span>{}", escape(name));
        check(html.contains(&legend), || {
            format!("the legend does not give {name} colour {color}")
        })?;
        let n = pixels.count(color, 12);
        check(n >= least, || {
            format!("{name}'s line ({color}) covers only {n} px: the chart did not draw it")
        })?;
    }
    Ok(Completion::Completed)
}
