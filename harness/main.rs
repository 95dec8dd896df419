//! vigil's own test harness (libtest-mimic, `harness = false`): `cargo test` runs vigil's suites
//! through vigil. The Rust trials of `suites/<tier>/` and the Python tests vigil's discovery
//! finds in `suites/` become libtest trials, each of the kind (tier) vigil's library gives it,
//! so `cargo test -- --list`, filters, `--exact`, `--ignored` and `--test-threads` work as usual.

#[path = "../suites/support/mod.rs"]
mod support;

#[path = "../suites/unit/mod.rs"]
mod unit;

#[path = "../suites/integration/mod.rs"]
mod integration;

#[path = "../suites/e2e/mod.rs"]
mod e2e;

#[path = "../suites/performance/mod.rs"]
mod performance;

#[path = "../suites/stress/mod.rs"]
mod stress;

mod python_suite;

use std::path::Path;

use libtest_mimic::{Arguments, Trial};

fn main() {
    // The vigils the suites start print no CI output, even in CI: no annotations in output
    // the suites compare, no writes to the CI's step summary (tests that want them set them
    // on the child). `CI` itself stays: suites read it.
    for name in vigil::report::ci::OUTPUT_VARS {
        std::env::remove_var(name);
    }
    let args = Arguments::from_args();
    let tiers = vigil::plan::Tiers::new(&Default::default());
    let native: [(&str, Vec<Trial>); 5] = [
        (unit::FILE, unit::trials()),
        (integration::FILE, integration::trials()),
        (e2e::FILE, e2e::trials()),
        (performance::FILE, performance::trials()),
        (stress::FILE, stress::trials()),
    ];
    let mut trials: Vec<Trial> = Vec::new();
    for (file, group) in native {
        // The tier comes from the suite's directory, by vigil's own rule.
        let tier = tiers.of_test(Path::new(file), []).to_string();
        trials.extend(group.into_iter().map(|t| t.with_kind(tier.clone())));
    }
    trials.extend(python_suite::trials());
    libtest_mimic::run(&args, trials).exit();
}
