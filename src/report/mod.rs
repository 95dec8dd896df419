//! Reporting: consumers of the event stream. Each reporter sees every event in order and
//! renders it its own way (terminal, JUnit); none of them talks to the executor.

pub mod ci;
#[cfg(test)]
mod ci_sample_run;
mod diagnosis;
mod final_results;
mod github_annotations;
mod history_tables;
pub mod html;
pub mod json_lines;
mod junit;
#[cfg(test)]
mod junit_fuzz_tests;
pub mod notify;
mod openmetrics;
mod partition;
mod plan;
mod repo_paths;
pub mod shown;
mod step_summary;
mod stress;
mod summary;
mod terminal;
mod text_table;
mod xml_text;

pub use ci::{ci_reporters, Ci};
pub use diagnosis::{render_groups, GroupView};
pub use github_annotations::GithubAnnotations;
pub use history_tables::{render_runs, render_timeline, render_trends};
pub use json_lines::JsonLinesReporter;
pub use junit::{junit_names, JunitReporter};
pub use openmetrics::render_openmetrics;
pub use partition::{balance, render_partition_line, render_partition_table};
pub use plan::{render_plan, render_tier_counts};
pub use step_summary::StepSummary;
pub use stress::{render_repeat_header, render_stress_summary};
pub use summary::render_summary;
pub use terminal::{ColorChoice, TerminalReporter};

use crate::events::Event;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write {}: {error}", path.display())]
    Write {
        path: std::path::PathBuf,
        error: std::io::Error,
    },
    #[error("cannot serialize the JUnit report: {0}")]
    Junit(#[from] quick_junit::SerializeError),
    #[error("cannot record the run in history: {0}")]
    History(#[from] crate::history::HistoryError),
}

/// A consumer of the event stream.
pub trait Reporter {
    fn on_event(&mut self, event: &Event);

    /// Called once after `RunFinished`: write files, flush.
    fn finish(&mut self) -> Result<(), ReportError> {
        Ok(())
    }
}
