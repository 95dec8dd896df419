//! The HTML report is safe to open whatever the tests are called and say: a project whose
//! test ids, failure messages, captured output, skip and xfail reasons and git branch carry
//! script, attribute-breaking, `</script>`, `</style>`, `javascript:` and template payloads
//! is run and reported, and the page is loaded in headless Chromium. No payload may run
//! (each would set `document.title`), none may become an element, each must read as text,
//! and the page must still show what it renders. Two control pages keep the check honest:
//! the same payloads raw do run under the same harness, and the report's own
//! Content-Security-Policy stops a script that got into the page anyway.

use std::path::Path;

use libtest_mimic::{Completion, Failed, Trial};

use crate::support::{self, check, chromium, exited};

pub fn trials() -> Vec<Trial> {
    vec![Trial::ignorable_test(
        "html_safety::hostile_names_and_messages_run_nothing",
        hostile_names_and_messages_run_nothing,
    )]
}

/// Each one sets `document.title` to `pwned` if it ever runs.
const PAYLOADS: [&str; 8] = [
    "<script>document.title='pwned'</script>",
    "\"><img src=x onerror=\"document.title='pwned'\">",
    "'><svg onload=document.title='pwned'>",
    "</script><script>document.title='pwned'</script>",
    "javascript:document.title='pwned'",
    "{{constructor.constructor('document.title=1')()}} ${document.title='pwned'}",
    "</style><img src=x onerror=document.title='pwned'>",
    "</title></textarea><svg/onload=document.title='pwned'>",
];

/// The hostile tests: ids and messages from the payloads, slow enough to be the slowest tests
/// (so they name the duration chart's lines), with hostile output, skip and xfail reasons.
const TESTS: &str = r#"import json, sys, time
from pathlib import Path

import pytest

PAYLOADS = json.loads(Path(__file__).with_name("payloads.json").read_text())


@pytest.mark.parametrize("payload", PAYLOADS, ids=PAYLOADS)
def test_hostile(payload):
    time.sleep(0.02)
    print(payload)
    print(payload, file=sys.stderr)
    assert False, payload


@pytest.mark.skip(reason=PAYLOADS[1])
def test_skipped():
    pass


@pytest.mark.xfail(reason=PAYLOADS[2])
def test_xfails():
    assert False


def test_passes():
    pass
"#;

/// A branch name git accepts that still breaks out of an attribute.
const BRANCH: &str = "x\"><svg/onload=document.title='pwned'>";

fn hostile_names_and_messages_run_nothing() -> Result<Completion, Failed> {
    let Some(browser) = chromium::find() else {
        if std::env::var_os("CI").is_some() {
            return Err("chromium is missing, and CI must have it (.ci/run installs it)".into());
        }
        return Ok(Completion::ignored_with(
            "chromium is missing: install it (Debian: apt-get install chromium) to run this",
        ));
    };
    let dir = tempfile::Builder::new()
        .prefix("vigil-html-safety-")
        .tempdir()?;
    let root = dir.path();
    let page = report(root)?;
    let html = std::fs::read_to_string(&page)?;
    let dom = chromium::dump_dom(&browser, &page)?;
    check_dom(&html, &dom)?;
    controls(&browser, root, &html)?;
    Ok(Completion::Completed)
}

/// Runs the hostile project on its hostile branch and writes its report.
fn report(root: &Path) -> Result<std::path::PathBuf, Failed> {
    std::fs::create_dir_all(root.join("tests"))?;
    std::fs::write(root.join("tests/test_hostile.py"), TESTS)?;
    std::fs::write(
        root.join("tests/payloads.json"),
        serde_json::to_string(&PAYLOADS)?,
    )?;
    support::git_repo(root)?;
    support::git(root, &["checkout", "-q", "-b", BRANCH])?;
    let run = support::vigil(root, &["run", "-j", "2", "--", "-p", "no:cacheprovider"])?;
    exited(&run, 1)?;
    check(
        support::text(&run).contains(&format!("{} failed", PAYLOADS.len())),
        || format!("not every hostile test failed:\n{}", support::text(&run)),
    )?;
    let out = support::vigil(root, &["report", "--html", "report.html"])?;
    exited(&out, 0)?;
    Ok(root.join("report.html"))
}

/// The loaded page: its own title, no element from a payload, every payload as text, and
/// what the page renders still there.
fn check_dom(html: &str, dom: &str) -> Result<(), Failed> {
    let title = head_title(dom);
    check(
        title == head_title(html) && title.starts_with("vigil run #1"),
        || format!("the page's title is {title:?}: a payload ran"),
    )?;
    // Serialized text holds no `<`: a tag here is an element the page has.
    for tag in [
        "<script",
        "<img",
        "<svg onload",
        "<svg/onload",
        "<iframe",
        "<a ",
    ] {
        check(!dom.contains(tag), || {
            let at = dom.find(tag).unwrap_or(0);
            let near = &dom[at.saturating_sub(200)..(at + 200).min(dom.len())];
            format!("the loaded page has a {tag} element from a payload:\n{near}")
        })?;
    }
    for payload in PAYLOADS {
        let text = payload
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        check(dom.contains(&text), || {
            format!("{payload:?} is not on the page as text ({text:?})")
        })?;
    }
    check(
        dom.contains(&BRANCH.replace('<', "&lt;").replace('>', "&gt;")),
        || "the hostile branch is not on the page as text".into(),
    )?;
    let failures = format!("Failures <small>{} in ", PAYLOADS.len());
    // One run: the charts draw a dot per test (a line needs two runs) and a legend.
    let charts = dom.contains("<circle") && dom.contains("<ul class=\"legend\">");
    check(dom.contains(&failures) && charts, || {
        format!("the page lost its failures or charts:\n{dom}")
    })?;
    Ok(())
}

/// The two controls. Without escaping the payloads do run here: a page with them raw gets the
/// title `pwned`. And were one to slip through the escaping, the report's own
/// Content-Security-Policy would stop it: the report with a raw script added keeps its title.
fn controls(browser: &Path, root: &Path, html: &str) -> Result<(), Failed> {
    let raw = root.join("control-raw.html");
    std::fs::write(
        &raw,
        format!(
            "<!DOCTYPE html><html><head><title>control</title></head><body><p>{}</p></body></html>",
            PAYLOADS[1]
        ),
    )?;
    let dom = chromium::dump_dom(browser, &raw)?;
    check(head_title(&dom) == "pwned", || {
        format!("the raw payload did not run, so the check proves nothing:\n{dom}")
    })?;
    let injected = root.join("control-csp.html");
    let script = "<main><script>document.title='pwned'</script>";
    check(html.contains("<main>"), || {
        "the report has no <main>".into()
    })?;
    std::fs::write(&injected, html.replacen("<main>", script, 1))?;
    let dom = chromium::dump_dom(browser, &injected)?;
    check(head_title(&dom).starts_with("vigil run #1"), || {
        format!(
            "a script injected into the report ran (title {:?}): no Content-Security-Policy?",
            head_title(&dom)
        )
    })
}

/// The text of the document's own `<title>` (the first; the charts' SVG titles come later).
fn head_title(document: &str) -> String {
    document
        .split_once("<title>")
        .and_then(|(_, rest)| rest.split_once("</title>"))
        .map(|(title, _)| title.to_string())
        .unwrap_or_default()
}
