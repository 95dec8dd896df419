//! `--at HH:MM`: one fire time a day at a wall-clock time, including on the days a
//! daylight-saving change skips or repeats that time.

use chrono::{DateTime, LocalResult, NaiveDateTime, NaiveTime, TimeDelta, TimeZone};

/// `HH:MM` (or `H:MM`), 24-hour.
pub fn parse_time(text: &str) -> Result<NaiveTime, String> {
    let expected = "expected a 24-hour time HH:MM, like 02:00 or 18:30";
    let (hours, minutes) = text
        .trim()
        .split_once(':')
        .ok_or_else(|| expected.to_string())?;
    let number = |part: &str, width: std::ops::RangeInclusive<usize>| {
        let digits = width.contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit());
        digits.then(|| part.parse::<u32>().ok()).flatten()
    };
    let (Some(h), Some(m)) = (number(hours, 1..=2), number(minutes, 2..=2)) else {
        return Err(expected.to_string());
    };
    NaiveTime::from_hms_opt(h, m, 0)
        .ok_or_else(|| format!("{h}:{m:02} is not a time of day; hours run 0-23, minutes 0-59"))
}

/// The first `time` of day strictly after `after`, on its day or the next.
pub fn next_after<Tz: TimeZone>(time: NaiveTime, after: &DateTime<Tz>) -> Option<DateTime<Tz>> {
    let zone = after.timezone();
    let today = after.date_naive();
    // Three days: today, tomorrow, and one more in case tomorrow's time fell in a gap that
    // could not be placed (never for real zones, whose gaps are an hour or less).
    (0..3)
        .filter_map(|days| today.checked_add_signed(TimeDelta::days(days)))
        .filter_map(|day| place(&zone, day.and_time(time)))
        .find(|at| at > after)
}

/// A wall-clock time as an instant. A time that occurs twice (clocks go back) fires at its
/// first occurrence only; a time the clocks skip (clocks go forward) fires when it would have
/// been, an hour on from the same time before the change, so the day's run is not lost.
fn place<Tz: TimeZone>(zone: &Tz, local: NaiveDateTime) -> Option<DateTime<Tz>> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => Some(at),
        LocalResult::None => {
            let hour = TimeDelta::hours(1);
            let before = zone.from_local_datetime(&(local - hour)).earliest()?;
            before.checked_add_signed(hour)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, Utc};

    #[test]
    fn parses_24_hour_times() {
        assert_eq!(
            parse_time("02:00"),
            Ok(NaiveTime::from_hms_opt(2, 0, 0).unwrap())
        );
        assert_eq!(
            parse_time("2:05"),
            Ok(NaiveTime::from_hms_opt(2, 5, 0).unwrap())
        );
        assert_eq!(
            parse_time("23:59"),
            Ok(NaiveTime::from_hms_opt(23, 59, 0).unwrap())
        );
    }

    #[test]
    fn rejects_what_is_not_a_time() {
        let expected = "expected a 24-hour time HH:MM, like 02:00 or 18:30";
        for text in [
            "", "2", "2pm", "02:0", "02:000", "002:00", "02:00:00", "a:bc", "-1:00",
        ] {
            assert_eq!(parse_time(text).unwrap_err(), expected, "{text:?}");
        }
        assert_eq!(
            parse_time("24:00").unwrap_err(),
            "24:00 is not a time of day; hours run 0-23, minutes 0-59"
        );
        assert!(parse_time("12:60").is_err());
    }

    #[test]
    fn later_today_or_else_tomorrow() {
        let time = NaiveTime::from_hms_opt(2, 0, 0).unwrap();
        let at = |d, h, m| Utc.with_ymd_and_hms(2026, 3, d, h, m, 0).unwrap();
        assert_eq!(next_after(time, &at(1, 1, 59)), Some(at(1, 2, 0)));
        // Strictly after: a run that starts at 02:00 is followed by tomorrow's.
        assert_eq!(next_after(time, &at(1, 2, 0)), Some(at(2, 2, 0)));
        assert_eq!(next_after(time, &at(1, 23, 0)), Some(at(2, 2, 0)));
        // Month and year ends roll over.
        let eve = Utc.with_ymd_and_hms(2026, 12, 31, 3, 0, 0).unwrap();
        let new_year = Utc.with_ymd_and_hms(2027, 1, 1, 2, 0, 0).unwrap();
        assert_eq!(next_after(time, &eve), Some(new_year));
    }

    #[test]
    fn the_day_is_the_zones_day() {
        // 23:30 UTC on 1 March is 01:30 on 2 March at +02:00: 02:00 there is 30 minutes on.
        let zone = FixedOffset::east_opt(2 * 3600).unwrap();
        let now = Utc
            .with_ymd_and_hms(2026, 3, 1, 23, 30, 0)
            .unwrap()
            .with_timezone(&zone);
        let next = next_after(NaiveTime::from_hms_opt(2, 0, 0).unwrap(), &now).unwrap();
        assert_eq!(next - now, TimeDelta::minutes(30));
    }
}
