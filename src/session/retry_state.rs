//! `[retry] state`: the paths snapshot (rollback store) before the run and restored before
//! each retry pass, so a retry starts from the state the first attempt saw; the snapshot is
//! forgotten when the run ends (its blobs stay for the next run to share, or `prune`).

use crate::retry::RetryState;
use crate::rollback::SnapshotStore;

/// A snapshot taken for this run's retries.
pub struct Captured {
    store: SnapshotStore,
    id: String,
}

/// Snapshots the state paths; `Ok(None)` when the run declares none.
pub fn capture(state: Option<&RetryState>) -> Result<Option<Captured>, String> {
    let Some(state) = state.filter(|s| !s.paths.is_empty()) else {
        return Ok(None);
    };
    let store = SnapshotStore::open(&state.root).map_err(|e| e.to_string())?;
    let info = store
        .create(&state.paths, Some("retry state"))
        .map_err(|e| e.to_string())?;
    Ok(Some(Captured { store, id: info.id }))
}

impl Captured {
    /// Puts the state paths back as they were when the run started.
    pub fn restore(&self) -> Result<(), String> {
        self.store
            .restore(&self.id, false)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Forgets the run's snapshot.
    pub fn discard(self) -> Result<(), String> {
        self.store.delete(&self.id).map_err(|e| e.to_string())
    }
}
