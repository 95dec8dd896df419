//! What runs next after a run ends, and how many fire times it overran. Misses are not
//! stacked: a run that overran its schedule is followed by the next fire time after it ended,
//! never by a burst of catch-up runs.

use chrono::{DateTime, TimeZone};

use super::Schedule;

/// The next run and the fire times skipped to get there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Next<Tz: TimeZone> {
    pub at: DateTime<Tz>,
    /// Fire times that passed while the last run was going (or while the machine slept).
    pub missed: u64,
}

/// `due` is the fire time the last run was for (its start, for a `--now` run) and `ended`
/// when it finished. Fire times in `(due, ended]` are missed; the next run is the first one
/// after `ended`. `None` when the schedule never fires again.
pub fn after_run<Tz: TimeZone>(
    schedule: &Schedule,
    due: &DateTime<Tz>,
    ended: &DateTime<Tz>,
) -> Option<Next<Tz>> {
    if let Schedule::Every(period) = schedule {
        return every_after_run(*period, due, ended);
    }
    let mut at = schedule.next_after(due)?;
    let mut missed = 0;
    while at <= *ended {
        missed += 1;
        at = schedule.next_after(&at)?;
    }
    Some(Next { at, missed })
}

/// `--every` keeps its cadence (`due` + k periods) and counts the missed ones by division,
/// so a laptop that slept for a week with `--every 1s` does not count to 600,000.
fn every_after_run<Tz: TimeZone>(
    period: chrono::TimeDelta,
    due: &DateTime<Tz>,
    ended: &DateTime<Tz>,
) -> Option<Next<Tz>> {
    let step = period.num_milliseconds().max(1);
    // A clock set back (ended before due) misses nothing and waits one period from due.
    let elapsed = (ended.clone() - due.clone()).num_milliseconds().max(0);
    let missed = elapsed / step;
    let periods = i32::try_from(missed + 1).ok()?;
    let at = due
        .clone()
        .checked_add_signed(period.checked_mul(periods)?)?;
    Some(Next {
        at,
        missed: u64::try_from(missed).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, TimeDelta, Utc};

    fn utc(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, h, m, s).unwrap()
    }

    #[test]
    fn a_run_inside_its_period_misses_nothing() {
        let every = Schedule::every("30m").unwrap();
        let next = after_run(&every, &utc(10, 0, 0), &utc(10, 12, 0)).unwrap();
        assert_eq!(
            next,
            Next {
                at: utc(10, 30, 0),
                missed: 0
            }
        );
    }

    #[test]
    fn an_overrun_skips_to_the_next_fire_time_after_the_end() {
        let every = Schedule::every("30m").unwrap();
        // Ran 10:00-11:10: 10:30 and 11:00 passed during it; the cadence stays on :00/:30.
        let next = after_run(&every, &utc(10, 0, 0), &utc(11, 10, 0)).unwrap();
        assert_eq!(
            next,
            Next {
                at: utc(11, 30, 0),
                missed: 2
            }
        );
        // Ending exactly on a fire time misses it: the next run is a period later.
        let next = after_run(&every, &utc(10, 0, 0), &utc(10, 30, 0)).unwrap();
        assert_eq!(
            next,
            Next {
                at: utc(11, 0, 0),
                missed: 1
            }
        );
    }

    #[test]
    fn a_clock_set_back_waits_one_period() {
        let every = Schedule::every("1m").unwrap();
        let next = after_run(&every, &utc(10, 0, 0), &utc(9, 0, 0)).unwrap();
        assert_eq!(
            next,
            Next {
                at: utc(10, 1, 0),
                missed: 0
            }
        );
    }

    #[test]
    fn a_long_sleep_is_counted_not_replayed() {
        let every = Schedule::every("1s").unwrap();
        let week_later = utc(10, 0, 0) + TimeDelta::days(7) + TimeDelta::milliseconds(500);
        let next = after_run(&every, &utc(10, 0, 0), &week_later).unwrap();
        assert_eq!(next.missed, 7 * 86_400);
        assert_eq!(next.at, utc(10, 0, 1) + TimeDelta::days(7));
    }

    #[test]
    fn daily_and_cron_overruns_count_whole_fire_times() {
        let daily = Schedule::at("02:00").unwrap();
        let two = utc(2, 0, 0);
        let next = after_run(&daily, &two, &utc(3, 0, 0)).unwrap();
        assert_eq!(
            next,
            Next {
                at: two + TimeDelta::days(1),
                missed: 0
            }
        );
        let next = after_run(&daily, &two, &(two + TimeDelta::hours(50))).unwrap();
        assert_eq!(
            next,
            Next {
                at: two + TimeDelta::days(3),
                missed: 2
            }
        );

        let quarter = Schedule::cron("*/15 * * * *").unwrap();
        let next = after_run(&quarter, &utc(10, 0, 0), &utc(10, 40, 0)).unwrap();
        assert_eq!(
            next,
            Next {
                at: utc(10, 45, 0),
                missed: 2
            }
        );
    }

    #[test]
    fn a_now_run_counts_from_its_start() {
        // `--now` at 01:59:30 with `--at 02:00`: a 45 s run overruns 02:00, which is missed.
        let zone = FixedOffset::east_opt(3600).unwrap();
        let start = zone.with_ymd_and_hms(2026, 3, 1, 1, 59, 30).unwrap();
        let daily = Schedule::at("02:00").unwrap();
        let next = after_run(&daily, &start, &(start + TimeDelta::seconds(45))).unwrap();
        let tomorrow = zone.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap();
        assert_eq!(
            next,
            Next {
                at: tomorrow,
                missed: 1
            }
        );
    }

    #[test]
    fn a_schedule_that_ends_has_no_next() {
        let once = Schedule::cron("0 0 2 1 1 * 2026").unwrap();
        let after = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        assert_eq!(after_run(&once, &after, &after), None);
    }
}
