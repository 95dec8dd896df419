//! Delivering an alert (a JSON document): to a shell command on its stdin, or as an HTTP POST
//! to a webhook (https included). Each way fails with an error that says what failed; a URL's
//! path and credentials never appear in one, since webhook URLs carry their secret there.

use std::io::Write as _;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use ureq::http::Uri;

/// How long a webhook gets, from resolving its host to reading its answer.
pub const POST_TIMEOUT: Duration = Duration::from_secs(10);

/// The most of an error answer's body an error repeats (Slack says what was wrong in it).
const BODY_SHOWN: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("cannot start the notify command with sh: {0}")]
    Spawn(std::io::Error),
    #[error("cannot give the notify command its input: {0}")]
    Stdin(std::io::Error),
    #[error("the notify command failed: {0}")]
    Command(ExitStatus),
    #[error("{0:?} is not an http:// or https:// URL with a host")]
    Url(String),
    #[error("POST to {target} failed: {reason}")]
    Post { target: String, reason: String },
    #[error("POST to {target} was answered with HTTP {status}{body}")]
    Status {
        target: String,
        status: u16,
        body: String,
    },
}

/// Runs `command` with `sh -c`, `json` on its stdin and `summary` in `VIGIL_NOTIFY_SUMMARY`.
/// Its output goes to stderr, so a `--format json` document on stdout stays whole.
pub fn run_command(command: &str, json: &str, summary: &str) -> Result<(), NotifyError> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("VIGIL_NOTIFY_SUMMARY", summary)
        .stdin(Stdio::piped())
        .stdout(Stdio::from(std::io::stderr()))
        .spawn()
        .map_err(NotifyError::Spawn)?;
    let written = match child.stdin.take() {
        // A command that does not read its input closes the pipe early: that is its choice.
        Some(mut stdin) => match stdin.write_all(json.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(NotifyError::Stdin(e)),
            _ => Ok(()),
        },
        None => Ok(()),
    };
    let status = child.wait().map_err(NotifyError::Spawn)?;
    written?;
    if status.success() {
        Ok(())
    } else {
        Err(NotifyError::Command(status))
    }
}

/// The URL parsed, when it is one a POST can go to.
pub fn check_url(url: &str) -> Result<Uri, NotifyError> {
    let uri: Uri = url.parse().map_err(|_| NotifyError::Url(url.to_string()))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(host)) if !host.is_empty() => Ok(uri),
        _ => Err(NotifyError::Url(url.to_string())),
    }
}

/// `scheme://host[:port]`: what errors and messages name a webhook by.
pub fn url_target(uri: &Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or("http");
    let host = uri.host().unwrap_or_default();
    match uri.port_u16() {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    }
}

/// POSTs `json` (`Content-Type: application/json`) to `url`; any answer but 2xx is an error.
/// Proxies come from `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY`, minus `NO_PROXY`. Returns
/// the URL's [`url_target`].
pub fn post_json(url: &str, json: &str) -> Result<String, NotifyError> {
    let uri = check_url(url)?;
    let target = url_target(&uri);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(POST_TIMEOUT))
        .http_status_as_error(false)
        // A redirected POST would arrive as a GET, or not at all: report the 3xx instead.
        .max_redirects(0)
        .build()
        .into();
    let mut response = agent
        .post(uri)
        .header("Content-Type", "application/json")
        .send(json)
        .map_err(|e| NotifyError::Post {
            target: target.clone(),
            reason: e.to_string(),
        })?;
    let status = response.status();
    if status.is_success() {
        return Ok(target);
    }
    let body = response
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_to_string()
        .unwrap_or_default();
    let body: String = body.trim().chars().take(BODY_SHOWN).collect();
    Err(NotifyError::Status {
        target,
        status: status.as_u16(),
        body: if body.is_empty() {
            String::new()
        } else {
            format!(": {body}")
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_targets_hide_path_and_credentials() {
        let uri = check_url("https://user:pw@hooks.example.com/services/T0/B0/SECRET").unwrap();
        assert_eq!(url_target(&uri), "https://hooks.example.com");
        let uri = check_url("http://127.0.0.1:9000/hook?token=x").unwrap();
        assert_eq!(url_target(&uri), "http://127.0.0.1:9000");
        for bad in [
            "hooks.example.com/x",
            "ftp://example.com/",
            "http://",
            "not a url",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_command_gets_the_document_and_its_status_counts() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("got");
        let command = format!(
            "cat > '{}' && printf '%s' \"$VIGIL_NOTIFY_SUMMARY\" >> '{}'",
            out.display(),
            out.display()
        );
        run_command(&command, "{\"a\":1}\n", "the summary").unwrap();
        let got = std::fs::read_to_string(&out).unwrap();
        assert_eq!(got, "{\"a\":1}\nthe summary");
        let error = run_command("exit 3", "{}", "").unwrap_err();
        assert!(error.to_string().contains("exit status: 3"), "{error}");
        // Not reading the input is not a failure.
        run_command("true", &"x".repeat(1 << 20), "").unwrap();
    }
}
