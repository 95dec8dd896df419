//! ISO 8601 timestamps as JUnit writers put them (`2024-01-09T07:50:12.664+00:00`,
//! `2024-01-09T07:50:12.664000`, `...Z`) turned into Unix milliseconds, and days back into
//! dates, without a date crate.

/// Unix milliseconds of an ISO 8601 date-time. A time without a zone is taken as UTC (what CI
/// runners use; older pytest wrote its local time without a zone, and nothing says which).
pub fn parse_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, rest) = text.split_at_checked(10)?;
    let days = days_from_date(date)?;
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let (clock, offset_s) = split_zone(rest)?;
    let clock_ms = clock_ms(clock)?;
    Some(days * 86_400_000 + clock_ms - offset_s * 1000)
}

/// `YYYY-MM-DD` as days since 1970-01-01.
fn days_from_date(date: &str) -> Option<i64> {
    let mut parts = date.split('-');
    let year: i64 = number(parts.next()?, 4)?;
    let month: i64 = number(parts.next()?, 2)?;
    let day: i64 = number(parts.next()?, 2)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// Howard Hinnant's `civil_from_days`: days since the epoch → proleptic Gregorian
/// (year, month, day); the inverse of `days_from_civil`, for showing dates and naming things.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Howard Hinnant's `days_from_civil`: proleptic Gregorian date → days since the epoch.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The clock part and the zone's offset east of UTC in seconds (0 without a zone).
fn split_zone(rest: &str) -> Option<(&str, i64)> {
    if let Some(clock) = rest.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    let Some(at) = rest.rfind(['+', '-']) else {
        return Some((rest, 0));
    };
    let (clock, zone) = rest.split_at(at);
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 && digits.len() != 2 {
        return None;
    }
    let hours: i64 = number(&digits[..2], 2)?;
    let minutes: i64 = if digits.len() == 4 {
        number(&digits[2..], 2)?
    } else {
        0
    };
    Some((clock, sign * (hours * 3600 + minutes * 60)))
}

/// `HH:MM:SS[.fraction]` as milliseconds into the day.
fn clock_ms(clock: &str) -> Option<i64> {
    let (hms, fraction) = clock.split_once(['.', ',']).unwrap_or((clock, ""));
    let mut parts = hms.split(':');
    let h: i64 = number(parts.next()?, 2)?;
    let m: i64 = number(parts.next()?, 2)?;
    let s: i64 = parts.next().map_or(Some(0), |s| number(s, 2))?;
    if parts.next().is_some() || h > 23 || m > 59 || s > 60 {
        return None;
    }
    if !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let millis: String = fraction.chars().chain("000".chars()).take(3).collect();
    Some(((h * 60 + m) * 60 + s) * 1000 + millis.parse::<i64>().ok()?)
}

fn number(text: &str, width: usize) -> Option<i64> {
    (text.len() == width && text.chars().all(|c| c.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::parse_ms;

    #[test]
    fn zones_fractions_and_none() {
        // 2024-01-09T07:50:12.664Z
        let utc = 1_704_786_612_664;
        assert_eq!(parse_ms("2024-01-09T07:50:12.664+00:00"), Some(utc));
        assert_eq!(parse_ms("2024-01-09T07:50:12.664Z"), Some(utc));
        assert_eq!(parse_ms("2024-01-09T07:50:12.664000"), Some(utc));
        assert_eq!(parse_ms("2024-01-09T08:50:12.664+0100"), Some(utc));
        assert_eq!(parse_ms("2024-01-08T23:50:12.664-08:00"), Some(utc));
        assert_eq!(parse_ms("2024-01-09T07:50:12"), Some(utc - 664));
        assert_eq!(parse_ms("1970-01-01T00:00:00"), Some(0));
    }

    #[test]
    fn rejects_what_is_not_a_date_time() {
        for bad in [
            "",
            "yesterday",
            "2024-13-01T00:00:00",
            "2024-01-09",
            "2024-01-09T7:5:1",
        ] {
            assert_eq!(parse_ms(bad), None, "{bad}");
        }
    }
}
