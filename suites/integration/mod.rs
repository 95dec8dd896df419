//! Integration tier: vigil driving real pytest processes on the fixture projects.

mod bad_input;
mod diagnosis;
mod fidelity;
mod history;
mod hostile;
mod native;
mod planning;
mod processes;
mod retries;
mod stress;
mod verify;

use libtest_mimic::Trial;

/// Where this tier lives: the harness asks vigil which tier that path is.
pub const FILE: &str = file!();

pub fn trials() -> Vec<Trial> {
    let mut trials = fidelity::trials();
    trials.extend(processes::trials());
    trials.extend(hostile::trials());
    trials.extend(planning::trials());
    trials.extend(native::trials());
    trials.extend(history::trials());
    trials.extend(diagnosis::trials());
    trials.extend(retries::trials());
    trials.extend(verify::trials());
    trials.extend(stress::trials());
    trials.extend(bad_input::trials());
    trials
}
