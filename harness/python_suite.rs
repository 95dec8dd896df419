//! The Python tests in `suites/` as libtest trials: listed by vigil's own plan (one pytest
//! collection), run by one `vigil::session::run` the first time any of them is asked for,
//! each trial then reporting its test's outcome.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, OnceLock};

use libtest_mimic::{Failed, Trial};
use vigil::events::{Event, TestResult};
use vigil::report::Reporter;
use vigil::session::request::{self, Flags};
use vigil::session::{self, RunRequest};

use crate::support;

const PREFIX: &str = "python::";

fn suites_dir() -> PathBuf {
    support::repo_root().join("suites")
}

/// The request both listing and running use: every Python test under `suites/`.
fn run_request() -> Result<RunRequest, String> {
    let python = support::python().map_err(|e| e.message().unwrap_or_default().to_string())?;
    let dir = suites_dir();
    let loaded = vigil::config::load(&dir).map_err(|e| e.to_string())?;
    let flags = Flags {
        python: Some(python),
        jobs: Some(2),
        capture_cap: 1 << 20,
        pytest_args: vec!["-p".into(), "no:cacheprovider".into()],
        ..Flags::default()
    };
    request::resolve(flags, &dir, &loaded)
        .map(|r| r.request)
        .map_err(|e| e.to_string())
}

/// One trial per collected test; a setup problem becomes one failing trial that says so.
pub fn trials() -> Vec<Trial> {
    let listed = run_request().and_then(|request| {
        session::preview(&request, &AtomicBool::new(false)).map_err(|e| e.to_string())
    });
    let preview = match listed {
        Ok(preview) => preview,
        Err(message) => {
            return vec![Trial::test(format!("{PREFIX}suites"), move || {
                Err(Failed::from(message))
            })]
        }
    };
    // A suite that does not collect cleanly fails loudly, never shrinks to nothing.
    let count = preview
        .waves
        .iter()
        .flat_map(|w| &w.workers)
        .map(|w| w.tests.len())
        .sum::<usize>();
    if count == 0 || !preview.errors.is_empty() {
        let message = format!(
            "collecting suites/ found {count} tests and these errors: {:?}",
            preview.errors
        );
        return vec![Trial::test(format!("{PREFIX}suites"), move || {
            Err(Failed::from(message))
        })];
    }
    preview
        .waves
        .into_iter()
        .flat_map(|w| w.workers)
        .flat_map(|w| w.tests)
        .map(|test| {
            let tier = test.tier.clone().unwrap_or_default();
            // A skip the plan knows of (a missing capability) is libtest's "ignored".
            let ignored = test.skip.is_some();
            let id = test.id;
            Trial::test(format!("{PREFIX}{id}"), move || outcome(&id))
                .with_kind(tier)
                .with_ignored_flag(ignored)
        })
        .collect()
}

/// Every result of the one run, by node id.
fn results() -> &'static Result<HashMap<String, TestResult>, String> {
    static RESULTS: OnceLock<Result<HashMap<String, TestResult>, String>> = OnceLock::new();
    RESULTS.get_or_init(|| {
        let request = run_request()?;
        let collected = Arc::new(Mutex::new(Vec::new()));
        let mut reporters: Vec<Box<dyn Reporter>> =
            vec![Box::new(Collector(Arc::clone(&collected)))];
        session::run(&request, &mut reporters, &AtomicBool::new(false))
            .map_err(|e| e.to_string())?;
        let results = std::mem::take(&mut *collected.lock().map_err(|e| e.to_string())?);
        Ok(results.into_iter().map(|r| (r.id.clone(), r)).collect())
    })
}

fn outcome(id: &str) -> Result<(), Failed> {
    let results = results().as_ref().map_err(|e| Failed::from(e.clone()))?;
    let result = results.get(id).ok_or_else(|| {
        Failed::from(format!("vigil ran the suite but reported nothing for {id}"))
    })?;
    if result.outcome.is_failure() {
        let detail: Vec<&str> = result
            .problems
            .iter()
            .map(|p| p.longrepr.as_str())
            .collect();
        return Err(Failed::from(format!(
            "{}\n{}",
            result.outcome.label(),
            detail.join("\n")
        )));
    }
    Ok(())
}

/// Keeps every finished test's result.
struct Collector(Arc<Mutex<Vec<TestResult>>>);

impl Reporter for Collector {
    fn on_event(&mut self, event: &Event) {
        if let (Event::TestFinished(result), Ok(mut all)) = (event, self.0.lock()) {
            all.push(result.clone());
        }
    }
}
