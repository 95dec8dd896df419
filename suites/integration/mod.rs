//! Integration tier: vigil driving real pytest processes on the fixture projects.

mod fidelity;

use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    fidelity::trials()
}
