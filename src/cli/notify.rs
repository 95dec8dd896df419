//! `vigil trends --notify-command CMD` / `--notify-url URL`: when `--fail-on` found something,
//! the alert goes to a command, a webhook, or both. A delivery that fails is a warning on
//! stderr: trends still exits 1 for what it found.

use clap::Args;

use vigil::history::{Alert, Trends};
use vigil::report::notify::{check_url, post_json, run_command};

use super::{usage, Failure};

// The variables' values stay out of `--help` (hide_env_values): a webhook URL holds its secret.
#[derive(Args)]
pub struct NotifyArgs {
    /// When --fail-on finds something, run CMD with `sh -c`: the alert (JSON) on its stdin, its
    /// one-line summary in VIGIL_NOTIFY_SUMMARY.
    #[arg(
        long,
        value_name = "CMD",
        env = "VIGIL_NOTIFY_COMMAND",
        hide_env_values = true
    )]
    notify_command: Option<String>,
    /// When --fail-on finds something, POST the alert (JSON) to URL, http or https; Slack and
    /// Mattermost incoming webhooks take it as it is.
    #[arg(
        long,
        value_name = "URL",
        env = "VIGIL_NOTIFY_URL",
        hide_env_values = true
    )]
    notify_url: Option<String>,
}

impl NotifyArgs {
    /// A set but empty variable means none.
    fn command(&self) -> Option<&str> {
        self.notify_command
            .as_deref()
            .filter(|c| !c.trim().is_empty())
    }

    fn url(&self) -> Option<&str> {
        self.notify_url.as_deref().filter(|u| !u.trim().is_empty())
    }

    /// A URL that can never work is a usage error now, not a warning on the night something
    /// is found.
    pub fn check(&self) -> Result<(), Failure> {
        match self.url() {
            Some(url) => check_url(url)
                .map(drop)
                .map_err(|e| usage(anyhow::anyhow!("--notify-url / VIGIL_NOTIFY_URL: {e}"))),
            None => Ok(()),
        }
    }

    /// Sends the alert for those of `kinds` (the `--fail-on` names) that `trends` found, if
    /// any; failures are warnings.
    pub fn send(&self, trends: &Trends, kinds: &[impl AsRef<str>]) {
        if self.command().is_none() && self.url().is_none() {
            return;
        }
        let Some(alert) = Alert::of(trends, kinds) else {
            return;
        };
        let json = match serde_json::to_string(&alert) {
            Ok(json) => json,
            Err(e) => return eprintln!("vigil: warning: no alert sent: {e}"),
        };
        if let Some(command) = self.command() {
            match run_command(command, &json, &alert.text) {
                Ok(()) => eprintln!("vigil: alert sent to --notify-command"),
                Err(e) => eprintln!("vigil: warning: --notify-command: {e}"),
            }
        }
        if let Some(url) = self.url() {
            match post_json(url, &json) {
                Ok(target) => eprintln!("vigil: alert sent to {target}"),
                Err(e) => eprintln!("vigil: warning: --notify-url: {e}"),
            }
        }
    }
}
