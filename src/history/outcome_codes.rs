//! The small integers outcomes are stored as. Passed and failed are 0 and 1, which SQLite
//! stores in no payload bytes at all. Codes are part of the schema: never renumber.

use crate::events::Outcome;

pub fn code(outcome: Outcome) -> i64 {
    match outcome {
        Outcome::Passed => 0,
        Outcome::Failed => 1,
        Outcome::Error => 2,
        Outcome::Skipped => 3,
        Outcome::XFailed => 4,
        Outcome::XPassed => 5,
        Outcome::Crashed => 6,
        Outcome::TimedOut => 7,
    }
}

pub fn outcome(code: i64) -> Option<Outcome> {
    Some(match code {
        0 => Outcome::Passed,
        1 => Outcome::Failed,
        2 => Outcome::Error,
        3 => Outcome::Skipped,
        4 => Outcome::XFailed,
        5 => Outcome::XPassed,
        6 => Outcome::Crashed,
        7 => Outcome::TimedOut,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_round_trips() {
        for o in Outcome::ALL {
            assert_eq!(outcome(code(o)), Some(o));
        }
        assert_eq!(outcome(99), None);
    }
}
