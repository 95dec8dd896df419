//! End-to-end tier: the `vigil` binary as a user types it, exit codes and messages.

mod changed_cli;
mod ci_output;
mod cli;
mod closed_stdout;
mod history_exchange_cli;
mod html_report;
mod html_safety;
mod metrics_cli;
mod notify_cli;
mod partition_cli;
mod planning_cli;
mod schedule_cli;
mod secrets;
mod snapshot_cli;
mod watch_cli;

use libtest_mimic::Trial;

/// Where this tier lives: the harness asks vigil which tier that path is.
pub const FILE: &str = file!();

pub fn trials() -> Vec<Trial> {
    let mut trials = cli::trials();
    trials.extend(changed_cli::trials());
    trials.extend(ci_output::trials());
    trials.extend(planning_cli::trials());
    trials.extend(html_report::trials());
    trials.extend(metrics_cli::trials());
    trials.extend(notify_cli::trials());
    trials.extend(snapshot_cli::trials());
    trials.extend(schedule_cli::trials());
    trials.extend(watch_cli::trials());
    trials.extend(partition_cli::trials());
    trials.extend(history_exchange_cli::trials());
    trials.extend(secrets::trials());
    trials.extend(html_safety::trials());
    trials.extend(closed_stdout::trials());
    trials
}
