//! Unit tier: single stages (discovery, config) on real files in temp dirs.

mod discovery;

use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    let mut trials = Vec::new();
    trials.extend(discovery::trials());
    trials
}
