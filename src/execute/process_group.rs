//! A started child that leads its own process group (pytest workers, native tests): signals
//! go to the whole group, so what the child started goes with it.

use std::sync::Arc;

/// A child started by duct with `process_group(0)`: its pid is its group's id.
pub struct GroupLeader {
    pub handle: Arc<duct::Handle>,
    pub pid: u32,
}

impl GroupLeader {
    pub fn new(handle: Arc<duct::Handle>) -> Self {
        let pid = handle.pids().first().copied().unwrap_or(0);
        GroupLeader { handle, pid }
    }

    /// Sends `signal` to the whole process group.
    pub fn signal_group(&self, signal: i32) {
        if self.pid > 0 {
            // SAFETY: kill(2) with a negative pid signals a process group; no memory involved.
            unsafe {
                libc::kill(-(self.pid as i32), signal);
            }
        }
    }

    /// Kills the process group, then reaps the leader through duct.
    pub fn kill(&self) {
        self.signal_group(libc::SIGKILL);
        let _ = self.handle.kill();
    }
}
