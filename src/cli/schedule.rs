//! `vigil schedule`: `vigil run` again and again (`--every 30m`, `--at 02:00`, `--cron
//! "0 2 * * *"`) for hosts without cron. Each run is a whole `vigil run`: fresh reporters, its
//! JUnit file, its own record in history. A run that overruns is followed by the next fire
//! time after it ends, with the skipped ones counted, never by catch-up runs.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Local};
use clap::{ArgGroup, Args};

use vigil::config::{self, Loaded};
use vigil::exit::ExitCode;
use vigil::schedule::{after_run, describe_wait, Schedule};
use vigil::session::request;

use super::{usage, Failure};
use crate::RunArgs;

/// How long a sleep goes without looking at the cancel flag: Ctrl-C is answered within it.
const SLICE: Duration = Duration::from_millis(100);

#[derive(Args)]
#[command(group(ArgGroup::new("when").required(true).args(["every", "at", "cron"])))]
pub struct ScheduleArgs {
    /// Run every D (90s, 30m, 2h, 1d, 1h30m), counted from when the schedule starts.
    #[arg(long, value_name = "D")]
    every: Option<String>,
    /// Run daily at HH:MM, local time.
    #[arg(long, value_name = "HH:MM")]
    at: Option<String>,
    /// Run at a cron expression's times, local time: five fields as in a crontab
    /// ("0 2 * * 1-5"), @daily and the like, or the cron crate's six or seven (seconds first).
    #[arg(long, value_name = "EXPR")]
    cron: Option<String>,
    /// Stop after N runs; the exit code is the last run's.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    runs: Option<u32>,
    /// Run once straight away, then on the schedule.
    #[arg(long)]
    now: bool,
    #[command(flatten)]
    run: RunArgs,
}

/// Runs until `--runs` is reached (the last run's exit code), a signal arrives (0 while
/// waiting, 2 during a run), or the schedule fires no more.
pub fn schedule(
    args: ScheduleArgs,
    history: Option<PathBuf>,
    invocation_dir: PathBuf,
    loaded: &Loaded,
) -> Result<ExitCode, Failure> {
    let schedule = parse(&args)?;
    // A typo in --profile or the config is reported now, not at the first fire time.
    let flags = crate::run_flags(&args.run, history.clone());
    request::resolve(flags, &invocation_dir, loaded).map_err(usage)?;
    let start = Local::now();
    let first = if args.now {
        start
    } else {
        schedule
            .next_after(&start)
            .ok_or_else(|| usage(anyhow::anyhow!("{schedule} never fires")))?
    };
    println!("vigil schedule: {schedule}, local time");
    let cancel = crate::install_signal_handlers();
    let ticks = Ticks {
        schedule,
        limit: args.runs,
        run: args.run,
        history,
        invocation_dir,
    };
    Ok(ticks.run_from(first, &cancel))
}

fn parse(args: &ScheduleArgs) -> Result<Schedule, Failure> {
    let parsed = match (&args.every, &args.at, &args.cron) {
        (Some(every), _, _) => Schedule::every(every),
        (_, Some(at), _) => Schedule::at(at),
        (_, _, Some(cron)) => Schedule::cron(cron),
        // clap's group makes one of them required.
        _ => return Err(usage(anyhow::anyhow!("give --every, --at or --cron"))),
    };
    parsed.map_err(usage)
}

/// What every run of the loop needs.
struct Ticks {
    schedule: Schedule,
    limit: Option<u32>,
    run: RunArgs,
    history: Option<PathBuf>,
    invocation_dir: PathBuf,
}

impl Ticks {
    fn run_from(&self, first: DateTime<Local>, cancel: &AtomicBool) -> ExitCode {
        let mut due = first;
        let mut done = 0u32;
        loop {
            if due > Local::now() {
                announce(&due);
                if !sleep_until(&due, cancel) {
                    return ExitCode::Ok;
                }
            }
            let code = self.run_once(cancel);
            // A schedule runs for days: what one run's tests leave running (a server on a
            // port, a daemon) must not outlive it into the next.
            crate::kill_leftovers();
            done += 1;
            if cancel.load(Ordering::SeqCst) {
                return if code == ExitCode::Interrupted {
                    code
                } else {
                    ExitCode::Ok
                };
            }
            if self.limit.is_some_and(|limit| done >= limit) {
                return code;
            }
            let Some(next) = after_run(&self.schedule, &due, &Local::now()) else {
                println!("vigil schedule: {} fires no more", self.schedule);
                return code;
            };
            if next.missed > 0 {
                let s = if next.missed == 1 { "" } else { "s" };
                println!("vigil schedule: skipped {} missed run{s}", next.missed);
            }
            due = next.at;
        }
    }

    /// One `vigil run`. The config is read again, as a run cron started would read it, so an
    /// edit between runs counts; a run that cannot start is reported and the schedule goes on.
    fn run_once(&self, cancel: &AtomicBool) -> ExitCode {
        let dir = &self.invocation_dir;
        let result = config::load(dir).map_err(usage).and_then(|loaded| {
            let (run, history) = (self.run.clone(), self.history.clone());
            crate::run_command(run, history, dir.to_path_buf(), &loaded, cancel)
        });
        match result {
            Ok(code) => code,
            Err((code, error)) => {
                eprintln!("vigil: error: {error:#}");
                code
            }
        }
    }
}

/// The one line between runs: when the next one is, and how long from now.
fn announce(due: &DateTime<Local>) {
    let wait = *due - Local::now();
    println!(
        "vigil schedule: next run at {} (in {})",
        due.format("%Y-%m-%d %H:%M:%S"),
        describe_wait(wait)
    );
}

/// Sleeps until `due` by the wall clock (a machine that slept wakes up on time); false when
/// a signal came first.
fn sleep_until(due: &DateTime<Local>, cancel: &AtomicBool) -> bool {
    loop {
        if cancel.load(Ordering::SeqCst) {
            return false;
        }
        match (*due - Local::now()).to_std() {
            Ok(left) if !left.is_zero() => std::thread::sleep(left.min(SLICE)),
            _ => return true,
        }
    }
}
