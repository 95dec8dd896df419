//! End-to-end tier: the `vigil` binary as a user types it, exit codes and messages.

mod cli;

use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    cli::trials()
}
