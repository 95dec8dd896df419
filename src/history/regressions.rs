//! Duration regressions: Welch's t-test on log durations between a test's baseline window and
//! its recent window, reported only when the change is both significant and large enough.
//!
//! Logs, because durations are skewed and multiplicative (a slowdown is "20 % slower", not
//! "+3 ms"); Welch, because the two windows need not have equal variance. The defaults follow
//! Perfherder's idea (a t threshold plus a minimum effect) with a larger minimum change, since
//! test suites run on shared, noisy machines: t ≥ 7 and medians ≥ 10 % apart.

use serde::Serialize;

use super::durations::median;

/// When a difference counts as a regression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegressionRule {
    /// Welch's t on ln(duration), recent over baseline.
    pub min_t: f64,
    /// Recent median ÷ baseline median − 1.
    pub min_change: f64,
}

impl Default for RegressionRule {
    fn default() -> Self {
        RegressionRule {
            min_t: 7.0,
            min_change: 0.10,
        }
    }
}

/// Fewest results on each side for the test to mean anything.
pub const MIN_SAMPLES: usize = 3;

/// The comparison of one test's two windows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub before_median_ms: f64,
    pub after_median_ms: f64,
    /// after ÷ before − 1 (0.25 = 25 % slower).
    pub change: f64,
    pub t: f64,
    pub before_n: usize,
    pub after_n: usize,
}

impl Comparison {
    /// Compares two windows of durations in seconds; `None` with too few samples.
    pub fn of(before: &[f64], after: &[f64]) -> Option<Comparison> {
        if before.len() < MIN_SAMPLES || after.len() < MIN_SAMPLES {
            return None;
        }
        let before_median = median(&mut before.to_vec());
        let after_median = median(&mut after.to_vec());
        Some(Comparison {
            before_median_ms: before_median * 1e3,
            after_median_ms: after_median * 1e3,
            change: if before_median > 0.0 {
                after_median / before_median - 1.0
            } else {
                0.0
            },
            t: welch_t(&logs(before), &logs(after)),
            before_n: before.len(),
            after_n: after.len(),
        })
    }

    pub fn is_regression(&self, rule: &RegressionRule) -> bool {
        self.t >= rule.min_t && self.change >= rule.min_change
    }
}

/// Durations below a microsecond are clamped: a log of zero has no meaning.
fn logs(seconds: &[f64]) -> Vec<f64> {
    seconds.iter().map(|s| s.max(1e-6).ln()).collect()
}

/// Welch's t statistic of `b` against `a` (positive when `b`'s mean is larger). Two windows
/// without any spread that differ give ±∞; identical ones give 0.
pub fn welch_t(a: &[f64], b: &[f64]) -> f64 {
    let (mean_a, var_a) = mean_variance(a);
    let (mean_b, var_b) = mean_variance(b);
    let standard_error = (var_a / a.len() as f64 + var_b / b.len() as f64).sqrt();
    let difference = mean_b - mean_a;
    if standard_error == 0.0 {
        return if difference == 0.0 {
            0.0
        } else {
            difference.signum() * f64::INFINITY
        };
    }
    difference / standard_error
}

/// Mean and unbiased sample variance.
fn mean_variance(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = if values.len() > 1 {
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, variance)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welch_t_matches_a_hand_computed_value() {
        // a: mean 2, var 1; b: mean 5, var 1; se = sqrt(1/3 + 1/3).
        let t = welch_t(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]);
        assert!((t - 3.0 / (2.0f64 / 3.0).sqrt()).abs() < 1e-12, "{t}");
        assert_eq!(welch_t(&[1.0, 1.0], &[1.0, 1.0]), 0.0);
        assert_eq!(welch_t(&[1.0, 1.0], &[2.0, 2.0]), f64::INFINITY);
    }

    #[test]
    fn a_doubling_is_a_regression_and_noise_is_not() {
        let base = [0.100, 0.104, 0.098, 0.101, 0.097];
        let slow = [0.201, 0.198, 0.205, 0.199, 0.202];
        let steady = [0.099, 0.103, 0.100, 0.102, 0.098];
        let rule = RegressionRule::default();
        let doubled = Comparison::of(&base, &slow).unwrap();
        assert!(doubled.is_regression(&rule), "{doubled:?}");
        assert!((doubled.change - 1.0).abs() < 0.05);
        assert!(!Comparison::of(&base, &steady).unwrap().is_regression(&rule));
        // Faster is never a regression.
        assert!(!Comparison::of(&slow, &base).unwrap().is_regression(&rule));
        assert_eq!(Comparison::of(&base[..2], &slow), None);
    }
}
