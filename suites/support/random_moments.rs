//! Random moments for the stress trials: a small seeded generator (SplitMix64), so a failing
//! trial can be replayed with `VIGIL_STRESS_SEED=<seed printed in the failure>`.

use std::time::Duration;

pub struct Moments {
    pub seed: u64,
    state: u64,
}

impl Moments {
    /// Seeded from `VIGIL_STRESS_SEED` when set, else from the clock.
    pub fn new() -> Moments {
        let seed = std::env::var("VIGIL_STRESS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64)
            });
        Moments::seeded(seed)
    }

    pub fn seeded(seed: u64) -> Moments {
        Moments { seed, state: seed }
    }

    /// A uniform fraction in [0, 1).
    pub fn fraction(&mut self) -> f64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) as f64 / (u64::MAX as f64 + 1.0)
    }

    /// A moment between `from` and `to` of `span`.
    pub fn within(&mut self, span: Duration, from: f64, to: f64) -> Duration {
        span.mul_f64(from + (to - from) * self.fraction())
    }
}
