//! Redaction of what a run reports: every free-text field of an event (messages, tracebacks,
//! captured output, skip reasons, marker arguments, diagnoses, notices, paths) and, apart,
//! the test ids. The structs are taken apart field by field with no `..`, so a field added
//! to an event does not compile until someone decides whether it is redacted.

use std::path::PathBuf;

use crate::diagnose::{Diagnosis, Frame, LogExcerpt};
use crate::events::{Event, Location, Marker, PlannedTest, Problem, SkipInfo, TestResult};
use crate::history::{ResultRecord, RunRecord};
use crate::session::partition::{PartitionSummary, TestShare};

use super::Redactor;

impl Redactor {
    /// The whole event: its text and its test ids (for events read back from elsewhere, as
    /// `vigil merge` does).
    pub fn event(&self, event: &mut Event) {
        self.event_text(event);
        self.event_ids(event);
    }

    /// Every free-text field of `event`; test ids are left for [`Redactor::event_ids`], since
    /// the session still needs the real ones to retry a test.
    pub fn event_text(&self, event: &mut Event) {
        if self.is_empty() {
            return;
        }
        match event {
            Event::RunStarted {
                rootdir,
                files: _,
                workers: _,
            } => self.path(rootdir),
            Event::Collected { worker: _, tests } => {
                for test in tests {
                    let PlannedTest {
                        id: _,
                        tier,
                        skip,
                        after: _,
                    } = test;
                    self.option(tier);
                    self.option(skip);
                }
            }
            Event::TestFinished(result) => self.result_text(result),
            Event::TestRetrying {
                id: _,
                attempt: _,
                reason,
            } => self.redact_string(reason),
            Event::WorkerLost {
                worker: _,
                reason,
                in_flight: _,
            } => self.redact_string(reason),
            Event::Notice { message } => self.redact_string(message),
            Event::Partitioned(summary) => self.partition(summary),
            Event::WorkerStarted { .. } | Event::TestStarted { .. } | Event::RunFinished { .. } => {
            }
        }
    }

    /// The test ids of `event`, as every report and history shows them: a parametrize id
    /// made of a secret becomes `test_x[[REDACTED:NAME]]` the same way everywhere.
    pub fn event_ids(&self, event: &mut Event) {
        if self.is_empty() {
            return;
        }
        match event {
            Event::Collected { worker: _, tests } => {
                for test in tests {
                    self.redact_string(&mut test.id);
                    test.after.iter_mut().for_each(|a| self.redact_string(a));
                }
            }
            Event::TestStarted { id, worker: _ } => self.redact_string(id),
            Event::TestFinished(result) => self.redact_string(&mut result.id),
            Event::TestRetrying { id, .. } => self.redact_string(id),
            Event::WorkerLost { in_flight, .. } => self.option(in_flight),
            Event::Partitioned(summary) => {
                for share in &mut summary.tests {
                    let TestShare {
                        id,
                        shard: _,
                        expected_secs: _,
                        measured: _,
                    } = share;
                    self.redact_string(id);
                }
            }
            Event::RunStarted { .. }
            | Event::WorkerStarted { .. }
            | Event::Notice { .. }
            | Event::RunFinished { .. } => {}
        }
    }

    /// Every free-text field of a result, its id aside.
    pub fn result_text(&self, result: &mut TestResult) {
        let TestResult {
            id: _,
            outcome: _,
            duration: _,
            problems,
            skip,
            sections,
            markers,
            tier,
            worker: _,
            diagnosis,
            attempt: _,
        } = result;
        for problem in problems {
            let Problem {
                phase: _,
                is_error: _,
                message,
                location,
                longrepr,
            } = problem;
            self.redact_string(message);
            self.redact_string(longrepr);
            self.location(location);
        }
        if let Some(SkipInfo { message, location }) = skip {
            self.redact_string(message);
            self.location(location);
        }
        for (title, text) in sections {
            self.redact_string(title);
            self.redact_string(text);
        }
        for marker in markers {
            let Marker { name, args, kwargs } = marker;
            self.redact_string(name);
            args.iter_mut().for_each(|a| self.redact_json(a));
            kwargs.values_mut().for_each(|v| self.redact_json(v));
        }
        self.option(tier);
        if let Some(diagnosis) = diagnosis {
            self.diagnosis(diagnosis);
        }
    }

    /// A diagnosis's text (its fingerprint is a hash, and stays): for events that arrive
    /// diagnosed already. A run's own are made from redacted text in the first place.
    pub fn diagnosis(&self, diagnosis: &mut Diagnosis) {
        let Diagnosis {
            fingerprint: _,
            source: _,
            exception,
            message,
            normalized,
            location,
            frames,
            category: _,
            nature: _,
            confidence: _,
            rule,
            cause,
            advice,
            logs,
        } = diagnosis;
        self.option(exception);
        self.redact_string(message);
        self.redact_string(normalized);
        if let Some(Location { path, line: _ }) = location {
            self.redact_string(path);
        }
        for frame in frames {
            let Frame {
                path,
                line: _,
                function,
                origin: _,
            } = frame;
            self.redact_string(path);
            self.option(function);
        }
        self.redact_string(rule);
        self.redact_string(cause);
        self.option(advice);
        for LogExcerpt { file, lines } in logs {
            self.redact_string(file);
            lines.iter_mut().for_each(|l| self.redact_string(l));
        }
    }

    /// What history keeps of a run besides its results: git facts, host, selection (the
    /// command line's paths, `-k`, `-m`, pytest arguments), and the results themselves.
    pub fn run_record(&self, run: &mut RunRecord) {
        if self.is_empty() {
            return;
        }
        let RunRecord {
            uid: _,
            started_ms: _,
            ended_ms: _,
            git,
            profile,
            host,
            selection,
            tiers,
            tally: _,
            duration: _,
            exit_code: _,
            interrupted: _,
            source,
            series,
            partition,
            shards: _,
            results,
        } = run;
        self.option(&mut git.commit);
        self.option(&mut git.branch);
        for text in [profile, host, selection, tiers, series, partition] {
            self.option(text);
        }
        self.redact_string(source);
        for result in results {
            let ResultRecord {
                test,
                tier,
                outcome: _,
                duration: _,
                attempt: _,
                message,
                diagnosis,
            } = result;
            self.redact_string(test);
            self.option(tier);
            self.option(message);
            if let Some(diagnosis) = diagnosis {
                self.diagnosis(diagnosis);
            }
        }
    }

    /// A shard's summary: counts, its spec and the deal's digest; its tests are ids.
    fn partition(&self, summary: &mut PartitionSummary) {
        let PartitionSummary {
            spec,
            kind: _,
            index: _,
            total: _,
            deal: _,
            files: _,
            split_files: _,
            known_tests: _,
            shards: _,
            tests: _,
        } = summary;
        self.redact_string(spec);
    }

    fn location(&self, location: &mut Option<Location>) {
        if let Some(Location { path, line: _ }) = location {
            self.redact_string(path);
        }
    }

    fn option(&self, text: &mut Option<String>) {
        if let Some(text) = text {
            self.redact_string(text);
        }
    }

    fn path(&self, path: &mut PathBuf) {
        if let Some(text) = path.to_str() {
            if let std::borrow::Cow::Owned(redacted) = self.redact(text) {
                *path = PathBuf::from(redacted);
            }
        }
    }
}
