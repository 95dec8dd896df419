//! A started child that leads its own process group (pytest workers, native tests): signals
//! go to the whole group, so what the child started goes with it. Live groups are registered
//! process-wide so a second Ctrl-C can kill them all at once, from the signal thread.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// Process groups of children not yet dropped.
static LIVE: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

/// A child started by duct with `process_group(0)`: its pid is its group's id.
pub struct GroupLeader {
    pub handle: Arc<duct::Handle>,
    pub pid: u32,
}

impl GroupLeader {
    pub fn new(handle: Arc<duct::Handle>) -> Self {
        let pid = handle.pids().first().copied().unwrap_or(0);
        if pid > 0 {
            live().insert(pid as i32);
        }
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

impl Drop for GroupLeader {
    fn drop(&mut self) {
        live().remove(&(self.pid as i32));
    }
}

/// For `pre_exec`: the child gets SIGKILL when vigil dies, even by SIGKILL (which vigil cannot
/// answer), so a killed run leaves no test process running on. Linux; elsewhere a no-op.
pub fn die_with_vigil() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(PR_SET_PDEATHSIG) takes one integer argument, touches no memory, and is
    // async-signal-safe (it runs between fork and exec).
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
    }
}

/// SIGKILLs every live group: the second Ctrl-C, when vigil leaves without waiting.
pub fn kill_all_groups() {
    for group in live().iter() {
        // SAFETY: as in `signal_group`.
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
    }
}

/// The registry, usable even if a thread panicked while holding it (it is only a set of ints).
fn live() -> std::sync::MutexGuard<'static, BTreeSet<i32>> {
    LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
