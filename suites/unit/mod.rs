//! Unit tier: single stages (discovery, config) on real files in temp dirs.

mod discovery;

use libtest_mimic::Trial;

/// Where this tier lives: the harness asks vigil which tier that path is.
pub const FILE: &str = file!();

pub fn trials() -> Vec<Trial> {
    let mut trials = Vec::new();
    trials.extend(discovery::trials());
    trials
}
