//! Watching the project tree with notify's recommended watcher: the root itself, and each of
//! its directories that is not ignored, recursively. Ignored top-level directories (`.venv`,
//! `.git`, `target/`, ...) are never watched at all: a recursive watch of a virtualenv costs
//! an inotify watch per directory, and a large one can exhaust the system's limit.

use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;

use notify::event::{CreateKind, ModifyKind};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use super::ignore_rules::IgnoreRules;
use super::watch_loop::Input;
use super::WatchError;

pub struct FileWatcher {
    watcher: RecommendedWatcher,
    root: PathBuf,
    rules: IgnoreRules,
}

impl FileWatcher {
    /// Starts watching; events arrive on `tx` as [`Input::Fs`].
    pub fn start(
        root: &Path,
        rules: IgnoreRules,
        tx: Sender<Input>,
    ) -> Result<FileWatcher, WatchError> {
        let watcher = notify::recommended_watcher(move |event| {
            // The loop is gone only when vigil is quitting: nothing left to tell.
            let _ = tx.send(Input::Fs(event));
        })
        .map_err(|e| WatchError::watch(root, e))?;
        let mut files = FileWatcher {
            watcher,
            root: root.to_path_buf(),
            rules,
        };
        files
            .watcher
            .watch(root, RecursiveMode::NonRecursive)
            .map_err(|e| WatchError::watch(root, e))?;
        let entries = std::fs::read_dir(root).map_err(|e| WatchError::watch(root, e.into()))?;
        for entry in entries.flatten() {
            files.follow(&entry.path())?;
        }
        Ok(files)
    }

    /// The paths of `event` that are source changes, each with whether the event created it.
    /// New top-level directories start being watched here, and changed `.gitignore` files are
    /// read again.
    pub fn relevant(&mut self, event: notify::Event) -> Vec<(PathBuf, bool)> {
        for path in &event.paths {
            self.rules.saw_change(path);
            if path.parent() == Some(self.root.as_path()) && appeared(&event.kind) {
                // A directory that cannot be watched (gone again, no permission) is not fatal.
                let _ = self.follow(path);
            }
        }
        if !is_content_change(&event.kind) {
            return vec![];
        }
        let created = matches!(event.kind, EventKind::Create(_));
        event
            .paths
            .into_iter()
            .filter(|p| !self.rules.ignored(p))
            .map(|p| (p, created))
            .collect()
    }

    /// Watches `path` recursively when it is a directory that is not ignored.
    fn follow(&mut self, path: &Path) -> Result<(), WatchError> {
        if !path.is_dir() || self.rules.ignored(path) {
            return Ok(());
        }
        self.watcher
            .watch(path, RecursiveMode::Recursive)
            .map_err(|e| WatchError::watch(path, e))
    }
}

/// Whether the event can make a new directory appear (created, or moved into place).
fn appeared(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Create(_) | EventKind::Modify(ModifyKind::Name(_))
    )
}

/// Only events that can change what a file holds count: creation of a file, a write, a
/// removal, a rename. Reads, opens and closes, permission and timestamp changes (`touch`) do
/// not; neither does an empty new directory (the files put in it come with their own events).
pub fn is_content_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(CreateKind::Folder) => false,
        EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Modify(ModifyKind::Metadata(_) | ModifyKind::Other) => false,
        // `Any` is what some platforms report for a write: counted, to err towards running.
        EventKind::Modify(_) | EventKind::Any => true,
        EventKind::Access(_) | EventKind::Other => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{AccessKind, AccessMode, DataChange, MetadataKind, RemoveKind, RenameMode};

    #[test]
    fn content_changes_count_and_the_rest_do_not() {
        let counted = [
            EventKind::Create(CreateKind::File),
            EventKind::Modify(ModifyKind::Data(DataChange::Any)),
            EventKind::Modify(ModifyKind::Data(DataChange::Content)),
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)),
            EventKind::Modify(ModifyKind::Any),
            EventKind::Remove(RemoveKind::File),
            EventKind::Remove(RemoveKind::Folder),
        ];
        for kind in counted {
            assert!(is_content_change(&kind), "{kind:?}");
        }
        let not_counted = [
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
            EventKind::Access(AccessKind::Open(AccessMode::Any)),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::WriteTime)),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::Permissions)),
            EventKind::Create(CreateKind::Folder),
            EventKind::Other,
        ];
        for kind in not_counted {
            assert!(!is_content_change(&kind), "{kind:?}");
        }
    }
}
