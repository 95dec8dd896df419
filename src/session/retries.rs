//! Retry passes after a wave: the failures the policy calls worth it run again, by node id
//! (not whole files), after the backoff, each pass one attempt more, until none is due. Only
//! their results reach the reporters (a retry is not more tests: no new collection counts).

use std::collections::{BTreeMap, HashSet};
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::discover::native::NativeTest;
use crate::events::{Event, TestResult};
use crate::execute::{self, ExecuteOptions, Execution, Work};
use crate::history::Store;
use crate::retry::Decision;

use super::fanout::Fanout;
use super::retry_state::Captured;
use super::{absorb, RunRequest, SessionError};

/// Most attempts of any test, whatever a marker asks: a guard against `reruns=10**9`.
const MAX_ATTEMPTS: u32 = 20;
/// History lookups per pass for "has this failure passed on a retry before?".
const MAX_LOOKUPS: usize = 200;

/// Runs retry passes until no failure is due; returns what they executed.
pub fn retry(
    request: &RunRequest,
    fanout: &mut Fanout,
    options: &ExecuteOptions,
    native: &[NativeTest],
    state: Option<&Captured>,
    cancel: &AtomicBool,
) -> Result<Execution, SessionError> {
    let mut execution = Execution::default();
    // Declared state that could not be snapshot: a retry would start from whatever the
    // first attempt left, so none runs.
    if request
        .retry
        .state
        .as_ref()
        .is_some_and(|s| !s.paths.is_empty())
        && state.is_none()
    {
        return Ok(execution);
    }
    let history = flaky_history(request);
    for attempt in 2..=MAX_ATTEMPTS {
        let due = due(request, fanout, attempt, history.as_ref());
        if due.is_empty() || cancel.load(Ordering::SeqCst) {
            break;
        }
        for (result, decision) in &due {
            fanout.send(Event::TestRetrying {
                id: result.id.clone(),
                attempt,
                reason: decision.reason.clone(),
            });
        }
        wait(
            request.retry.backoff.before(attempt, due.len() as u64),
            cancel,
        );
        if let Some(state) = state {
            if let Err(error) = state.restore() {
                fanout.send(Event::Notice {
                    message: format!(
                        "retry state could not be restored, so no retry runs: {error}"
                    ),
                });
                break;
            }
        }
        let ids: Vec<&str> = due.iter().map(|(r, _)| r.id.as_str()).collect();
        let pass = run_pass(request, fanout, options, native, &ids, attempt, cancel)?;
        let stop = pass.interrupted || pass.usage_error.is_some() || pass.internal_error.is_some();
        absorb(&mut execution, pass);
        if stop {
            break;
        }
    }
    fanout.settle_tiers();
    Ok(execution)
}

/// The failed tests whose last attempt was `attempt - 1` and that the policy retries.
fn due(
    request: &RunRequest,
    fanout: &Fanout,
    attempt: u32,
    history: Option<&Store>,
) -> Vec<(TestResult, Decision)> {
    let mut lookups = 0;
    let mut flaky_before = |result: &TestResult| {
        let (Some(store), Some(d)) = (history, result.diagnosis.as_deref()) else {
            return false;
        };
        lookups += 1;
        lookups <= MAX_LOOKUPS
            && store
                .fingerprint_history(&d.fingerprint, None)
                .ok()
                .flatten()
                .is_some_and(|h| h.flaky)
    };
    fanout
        .failed
        .values()
        .filter(|r| r.attempt + 1 == attempt)
        // Behind an open circuit a retry would only be skipped as blocked.
        .filter(|r| !fanout.breaker.blocks(r))
        .filter_map(|r| {
            let flaky = request.retry.retries > 0 && flaky_before(r);
            request.retry.decide(r, flaky).map(|d| (r.clone(), d))
        })
        .collect()
}

/// The history database, read-only, when there is one (for flaky evidence).
fn flaky_history(request: &RunRequest) -> Option<Store> {
    let settings = request.history.as_ref()?;
    Store::open_existing(&settings.path).ok()
}

/// Sleeps `delay`, waking early on Ctrl-C.
fn wait(delay: Duration, cancel: &AtomicBool) {
    let until = Instant::now() + delay;
    while Instant::now() < until && !cancel.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(20).min(until - Instant::now()));
    }
}

/// One pass: the due Python tests by node id, spread over the workers by file, and the due
/// native tests; their results carry `attempt`.
fn run_pass(
    request: &RunRequest,
    fanout: &mut Fanout,
    options: &ExecuteOptions,
    native: &[NativeTest],
    ids: &[&str],
    attempt: u32,
    cancel: &AtomicBool,
) -> Result<Execution, SessionError> {
    let python: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| !id.starts_with("native:"))
        .collect();
    let wanted: HashSet<&str> = ids.iter().copied().collect();
    let native: Vec<NativeTest> = native
        .iter()
        .filter(|t| wanted.contains(t.id.as_str()))
        .cloned()
        .collect();
    let batches = batches_by_file(&python, &options.rootdir, request.jobs);
    let all_files: Vec<PathBuf> = batches.iter().flatten().cloned().collect();
    let mut pass_options = options.clone();
    // Node ids select exactly the retried tests; `-k`, `-m` and the paths are not repeated.
    // They are made absolute: pytest reads command-line ids from its cwd, not the rootdir.
    pass_options.pytest_args = python
        .iter()
        .map(|id| absolute_id(id, &options.rootdir))
        .collect();
    pass_options
        .pytest_args
        .extend(request.pytest_args.iter().cloned());
    let work = Work {
        batches: &batches,
        all_files: &all_files,
        native: &native,
    };
    let mut forward = |event: Event| match event {
        Event::TestFinished(mut result) => {
            result.attempt = attempt;
            fanout.send(Event::TestFinished(result));
        }
        Event::WorkerLost { .. } | Event::Notice { .. } => fanout.send(event),
        _ => {}
    };
    Ok(execute::execute(
        &work,
        &pass_options,
        cancel,
        &mut forward,
    )?)
}

/// `tests/t.py::test_a[x]` → `/root/tests/t.py::test_a[x]`, with the file's real name when it
/// is not UTF-8 (the id holds U+FFFD for its bytes).
fn absolute_id(id: &str, rootdir: &std::path::Path) -> OsString {
    let (file, rest) = id
        .split_once("::")
        .map_or((id, None), |(f, r)| (f, Some(r)));
    let mut arg = crate::discover::lossy_path::on_disk(&rootdir.join(file)).into_os_string();
    if let Some(rest) = rest {
        arg.push(format!("::{rest}"));
    }
    arg
}

/// The files of `ids` (absolute), dealt round-robin into at most `jobs` batches.
fn batches_by_file(ids: &[&str], rootdir: &std::path::Path, jobs: usize) -> Vec<Vec<PathBuf>> {
    let files: BTreeMap<PathBuf, ()> = ids
        .iter()
        .map(|id| (rootdir.join(id.split("::").next().unwrap_or(id)), ()))
        .collect();
    let count = files.len().min(jobs.max(1));
    let mut batches = vec![Vec::new(); count];
    for (i, file) in files.into_keys().enumerate() {
        batches[i % count].push(file);
    }
    batches
}
