//! Unit tier: single stages (discovery, config) on real files in temp dirs.

use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    Vec::new()
}
