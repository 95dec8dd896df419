//! The session's two uses of history: the recorder a run writes itself into, and the
//! duration estimate its batches are balanced with (file size when history has nothing).

use std::path::{Path, PathBuf};

use crate::discover::TestFile;
use crate::history::{
    GitInfo, HistoryError, HistoryEstimate, HistoryRecorder, Retention, RunRecord, Store,
};
use crate::plan::{Estimate, FileSizeEstimate};

use super::RunRequest;

/// Where a run is recorded, and what is kept; `None` in a request means "not recorded".
#[derive(Debug, Clone, PartialEq)]
pub struct HistorySettings {
    pub path: PathBuf,
    /// Named by `--history` or `VIGIL_HISTORY`: failing to open it is an error, not a warning.
    pub explicit: bool,
    /// False for `--no-history` / `[history] enabled = false`: read for estimates, never written.
    pub record: bool,
    pub retention: Retention,
}

/// The reporter that records this run, or `None` when recording is off. The caller decides
/// what an error costs (see [`HistorySettings::explicit`]).
pub fn recorder(request: &RunRequest) -> Result<Option<HistoryRecorder>, HistoryError> {
    let Some(settings) = request.history.as_ref().filter(|h| h.record) else {
        return Ok(None);
    };
    let store = Store::open(&settings.path)?;
    let mut run = RunRecord {
        git: GitInfo::detect(&request.invocation_dir),
        profile: Some(request.planning.profile.clone()),
        host: host_name(),
        selection: Some(selection(request)),
        tiers: request.planning.select_tiers.as_ref().map(|t| t.join(",")),
        ..RunRecord::default()
    };
    // The results come redacted through the events; these facts come from elsewhere (a
    // `-k` or pytest argument can quote a secret).
    request.redact.run_record(&mut run);
    Ok(Some(HistoryRecorder::new(store, run, settings.retention)))
}

/// What the run was asked to run, as JSON: the part of the command line that selects tests.
fn selection(request: &RunRequest) -> String {
    let pytest_args: Vec<String> = request
        .pytest_args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    serde_json::json!({
        "paths": request.paths,
        "keyword": request.keyword,
        "markers": request.markers,
        "tiers": request.planning.select_tiers,
        "pytest_args": pytest_args,
    })
    .to_string()
}

fn host_name() -> Option<String> {
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it or
    // truncates, and we read only up to the first NUL.
    let status = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    if status != 0 {
        return None;
    }
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    Some(String::from_utf8_lossy(&buffer[..end]).into_owned()).filter(|h| !h.is_empty())
}

/// The estimate batches are balanced with: history's medians where there is history (read
/// only; a missing or unreadable database just means file sizes), file size otherwise.
pub fn estimate(request: &RunRequest, rootdir: &Path, files: &[TestFile]) -> Box<dyn Estimate> {
    let from_history = request
        .history
        .as_ref()
        .filter(|h| h.path.is_file())
        .and_then(|h| Store::open_existing(&h.path).ok())
        .and_then(|store| HistoryEstimate::load(&store, rootdir, files).ok())
        .filter(|estimate| estimate.known(files) > 0);
    match from_history {
        Some(estimate) => Box::new(estimate),
        None => Box::new(FileSizeEstimate),
    }
}
