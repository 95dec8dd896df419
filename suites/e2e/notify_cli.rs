//! `vigil trends --fail-on ... --notify-url / --notify-command`: the alert POSTed to a real
//! HTTP server on 127.0.0.1 and given to a real shell command, for the fixed history whose
//! latest run has a new failure; nothing sent when nothing is found; a refused connection, an
//! error status or a failing command is a warning and trends still exits 1.

mod server;
mod tls_server;

use std::path::Path;
use std::process::{Command, Output};

use libtest_mimic::{Failed, Trial};
use serde_json::Value;

use super::metrics_cli::{fixed_history, history};
use crate::support::{self, check, exited, TestResult};
use server::OneRequest;
use tls_server::TlsServer;

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test("notify::url_gets_the_alert_as_json", url_alert),
        Trial::test("notify::nothing_found_nothing_sent", nothing_found),
        Trial::test(
            "notify::refused_or_error_status_warns_and_exits_1",
            failed_deliveries,
        ),
        Trial::test(
            "notify::command_gets_the_alert_on_stdin_with_url_too",
            command_alert,
        ),
        Trial::test("notify::a_url_that_cannot_work_is_usage", bad_url),
        Trial::test(
            "notify::https_is_tls_with_the_certificate_checked",
            https_untrusted,
        ),
    ]
}

