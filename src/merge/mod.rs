//! `vigil merge`: the shards of one partitioned run (each CI machine's JSON event log, or its
//! JUnit report when it has no log) combined into one run: one event stream that every
//! reporter renders as it would a single run's, and one history record marked as sharded.

pub mod event_log;
mod inputs;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use crate::events::{Event, Outcome, Phase, Problem, Tally, TestResult};
use crate::exit::ExitCode;
use crate::history::{result_record, RunRecord};
use crate::session::partition::PartitionSummary;

pub use event_log::EventLog;
pub use inputs::{find_inputs, Inputs};

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}: {message}", path.display())]
    Line {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: no event log (*.jsonl), JUnit report (*.xml) or history (*.db) in it", path.display())]
    Empty { path: PathBuf },
    #[error("{0}")]
    Shards(String),
    #[error(transparent)]
    Junit(#[from] crate::history::ImportError),
}

/// One shard as read: its results and how it ended.
#[derive(Debug, Clone)]
pub struct ShardRun {
    /// The file it was read from.
    pub source: PathBuf,
    pub partition: Option<PartitionSummary>,
    pub rootdir: Option<PathBuf>,
    pub files: usize,
    pub workers: usize,
    pub started_ms: i64,
    /// Results, retries and worker losses, in the order they happened.
    pub events: Vec<Event>,
    /// How the shard's run ended; `None` when its log stops early (the run was killed).
    pub finished: Option<(ExitCode, Duration)>,
}

impl ShardRun {
    pub fn from_log(log: EventLog) -> ShardRun {
        let mut shard = ShardRun {
            source: log.path.clone(),
            partition: None,
            rootdir: None,
            files: 0,
            workers: 0,
            started_ms: log.header.started_ms,
            events: Vec::new(),
            finished: None,
        };
        for event in log.events {
            match event {
                Event::RunStarted {
                    rootdir,
                    files,
                    workers,
                } => (shard.rootdir, shard.files, shard.workers) = (Some(rootdir), files, workers),
                Event::Partitioned(summary) => shard.partition = Some(summary),
                Event::RunFinished { exit, duration, .. } => {
                    shard.finished = Some((exit, duration))
                }
                Event::TestFinished(_)
                | Event::TestRetrying { .. }
                | Event::WorkerLost { .. }
                | Event::Notice { .. } => shard.events.push(event),
                // Per-worker progress: worker numbers are the shard's own, and no report
                // of the merged run needs them.
                Event::WorkerStarted { .. }
                | Event::Collected { .. }
                | Event::TestStarted { .. } => {}
            }
        }
        shard
    }

    /// A shard known only by its JUnit report: results without captured output.
    pub fn from_junit(source: PathBuf, run: RunRecord) -> ShardRun {
        let events = run
            .results
            .iter()
            .map(|r| Event::TestFinished(junit_result(r)))
            .collect();
        let exit = if run.tally.failures() > 0 {
            ExitCode::TestsFailed
        } else {
            ExitCode::Ok
        };
        ShardRun {
            source,
            partition: None,
            rootdir: None,
            files: 0,
            workers: 0,
            started_ms: run.started_ms,
            events,
            finished: Some((exit, run.duration)),
        }
    }

    fn label(&self) -> String {
        match &self.partition {
            Some(p) => format!("shard {}/{} ({})", p.index, p.total, self.source.display()),
            None => self.source.display().to_string(),
        }
    }
}

fn junit_result(record: &crate::history::ResultRecord) -> TestResult {
    let problems = record
        .message
        .iter()
        .map(|message| Problem {
            phase: Phase::Call,
            is_error: record.outcome == Outcome::Error,
            message: message.clone(),
            location: None,
            longrepr: message.clone(),
        })
        .collect();
    let mut result = TestResult::bare(record.test.clone(), record.outcome, problems, None, 0);
    result.duration = record.duration;
    result.tier = record.tier.clone();
    result.attempt = record.attempt;
    result.diagnosis = record.diagnosis.clone();
    result
}

/// The shards as one run.
#[derive(Debug)]
pub struct Merged {
    /// What the reporters see, from `RunStarted` to `RunFinished`.
    pub events: Vec<Event>,
    pub exit: ExitCode,
    /// The history record: results, counts, times; git and host are the caller's to fill.
    pub run: RunRecord,
}

/// Checks that the shards belong together and combines them. Missing shards, or shards that
/// dealt the selection differently, are a notice and make the merged run count as
/// interrupted (exit 2): tests that should have run may not have.
pub fn merge(mut shards: Vec<ShardRun>) -> Result<Merged, MergeError> {
    let missing = check_partitions(&mut shards)?;
    let deals: BTreeSet<&str> = shards
        .iter()
        .filter_map(|s| s.partition.as_ref().map(|p| p.deal.as_str()))
        .collect();
    let dealt_apart = deals.len() > 1;
    let rootdir = shards
        .iter()
        .find_map(|s| s.rootdir.clone())
        .unwrap_or_default();
    let mut events = vec![Event::RunStarted {
        rootdir,
        files: shards.iter().map(|s| s.files).sum(),
        workers: shards.iter().map(|s| s.workers).sum(),
    }];
    let mut tally = Tally::default();
    let mut outcomes: HashMap<String, Outcome> = HashMap::new();
    for shard in &shards {
        if shard.finished.is_none() {
            events.push(notice(format!(
                "{}: the log stops before the run ended",
                shard.label()
            )));
        }
        for event in &shard.events {
            if let Event::TestFinished(result) = event {
                count(&mut tally, &mut outcomes, result);
            }
            events.push(event.clone());
        }
    }
    for index in &missing {
        events.push(notice(format!(
            "shard {index} is missing: its tests are not in this run"
        )));
    }
    if dealt_apart {
        events.push(notice(
            "the shards dealt the selection differently (they read different histories or \
             files), so some tests may have run twice or not at all: give every job the same \
             history"
                .to_string(),
        ));
    }
    let exit = exit_code(&shards, &tally, !missing.is_empty() || dealt_apart);
    let duration = shards
        .iter()
        .filter_map(|s| s.finished.map(|(_, d)| d))
        .max()
        .unwrap_or_default();
    events.push(Event::RunFinished {
        tally: tally.clone(),
        exit,
        duration,
    });
    let run = record(&shards, &events, tally, exit, duration);
    Ok(Merged { events, exit, run })
}

fn notice(message: String) -> Event {
    Event::Notice { message }
}

/// A retry's result takes the place of the attempt before it, as in a single run.
fn count(tally: &mut Tally, outcomes: &mut HashMap<String, Outcome>, result: &TestResult) {
    match outcomes.insert(result.id.clone(), result.outcome) {
        Some(before) if result.attempt > 1 => tally.replace(before, result.outcome),
        _ => tally.add(result.outcome),
    }
}

/// Shards of one partition: the same kind and N, each index once. Returns the missing
/// indices ("3/4"), and puts the shards in index order.
fn check_partitions(shards: &mut [ShardRun]) -> Result<Vec<String>, MergeError> {
    let mut by_index: BTreeMap<usize, &ShardRun> = BTreeMap::new();
    let mut first: Option<&PartitionSummary> = None;
    for shard in shards.iter() {
        let Some(p) = &shard.partition else { continue };
        let reference = *first.get_or_insert(p);
        if (p.kind, p.total) != (reference.kind, reference.total) {
            return Err(MergeError::Shards(format!(
                "the shards come from different partitions: {} in {} and {}",
                reference.spec,
                p.spec,
                shard.source.display()
            )));
        }
        if let Some(other) = by_index.insert(p.index, shard) {
            return Err(MergeError::Shards(format!(
                "shard {}/{} is given twice: {} and {}",
                p.index,
                p.total,
                other.source.display(),
                shard.source.display()
            )));
        }
    }
    let missing = match first {
        Some(p) => (1..=p.total)
            .filter(|i| !by_index.contains_key(i))
            .map(|i| format!("{i}/{}", p.total))
            .collect(),
        None => vec![],
    };
    shards.sort_by_key(|s| s.partition.as_ref().map_or(usize::MAX, |p| p.index));
    Ok(missing)
}

/// The worst of the shards' endings (usage error, internal error, interrupted, failed), 5 only
/// when no shard ran a test.
fn exit_code(shards: &[ShardRun], tally: &Tally, incomplete: bool) -> ExitCode {
    let ends: Vec<ExitCode> = shards
        .iter()
        .filter_map(|s| s.finished.map(|(e, _)| e))
        .collect();
    let worst = [
        ExitCode::UsageError,
        ExitCode::InternalError,
        ExitCode::Interrupted,
    ];
    if let Some(code) = worst.into_iter().find(|c| ends.contains(c)) {
        return code;
    }
    if incomplete || ends.len() < shards.len() {
        ExitCode::Interrupted
    } else if tally.failures() > 0 || ends.contains(&ExitCode::TestsFailed) {
        ExitCode::TestsFailed
    } else if tally.total() == 0 {
        ExitCode::NoTestsCollected
    } else {
        ExitCode::Ok
    }
}

fn record(
    shards: &[ShardRun],
    events: &[Event],
    tally: Tally,
    exit: ExitCode,
    duration: Duration,
) -> RunRecord {
    let started_ms = shards
        .iter()
        .map(|s| s.started_ms)
        .filter(|&t| t > 0)
        .min()
        .unwrap_or(0);
    let results = events
        .iter()
        .filter_map(|e| match e {
            Event::TestFinished(result) => Some(result_record(result)),
            _ => None,
        })
        .collect();
    let ended_ms = shards
        .iter()
        .filter_map(|s| s.finished.map(|(_, d)| s.started_ms + d.as_millis() as i64))
        .max()
        .unwrap_or(started_ms);
    RunRecord {
        started_ms,
        ended_ms,
        tally,
        duration,
        exit_code: exit.code(),
        interrupted: exit == ExitCode::Interrupted,
        source: "vigil".to_string(),
        results,
        ..RunRecord::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::partition::Kind;

    fn shard(index: usize, deal: &str) -> ShardRun {
        let result = TestResult::bare(format!("t.py::t{index}"), Outcome::Passed, vec![], None, 0);
        ShardRun {
            source: PathBuf::from(format!("shard-{index}/events.jsonl")),
            partition: Some(PartitionSummary {
                spec: format!("duration:{index}/2"),
                kind: Kind::Duration,
                index,
                total: 2,
                deal: deal.to_string(),
                files: 2,
                split_files: 0,
                known_tests: 2,
                shards: vec![],
                tests: vec![],
            }),
            rootdir: None,
            files: 1,
            workers: 1,
            started_ms: 1_000,
            events: vec![Event::TestFinished(result)],
            finished: Some((ExitCode::Ok, Duration::from_secs(1))),
        }
    }

    fn notices(merged: &Merged) -> Vec<&str> {
        let notices = merged.events.iter().filter_map(|e| match e {
            Event::Notice { message } => Some(message.as_str()),
            _ => None,
        });
        notices.collect()
    }

    #[test]
    fn shards_of_one_deal_merge_into_a_passing_run() {
        let merged = merge(vec![shard(2, "ab"), shard(1, "ab")]).unwrap();
        assert_eq!(merged.exit, ExitCode::Ok);
        assert!(notices(&merged).is_empty());
        assert_eq!(merged.run.results.len(), 2);
        assert_eq!(merged.run.tally.total(), 2);
        // In shard order, whatever order they were given in.
        assert_eq!(merged.run.results[0].test, "t.py::t1");
    }

    #[test]
    fn shards_that_dealt_differently_make_the_run_incomplete() {
        let merged = merge(vec![shard(1, "ab"), shard(2, "cd")]).unwrap();
        assert_eq!(merged.exit, ExitCode::Interrupted);
        assert!(notices(&merged)[0].contains("dealt the selection differently"));
    }
}
