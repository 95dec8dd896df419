//! vigil's own test harness (libtest-mimic, `harness = false`): gathers the suites in `suites/`
//! by tier and runs them; each trial's kind is its tier, so `cargo test` output shows it.

#[path = "../suites/support/mod.rs"]
mod support;

#[path = "../suites/unit/mod.rs"]
mod unit;

#[path = "../suites/integration/mod.rs"]
mod integration;

#[path = "../suites/e2e/mod.rs"]
mod e2e;

use libtest_mimic::{Arguments, Trial};

fn main() {
    let args = Arguments::from_args();
    let tiers: [(&str, Vec<Trial>); 3] = [
        ("unit", unit::trials()),
        ("integration", integration::trials()),
        ("e2e", e2e::trials()),
    ];
    let trials = tiers
        .into_iter()
        .flat_map(|(tier, trials)| trials.into_iter().map(move |t| t.with_kind(tier)))
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
