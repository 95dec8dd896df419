//! Stress tier: the same hostile situation many times over. Here: SIGINT at different moments
//! of a run (while workers start, while they collect, mid-test), each checked in full; and
//! history writers racing each other or killed mid-write; a snapshot restore killed
//! part-way and run again.

mod history_writers;
mod snapshot_restore;

use std::time::Duration;

use libtest_mimic::Trial;

use crate::support;

/// Where this tier lives: the harness asks vigil which tier that path is.
pub const FILE: &str = file!();

/// Milliseconds after start: before pytest is up, during collection, mid-test, later.
const DELAYS_MS: [u64; 6] = [20, 120, 350, 700, 1200, 2500];

pub fn trials() -> Vec<Trial> {
    let mut trials: Vec<Trial> = DELAYS_MS
        .iter()
        .map(|&ms| {
            Trial::test(format!("interrupts::sigint_after_{ms}ms"), move || {
                support::interrupt_run("hanging", Duration::from_millis(ms))
            })
        })
        .collect();
    trials.extend(history_writers::trials());
    trials.extend(snapshot_restore::trials());
    trials
}
