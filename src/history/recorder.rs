//! The reporter that turns a run's event stream into one history record, written when the run
//! finishes (also when it was interrupted: the results so far are still history).

use std::sync::Arc;

use crate::events::{Event, TestResult};
use crate::exit::ExitCode;
use crate::interrupt::Latch;
use crate::report::{ReportError, Reporter};

use super::prune::Retention;
use super::record::{now_ms, ResultRecord, RunRecord};
use super::store::Store;

pub struct HistoryRecorder {
    store: Store,
    run: RunRecord,
    retention: Retention,
    latch: Option<Arc<Latch>>,
}

impl HistoryRecorder {
    /// `run` carries what is known before the run starts (git, profile, host, selection);
    /// the store is opened now so a bad `--history` path fails before any test runs.
    pub fn new(store: Store, mut run: RunRecord, retention: Retention) -> HistoryRecorder {
        run.started_ms = now_ms();
        run.source = "vigil".to_string();
        HistoryRecorder {
            store,
            run,
            retention,
            latch: None,
        }
    }

    /// Settles `latch` just before the run is committed: a signal that came while the other
    /// reports were written still marks the run interrupted; one that comes later is too late.
    pub fn settling(mut self, latch: Arc<Latch>) -> HistoryRecorder {
        self.latch = Some(latch);
        self
    }

    /// Records the run as one of a series of repetitions (`vigil run --repeat`).
    pub fn in_series(mut self, series: &str) -> HistoryRecorder {
        self.run.series = Some(series.to_string());
        self
    }
}

impl Reporter for HistoryRecorder {
    fn on_event(&mut self, event: &Event) {
        match event {
            Event::TestFinished(result) => self.run.results.push(result_record(result)),
            Event::Partitioned(summary) => self.run.partition = Some(summary.spec.clone()),
            Event::RunFinished {
                tally,
                exit,
                duration,
            } => {
                self.run.tally = tally.clone();
                self.run.exit_code = exit.code();
                self.run.interrupted = *exit == ExitCode::Interrupted;
                self.run.duration = *duration;
                self.run.ended_ms = now_ms();
            }
            _ => {}
        }
    }

    fn finish(&mut self) -> Result<(), ReportError> {
        if self.latch.as_ref().is_some_and(|latch| latch.settle()) {
            self.run.interrupted = true;
            self.run.exit_code = ExitCode::Interrupted.code();
        }
        self.store.record(&self.run)?;
        self.retention.apply(&mut self.store)?;
        Ok(())
    }
}

pub fn result_record(result: &TestResult) -> ResultRecord {
    ResultRecord {
        test: result.id.clone(),
        tier: result.tier.clone(),
        outcome: result.outcome,
        duration: result.duration,
        attempt: result.attempt,
        message: result.problems.first().map(|p| p.message.clone()),
        diagnosis: result.diagnosis.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Outcome;
    use crate::history::fingerprints::tests::diagnosis;

    #[test]
    fn the_record_carries_the_results_diagnosis() {
        let mut result = TestResult::bare("t.py::a".into(), Outcome::Failed, vec![], None, 0);
        assert_eq!(result_record(&result).diagnosis, None);
        result.diagnosis = Some(Box::new(diagnosis("00000000000000f1", "refused")));
        let record = result_record(&result);
        assert_eq!(record.fingerprint(), Some("00000000000000f1"));
        assert_eq!(record.diagnosis.as_deref(), result.diagnosis.as_deref());
    }
}