/// `vigil --history DB trends ARGS` in `dir` with `env`, no proxy or notify settings of the
/// machine's own.
fn trends(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Result<Output, Failed> {
    let mut cmd = Command::new(support::vigil_bin());
    cmd.current_dir(dir).env("NO_COLOR", "1");
    for name in [
        "VIGIL_HISTORY",
        "VIGIL_NOTIFY_COMMAND",
        "VIGIL_NOTIFY_URL",
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        cmd.env_remove(name);
    }
    Ok(cmd
        .envs(env.iter().copied())
        .arg("--history")
        .arg(dir.join("history.db"))
        .arg("trends")
        .args(args)
        .output()?)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The test ids under `findings.KEY` of an alert.
fn finding_tests(alert: &Value, key: &str) -> Vec<String> {
    alert["findings"][key]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| f["test"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn url_alert() -> TestResult {
    let dir = fixed_history()?;
    let server = OneRequest::start(200, "ok")?;
    let port = server.port;
    let url = format!("http://127.0.0.1:{port}/hooks/T0/B0/secret");
    let out = trends(
        dir.path(),
        &[],
        &["--fail-on", "new-failure", "--notify-url", &url],
    )?;
    let request = server.finish()?.ok_or("vigil sent nothing")?;
    exited(&out, 1)?;
    check(
        request.method == "POST" && request.path == "/hooks/T0/B0/secret",
        || format!("{} {}", request.method, request.path),
    )?;
    check(
        request.header("content-type") == Some("application/json"),
        || format!("headers {:?}", request.headers),
    )?;
    let alert: Value = serde_json::from_slice(&request.body)?;
    let commit = history::commit(history::MAIN_RUNS - 1);
    let text = format!("vigil: 1 new failure on main at {}", &commit[..7]);
    check(
        alert["version"] == 1 && alert["text"] == text.as_str(),
        || format!("{alert:#}"),
    )?;
    check(
        alert["branch"] == "main"
            && alert["commit"] == commit.as_str()
            && alert["run"]["id"] == 7
            && alert["run"]["exit_code"] == 1,
        || format!("{alert:#}"),
    )?;
    check(
        finding_tests(&alert, "new_failures") == [history::NEW_FAILURE],
        || format!("{alert:#}"),
    )?;
    // Flaky tests were there, but --fail-on did not name them.
    check(finding_tests(&alert, "flaky").is_empty(), || {
        format!("{alert:#}")
    })?;
    let message = &alert["findings"]["new_failures"][0]["message"];
    check(message == "AssertionError: assert 1.19 == 1.2", || {
        format!("{alert:#}")
    })?;
    // The webhook's secret path stays out of the log.
    let err = stderr(&out);
    let target = format!("alert sent to http://127.0.0.1:{port}\n");
    check(err.contains(&target) && !err.contains("secret"), || err)
}

fn nothing_found() -> TestResult {
    let dir = fixed_history()?;
    let server = OneRequest::start(200, "ok")?;
    let url = format!("http://127.0.0.1:{}/hook", server.port);
    let sent = dir.path().join("sent.json");
    let command = format!("cat > '{}'", sent.display());
    let args = ["--notify-url", &url, "--notify-command", &command];
    // No duration regression in the history: nothing to send, exit 0.
    let mut perf = vec!["--fail-on", "perf-regression"];
    perf.extend(args);
    let quiet = trends(dir.path(), &[], &perf)?;
    exited(&quiet, 0)?;
    // Findings without --fail-on exit 0 and send nothing either.
    let unasked = trends(dir.path(), &[], &args)?;
    exited(&unasked, 0)?;
    let request = server.finish()?;
    check(request.is_none(), || format!("sent {request:?}"))?;
    check(!sent.exists(), || "the command ran".into())?;
    let err = format!("{}{}", stderr(&quiet), stderr(&unasked));
    check(!err.contains("alert"), || err)
}

fn failed_deliveries() -> TestResult {
    let dir = fixed_history()?;
    // A port nothing listens on: bound, then let go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let refused = format!("http://127.0.0.1:{port}/hook");
    let out = trends(
        dir.path(),
        &[],
        &["--fail-on", "new-failure", "--notify-url", &refused],
    )?;
    exited(&out, 1)?;
    let err = stderr(&out);
    check(
        err.contains(&format!(
            "vigil: warning: --notify-url: POST to http://127.0.0.1:{port} failed:"
        )) && err.contains("vigil: trends found: new-failure"),
        || err.clone(),
    )?;
    // The trends themselves are printed as without alerts.
    check(
        String::from_utf8_lossy(&out.stdout).contains(history::NEW_FAILURE),
        || support::text(&out),
    )?;
    let server = OneRequest::start(500, "invalid_payload")?;
    let port = server.port;
    let url = format!("http://127.0.0.1:{port}/hook");
    let out = trends(
        dir.path(),
        &[("VIGIL_NOTIFY_URL", &url)],
        &["--fail-on", "new-failure"],
    )?;
    check(server.finish()?.is_some(), || "vigil sent nothing".into())?;
    exited(&out, 1)?;
    let err = stderr(&out);
    check(
        err.contains(&format!(
            "vigil: warning: --notify-url: POST to http://127.0.0.1:{port} was answered with \
             HTTP 500: invalid_payload"
        )),
        || err.clone(),
    )?;
    let out = trends(
        dir.path(),
        &[],
        &[
            "--fail-on",
            "new-failure",
            "--notify-command",
            "echo oops >&2; exit 3",
        ],
    )?;
    exited(&out, 1)?;
    let err = stderr(&out);
    check(
        err.contains("oops")
            && err.contains(
                "vigil: warning: --notify-command: the notify command failed: exit status: 3",
            ),
        || err,
    )
}

/// The command (from VIGIL_NOTIFY_COMMAND) gets the same document the URL does, and the
/// summary in its environment; what it prints does not spoil `--format json` on stdout.
fn command_alert() -> TestResult {
    let dir = fixed_history()?;
    let server = OneRequest::start(204, "")?;
    let url = format!("http://127.0.0.1:{}/", server.port);
    let sent = dir.path().join("sent.json");
    let summary = dir.path().join("summary.txt");
    let command = format!(
        "echo the command says hello; cat > '{}'; printf '%s' \"$VIGIL_NOTIFY_SUMMARY\" > '{}'",
        sent.display(),
        summary.display()
    );
    let out = trends(
        dir.path(),
        &[("VIGIL_NOTIFY_COMMAND", &command)],
        &[
            "--fail-on",
            "new-failure,flaky,perf-regression",
            "--notify-url",
            &url,
            "--format",
            "json",
        ],
    )?;
    let request = server.finish()?.ok_or("vigil sent nothing to the URL")?;
    exited(&out, 1)?;
    let stdout: Result<Value, _> = serde_json::from_slice(&out.stdout);
    check(stdout.is_ok(), || support::text(&out))?;
    check(stderr(&out).contains("the command says hello"), || {
        support::text(&out)
    })?;
    let document = std::fs::read(&sent)?;
    check(document == request.body, || {
        "the command and the URL got different documents".into()
    })?;
    let alert: Value = serde_json::from_slice(&document)?;
    let commit = history::commit(history::MAIN_RUNS - 1);
    let text = format!("vigil: 1 new failure, 1 flaky on main at {}", &commit[..7]);
    check(alert["text"] == text.as_str(), || format!("{alert:#}"))?;
    check(std::fs::read_to_string(&summary)? == text, || {
        "VIGIL_NOTIFY_SUMMARY is not the text".into()
    })?;
    check(
        finding_tests(&alert, "new_failures") == [history::NEW_FAILURE]
            && finding_tests(&alert, "flaky") == [history::FLAKY]
            && finding_tests(&alert, "perf_regressions").is_empty(),
        || format!("{alert:#}"),
    )?;
    insta::assert_snapshot!("alert_payload", serde_json::to_string_pretty(&alert)?);
    Ok(())
}

fn bad_url() -> TestResult {
    let dir = fixed_history()?;
    for url in ["hooks.example.com/x", "ftp://example.com/hook"] {
        // A usage error even when nothing is found: the flag is wrong whatever the night.
        let out = trends(
            dir.path(),
            &[],
            &["--fail-on", "perf-regression", "--notify-url", url],
        )?;
        exited(&out, 4)?;
        check(
            stderr(&out).contains("--notify-url / VIGIL_NOTIFY_URL:")
                && stderr(&out).contains("is not an http:// or https:// URL"),
            || support::text(&out),
        )?;
    }
    Ok(())
}

/// An https webhook is reached over TLS, and one whose certificate chains to no trusted root
/// is refused (a warning naming the certificate problem), never sent the findings.
fn https_untrusted() -> TestResult {
    let dir = fixed_history()?;
    let server = TlsServer::start()?;
    let port = server.port;
    let url = format!("https://127.0.0.1:{port}/hook");
    let out = trends(
        dir.path(),
        &[],
        &["--fail-on", "new-failure", "--notify-url", &url],
    )?;
    let seen = server.finish()?;
    exited(&out, 1)?;
    let err = stderr(&out);
    check(
        err.contains(&format!(
            "vigil: warning: --notify-url: POST to https://127.0.0.1:{port} failed:"
        )) && err.to_lowercase().contains("certificate"),
        || err.clone(),
    )?;
    check(seen.starts_with("handshake failed"), || {
        format!("the TLS server saw: {seen}")
    })
}
