//! Stress tier: the same hostile situation many times over. Here: SIGINT and SIGTERM at random
//! moments of a run (starting, collecting, mid-test, writing reports), each checked in full;
//! SIGKILL at random moments of runs with history and snapshots; history writers racing each
//! other or killed mid-write; a snapshot restore killed part-way and run again.

mod crash_consistency;
mod history_writers;
mod interrupts;
mod snapshot_restore;

use libtest_mimic::Trial;

/// Where this tier lives: the harness asks vigil which tier that path is.
pub const FILE: &str = file!();

pub fn trials() -> Vec<Trial> {
    let mut trials = interrupts::trials();
    trials.extend(crash_consistency::trials());
    trials.extend(history_writers::trials());
    trials.extend(snapshot_restore::trials());
    trials
}
