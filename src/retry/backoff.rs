//! The wait before a retry: fixed or exponential, capped, with optional jitter so workers
//! retrying against one service do not all knock at once.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    /// The wait before the first retry.
    pub delay: Duration,
    /// Double the wait for each further retry.
    pub exponential: bool,
    /// The longest wait.
    pub max: Duration,
    /// Wait a random 50–100 % of the computed delay.
    pub jitter: bool,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            delay: Duration::from_millis(500),
            exponential: true,
            max: Duration::from_secs(10),
            jitter: true,
        }
    }
}

impl Backoff {
    /// The wait before `attempt` (2 for the first retry); `seed` varies the jitter.
    pub fn before(&self, attempt: u32, seed: u64) -> Duration {
        let retry = attempt.saturating_sub(2).min(30);
        let base = if self.exponential {
            self.delay.saturating_mul(1 << retry)
        } else {
            self.delay
        };
        let capped = base.min(self.max);
        if !self.jitter {
            return capped;
        }
        // 50–100 % of the delay, from a cheap hash of the seed: no randomness crate needed.
        let mixed = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17);
        let fraction = 0.5 + (mixed % 1000) as f64 / 2000.0;
        capped.mul_f64(fraction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_doubles_up_to_the_cap_and_fixed_stays() {
        let b = Backoff {
            delay: Duration::from_millis(100),
            exponential: true,
            max: Duration::from_millis(350),
            jitter: false,
        };
        let waits: Vec<u128> = (2..6).map(|a| b.before(a, 0).as_millis()).collect();
        assert_eq!(waits, [100, 200, 350, 350]);
        let fixed = Backoff {
            exponential: false,
            ..b
        };
        assert_eq!(fixed.before(5, 0), Duration::from_millis(100));
    }

    #[test]
    fn jitter_stays_between_half_and_all_of_the_delay() {
        let b = Backoff {
            delay: Duration::from_millis(1000),
            jitter: true,
            ..Backoff::default()
        };
        let waits: Vec<Duration> = (0..50).map(|seed| b.before(2, seed)).collect();
        assert!(waits
            .iter()
            .all(|w| *w >= Duration::from_millis(500) && *w <= Duration::from_millis(1000)));
        assert!(
            waits.iter().any(|w| *w != waits[0]),
            "jitter varies by seed"
        );
    }
}
