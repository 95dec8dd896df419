//! Durations as people type them (`90s`, `30m`, `2h`, `1d`, `1h30m`, `1h 30m`) for
//! `--every`, and the same notation written back for "next run in 7h 12m".

use chrono::TimeDelta;

const UNITS: [(char, i64); 4] = [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)];

const EXAMPLE: &str = "use a number and a unit (s, m, h, d), like 90s, 30m, 2h or 1h30m";

/// Parses `<number><unit>` pairs, summed; the reason for a rejection is a whole sentence.
pub fn parse_duration(text: &str) -> Result<TimeDelta, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(format!("no duration given; {EXAMPLE}"));
    }
    let mut seconds: i64 = 0;
    let mut rest = trimmed;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return Err(format!("{rest:?} does not start with a number; {EXAMPLE}"));
        }
        let (number, after) = rest.split_at(digits);
        let mut chars = after.chars();
        let Some(unit) = chars.next() else {
            return Err(format!("{number} has no unit; {EXAMPLE}"));
        };
        let scale = UNITS
            .iter()
            .find(|(u, _)| *u == unit)
            .map(|(_, s)| *s)
            .ok_or_else(|| format!("unknown unit {unit:?}; {EXAMPLE}"))?;
        seconds = number
            .parse::<i64>()
            .ok()
            .and_then(|n| n.checked_mul(scale))
            .and_then(|s| s.checked_add(seconds))
            .ok_or_else(|| "is too long".to_string())?;
        // Spaces between pairs are allowed, so `1h 30m` (how waits are written) reads back.
        rest = chars.as_str().trim_start();
    }
    if seconds == 0 {
        return Err("must be longer than zero".to_string());
    }
    // TimeDelta's range is far beyond any i64 seconds count that fits a schedule, but checked.
    TimeDelta::try_seconds(seconds).ok_or_else(|| "is too long".to_string())
}

/// `1d 2h 3m 4s`, leaving out zero units; a part of a second counts as a whole one, so a
/// wait that is about to end still reads `1s`, never `0s`.
pub fn describe_wait(wait: TimeDelta) -> String {
    let whole = wait.num_seconds();
    let seconds = if wait > TimeDelta::seconds(whole) {
        whole + 1
    } else {
        whole.max(0)
    };
    if seconds == 0 {
        return "0s".to_string();
    }
    let mut left = seconds;
    let mut parts = Vec::new();
    for (unit, scale) in UNITS {
        if left >= scale {
            parts.push(format!("{}{unit}", left / scale));
            left %= scale;
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_each_unit_and_combinations() {
        let cases = [
            ("90s", 90),
            ("30m", 1_800),
            ("2h", 7_200),
            ("1d", 86_400),
            ("1h30m", 5_400),
            ("1d2h3m4s", 93_784),
            (" 5m ", 300),
            ("1h 30m", 5_400),
        ];
        for (text, seconds) in cases {
            assert_eq!(
                parse_duration(text),
                Ok(TimeDelta::seconds(seconds)),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_zero_and_garbage_with_a_reason() {
        assert_eq!(
            parse_duration("0s").unwrap_err(),
            "must be longer than zero"
        );
        assert_eq!(
            parse_duration("0h0m").unwrap_err(),
            "must be longer than zero"
        );
        assert!(parse_duration("")
            .unwrap_err()
            .starts_with("no duration given"));
        assert!(parse_duration("30")
            .unwrap_err()
            .starts_with("30 has no unit"));
        assert!(parse_duration("5x")
            .unwrap_err()
            .starts_with("unknown unit 'x'"));
        assert!(parse_duration("abc")
            .unwrap_err()
            .starts_with("\"abc\" does not start with a number"));
        assert!(parse_duration("1h30")
            .unwrap_err()
            .starts_with("30 has no unit"));
        assert!(parse_duration("-5m").is_err());
        assert_eq!(
            parse_duration("99999999999999999999d").unwrap_err(),
            "is too long"
        );
        assert_eq!(
            parse_duration("9999999999999999d").unwrap_err(),
            "is too long"
        );
    }

    #[test]
    fn waits_read_back_in_the_same_units() {
        assert_eq!(describe_wait(TimeDelta::seconds(5_400)), "1h 30m");
        assert_eq!(describe_wait(TimeDelta::seconds(93_784)), "1d 2h 3m 4s");
        assert_eq!(describe_wait(TimeDelta::milliseconds(200)), "1s");
        assert_eq!(describe_wait(TimeDelta::milliseconds(59_001)), "1m");
        assert_eq!(describe_wait(TimeDelta::zero()), "0s");
        assert_eq!(describe_wait(TimeDelta::seconds(-3)), "0s");
    }
}
