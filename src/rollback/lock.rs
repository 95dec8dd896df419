//! One writer at a time: `create`, `restore` and `prune` hold an exclusive `flock` on the
//! store's `lock` file. Without it a prune could delete the blobs of a snapshot being taken
//! (they are stored before its manifest), or two restores could interleave. The kernel drops
//! the lock when its holder dies, so a killed process never leaves the store locked.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::Path;

use super::{io_err, RollbackError};

/// Held until dropped (closing the file releases the lock).
pub struct StoreLock {
    _file: File,
}

impl StoreLock {
    /// Waits for any other writer to finish, then holds the store.
    pub fn exclusive(store: &Path) -> Result<StoreLock, RollbackError> {
        std::fs::create_dir_all(store).map_err(io_err("create", store))?;
        let path = store.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err("open", &path))?;
        loop {
            // SAFETY: flock on a descriptor this function owns; no memory is shared.
            let result = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if result == 0 {
                return Ok(StoreLock { _file: file });
            }
            let error = std::io::Error::last_os_error();
            if error.kind() != std::io::ErrorKind::Interrupted {
                return Err(io_err("lock", &path)(error));
            }
        }
    }
}
