//! `--cron`: standard five-field cron (`"0 2 * * 1-5"`), read with the meaning cron gives it,
//! and evaluated by the `cron` crate.
//!
//! The crate reads a different dialect (Quartz's): seconds first, an optional year last,
//! Sunday = 1 in the day-of-week field, and a day that must match both the day-of-month and
//! the day-of-week fields. So a five-field expression is translated: a `0` seconds field goes
//! in front, the day-of-week field becomes day names, and when both day fields are restricted
//! it becomes two schedules, because cron fires on a day that matches either. Six or seven
//! fields are the crate's own dialect and go to it unchanged; `@daily` and the like too.

use std::str::FromStr;

use chrono::{DateTime, TimeZone};

const NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// A cron expression: the user's text and the crate schedules it stands for (the earliest
/// fire time of any of them is the expression's).
#[derive(Debug, Clone)]
pub struct CronSchedule {
    source: String,
    schedules: Vec<cron::Schedule>,
}

impl CronSchedule {
    pub fn parse(text: &str) -> Result<CronSchedule, String> {
        let source = text.trim().to_string();
        let expressions = crate_expressions(&source)?;
        let schedules = expressions
            .iter()
            .map(|e| cron::Schedule::from_str(e).map_err(|error| error.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CronSchedule { source, schedules })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The earliest fire time strictly after `after`. A wall-clock time that a daylight-saving
    /// change skips does not fire that day (the crate passes over it).
    pub fn next_after<Tz: TimeZone>(&self, after: &DateTime<Tz>) -> Option<DateTime<Tz>> {
        self.schedules
            .iter()
            .filter_map(|s| s.after(after).next())
            .min()
    }
}

/// The crate expressions for the user's text.
fn crate_expressions(source: &str) -> Result<Vec<String>, String> {
    let fields: Vec<&str> = source.split_whitespace().collect();
    match fields.as_slice() {
        [] => Err("no expression given; standard cron has five fields, like \"0 2 * * *\"".into()),
        [shorthand] if shorthand.starts_with('@') => Ok(vec![shorthand_of(shorthand)?]),
        [minute, hour, day, month, weekday] => standard(minute, hour, day, month, weekday),
        [_, _, _, _, _, _] | [_, _, _, _, _, _, _] => Ok(vec![source.to_string()]),
        _ => Err(format!(
            "has {} fields; standard cron has five: minute hour day-of-month month day-of-week",
            fields.len()
        )),
    }
}

/// cron's `@` names the crate lacks are spelled as ones it has; `@reboot` is not a time.
fn shorthand_of(text: &str) -> Result<String, String> {
    match text {
        "@annually" => Ok("@yearly".to_string()),
        "@midnight" => Ok("@daily".to_string()),
        "@reboot" => Err("@reboot is not a time; vigil schedule runs on times only".to_string()),
        other => Ok(other.to_string()),
    }
}

/// A five-field expression in the crate's dialect (one or two expressions).
fn standard(
    minute: &str,
    hour: &str,
    day: &str,
    month: &str,
    weekday: &str,
) -> Result<Vec<String>, String> {
    // The crate wants a seconds field first: standard cron fires at second 0.
    let head = format!("0 {minute} {hour}");
    let weekdays = days_of_week(weekday)?;
    // cron's rule: a field that starts with `*` does not restrict the day; when neither does,
    // a day matching either field fires, which the crate (matching both) needs two schedules for.
    if !day.starts_with('*') && !weekday.starts_with('*') {
        return Ok(vec![
            format!("{head} {day} {month} *"),
            format!("{head} * {month} {weekdays}"),
        ]);
    }
    Ok(vec![format!("{head} {day} {month} {weekdays}")])
}

/// cron's day-of-week field (0-7 with 0 and 7 Sunday, or names; lists, ranges and steps) as
/// a list of day names, which mean the same to the crate whatever its numbering.
fn days_of_week(field: &str) -> Result<String, String> {
    let mut days = [false; 7];
    for item in field.split(',') {
        for day in expand_day_item(item)? {
            days[day % 7] = true;
        }
    }
    if days.iter().all(|d| *d) {
        return Ok("*".to_string());
    }
    let names: Vec<&str> = (0..7).filter(|d| days[*d]).map(|d| NAMES[d]).collect();
    Ok(names.join(","))
}

/// One item of a day-of-week list: `*`, `N`, `N-M`, each optionally `/STEP`; days as 0-7.
fn expand_day_item(item: &str) -> Result<Vec<usize>, String> {
    let bad = |why: &str| format!("day of week {item:?}: {why}");
    let (base, step) = match item.split_once('/') {
        Some((base, step)) => match step.parse::<usize>() {
            Ok(step) if step > 0 => (base, Some(step)),
            _ => return Err(bad("the step must be a whole number above 0")),
        },
        None => (item, None),
    };
    let (first, last) = match (base, base.split_once('-')) {
        ("*", _) => (Some(0), Some(6)),
        (_, Some((from, to))) => (day_number(from, false), day_number(to, true)),
        // `N/STEP` runs from N to the end of the week, as cronie reads it.
        (_, None) => {
            let day = day_number(base, false);
            (day, if step.is_some() { Some(7) } else { day })
        }
    };
    let (Some(first), Some(last)) = (first, last) else {
        return Err(bad("days are 0-7 (0 and 7 are Sunday) or names like MON"));
    };
    if first > last {
        return Err(bad("the range runs backwards"));
    }
    Ok((first..=last).step_by(step.unwrap_or(1)).collect())
}

/// A day as 0 (Sunday) to 7 (Sunday again); the name SUN ends a range as 7, so `FRI-SUN`
/// means Friday to Sunday.
fn day_number(text: &str, range_end: bool) -> Option<usize> {
    if let Ok(number) = text.parse::<usize>() {
        return (number <= 7).then_some(number);
    }
    let index = NAMES.iter().position(|n| n.eq_ignore_ascii_case(text))?;
    Some(if index == 0 && range_end { 7 } else { index })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, FixedOffset, Utc, Weekday};

    fn fires(expr: &str, from: DateTime<Utc>, count: usize) -> Vec<DateTime<Utc>> {
        let schedule = CronSchedule::parse(expr).unwrap();
        let mut times = Vec::new();
        let mut at = from;
        for _ in 0..count {
            at = schedule.next_after(&at).unwrap();
            times.push(at);
        }
        times
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    #[test]
    fn five_fields_get_a_seconds_field() {
        assert_eq!(
            crate_expressions("0 2 * * *"),
            Ok(vec!["0 0 2 * * *".into()])
        );
        let times = fires("0 2 * * *", utc(2026, 3, 1, 2, 0), 2);
        assert_eq!(times, [utc(2026, 3, 2, 2, 0), utc(2026, 3, 3, 2, 0)]);
        let quarter = fires("*/15 * * * *", utc(2026, 3, 1, 10, 7), 3);
        assert_eq!(
            quarter,
            [
                utc(2026, 3, 1, 10, 15),
                utc(2026, 3, 1, 10, 30),
                utc(2026, 3, 1, 10, 45)
            ]
        );
    }

    #[test]
    fn weekday_numbers_are_cron_numbers() {
        // 2 March 2026 is a Monday; 1-5 is Monday to Friday, as in cron (not Sunday to Thursday).
        let weekdays: Vec<Weekday> = fires("0 2 * * 1-5", utc(2026, 3, 1, 0, 0), 6)
            .iter()
            .map(|t| t.weekday())
            .collect();
        use Weekday::*;
        assert_eq!(weekdays, [Mon, Tue, Wed, Thu, Fri, Mon]);
        assert_eq!(days_of_week("0"), Ok("SUN".into()));
        assert_eq!(days_of_week("7"), Ok("SUN".into()));
        assert_eq!(days_of_week("5-7"), Ok("SUN,FRI,SAT".into()));
        assert_eq!(days_of_week("fri-sun"), Ok("SUN,FRI,SAT".into()));
        assert_eq!(days_of_week("*/2"), Ok("SUN,TUE,THU,SAT".into()));
        assert_eq!(days_of_week("1-5/2,0"), Ok("SUN,MON,WED,FRI".into()));
        assert_eq!(days_of_week("5/1"), Ok("SUN,FRI,SAT".into()));
        assert_eq!(days_of_week("0-7"), Ok("*".into()));
        assert_eq!(days_of_week("*"), Ok("*".into()));
    }

    #[test]
    fn both_day_fields_restricted_fire_on_either() {
        // The 1st of the month or any Sunday: Sun 1 Mar, Sun 8 Mar, ..., Wed 1 Apr.
        let days: Vec<u32> = fires("0 2 1 * 0", utc(2026, 2, 28, 0, 0), 6)
            .iter()
            .map(|t| t.day())
            .collect();
        assert_eq!(days, [1, 8, 15, 22, 29, 1]);
        // A `*` first character leaves the day-of-month alone: Sundays only.
        let sundays = fires("0 2 */2 * 0", utc(2026, 2, 28, 0, 0), 2);
        assert!(
            sundays.iter().all(|t| t.weekday() == Weekday::Sun),
            "{sundays:?}"
        );
    }

    #[test]
    fn six_and_seven_fields_and_shorthands_are_the_crates() {
        assert_eq!(
            crate_expressions("30 0 2 * * *"),
            Ok(vec!["30 0 2 * * *".into()])
        );
        let times = fires("30 0 2 * * * 2026", utc(2026, 12, 31, 0, 0), 1);
        assert_eq!(
            times,
            [Utc.with_ymd_and_hms(2026, 12, 31, 2, 0, 30).unwrap()]
        );
        assert_eq!(
            fires("@daily", utc(2026, 3, 1, 10, 0), 1),
            [utc(2026, 3, 2, 0, 0)]
        );
        assert_eq!(
            fires("@midnight", utc(2026, 3, 1, 10, 0), 1),
            [utc(2026, 3, 2, 0, 0)]
        );
    }

    #[test]
    fn local_fields_are_the_zones() {
        let zone = FixedOffset::west_opt(5 * 3600).unwrap();
        let from = zone.with_ymd_and_hms(2026, 3, 1, 3, 0, 0).unwrap();
        let next = CronSchedule::parse("0 2 * * *")
            .unwrap()
            .next_after(&from)
            .unwrap();
        assert_eq!(next, zone.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap());
    }

    #[test]
    fn bad_expressions_say_why() {
        let error = |text: &str| CronSchedule::parse(text).unwrap_err();
        assert_eq!(
            error("0 2 * *"),
            "has 4 fields; standard cron has five: minute hour day-of-month month day-of-week"
        );
        assert!(error("").starts_with("no expression given"));
        assert!(error("0 2 * * 8").starts_with("day of week \"8\": days are 0-7"));
        assert!(error("0 2 * * 5-1").ends_with("the range runs backwards"));
        assert!(error("0 2 * * */0").ends_with("the step must be a whole number above 0"));
        assert!(error("0 2 * * MON#2").starts_with("day of week \"MON#2\""));
        assert!(error("@reboot").starts_with("@reboot is not a time"));
        // What the crate rejects comes back in its words, but it does come back.
        assert!(!error("61 2 * * *").is_empty());
        assert!(!error("0 2 * * * * * *").is_empty());
        assert!(!error("@often").is_empty());
    }

    #[test]
    fn an_expression_that_never_fires_has_no_next_time() {
        let never = CronSchedule::parse("0 0 30 2 *").unwrap();
        assert_eq!(never.next_after(&utc(2026, 1, 1, 0, 0)), None);
    }
}
