//! When `vigil schedule` runs: `--every 30m`, `--at 02:00` or `--cron "0 2 * * *"`, parsed
//! into one [`Schedule`] whose fire times are computed in any [`TimeZone`] (the command uses
//! local time; the tests use fixed offsets, so they do not depend on the machine's zone).

mod cron_expr;
mod daily;
mod duration;
mod timing;

use std::fmt;

use chrono::{DateTime, NaiveTime, TimeDelta, TimeZone};

pub use cron_expr::CronSchedule;
pub use duration::{describe_wait, parse_duration};
pub use timing::{after_run, Next};

/// A parsed schedule; the text the user gave is kept for messages.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// `--every`: a fixed period, counted from the previous fire time.
    Every(TimeDelta),
    /// `--at HH:MM`: daily at that wall-clock time.
    Daily(NaiveTime),
    /// `--cron`: a cron expression.
    Cron(CronSchedule),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScheduleError {
    #[error("--every {text:?}: {reason}")]
    Every { text: String, reason: String },
    #[error("--at {text:?}: {reason}")]
    At { text: String, reason: String },
    #[error("--cron {text:?}: {reason}")]
    Cron { text: String, reason: String },
}

impl Schedule {
    /// `--every D`: `90s`, `30m`, `2h`, `1d`, `1h30m`; zero and text without units are errors.
    pub fn every(text: &str) -> Result<Schedule, ScheduleError> {
        parse_duration(text)
            .map(Schedule::Every)
            .map_err(|reason| ScheduleError::Every {
                text: text.to_string(),
                reason,
            })
    }

    /// `--at HH:MM`: 24-hour wall-clock time, every day.
    pub fn at(text: &str) -> Result<Schedule, ScheduleError> {
        daily::parse_time(text)
            .map(Schedule::Daily)
            .map_err(|reason| ScheduleError::At {
                text: text.to_string(),
                reason,
            })
    }

    /// `--cron EXPR`: standard five-field cron, or the cron crate's six/seven fields.
    pub fn cron(text: &str) -> Result<Schedule, ScheduleError> {
        CronSchedule::parse(text)
            .map(Schedule::Cron)
            .map_err(|reason| ScheduleError::Cron {
                text: text.to_string(),
                reason,
            })
    }

    /// The first fire time strictly after `after`; `None` when the schedule never fires again
    /// (a cron expression for 30 February).
    pub fn next_after<Tz: TimeZone>(&self, after: &DateTime<Tz>) -> Option<DateTime<Tz>> {
        match self {
            Schedule::Every(period) => after.clone().checked_add_signed(*period),
            Schedule::Daily(time) => daily::next_after(*time, after),
            Schedule::Cron(cron) => cron.next_after(after),
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Every(period) => write!(f, "every {}", describe_wait(*period)),
            Schedule::Daily(time) => write!(f, "daily at {}", time.format("%H:%M")),
            Schedule::Cron(cron) => write!(f, "cron {:?}", cron.source()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, Utc};

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn every_adds_its_period() {
        let schedule = Schedule::every("1h30m").unwrap();
        let next = schedule.next_after(&utc("2026-03-01T10:00:00Z")).unwrap();
        assert_eq!(next, utc("2026-03-01T11:30:00Z"));
    }

    #[test]
    fn daily_in_a_fixed_offset_zone_is_wall_clock_time() {
        let zone = FixedOffset::east_opt(2 * 3600).unwrap();
        let now = zone.with_ymd_and_hms(2026, 3, 1, 1, 0, 0).unwrap();
        let next = Schedule::at("02:00").unwrap().next_after(&now).unwrap();
        assert_eq!(next, zone.with_ymd_and_hms(2026, 3, 1, 2, 0, 0).unwrap());
        assert_eq!(next.with_timezone(&Utc), utc("2026-03-01T00:00:00Z"));
    }

    #[test]
    fn errors_name_the_flag_and_the_text() {
        let every = Schedule::every("0s").unwrap_err().to_string();
        assert_eq!(every, "--every \"0s\": must be longer than zero");
        let at = Schedule::at("25:00").unwrap_err().to_string();
        assert!(at.starts_with("--at \"25:00\": "), "{at}");
        let cron = Schedule::cron("0 2 * *").unwrap_err().to_string();
        assert!(cron.starts_with("--cron \"0 2 * *\": "), "{cron}");
    }

    #[test]
    fn display_says_what_the_schedule_is() {
        assert_eq!(Schedule::every("90s").unwrap().to_string(), "every 1m 30s");
        assert_eq!(Schedule::at("2:05").unwrap().to_string(), "daily at 02:05");
        assert_eq!(
            Schedule::cron("0 2 * * *").unwrap().to_string(),
            "cron \"0 2 * * *\""
        );
    }
}
