//! Process hygiene: Ctrl-C (a real SIGINT) stops a run with exit 2 and a well-formed JUnit
//! file, and no process started by a run outlives it — after crashes, timeouts or interrupts.

use std::time::Duration;

use libtest_mimic::Trial;

use crate::support::{self, check, TestResult};

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test(
            "processes::sigint_stops_the_run_with_exit_2_and_junit",
            sigint,
        ),
        Trial::test(
            "processes::nothing_survives_crashes_and_timeouts",
            no_leftovers_after_crashes,
        ),
    ]
}

fn sigint() -> TestResult {
    support::interrupt_run("hanging", Duration::from_millis(1500))
}

fn no_leftovers_after_crashes() -> TestResult {
    let crashing = support::fixture("crashing")?;
    let out = support::vigil(
        crashing.path(),
        &["run", "-j", "2", "--", "-p", "no:cacheprovider"],
    )?;
    support::exited(&out, 1)?;
    let hanging = support::fixture("hanging")?;
    let out = support::vigil(
        hanging.path(),
        &[
            "run",
            "-j",
            "2",
            "--timeout",
            "1",
            "--",
            "-p",
            "no:cacheprovider",
        ],
    )?;
    support::exited(&out, 1)?;
    let left: Vec<String> = [crashing.path(), hanging.path()]
        .iter()
        .flat_map(|d| support::processes_in(d))
        .collect();
    check(left.is_empty(), || format!("processes survived: {left:?}"))
}
