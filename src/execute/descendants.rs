//! No process outlives a run: vigil becomes the child subreaper (Linux), so what tests start
//! and abandon — a daemon, a `start_new_session` grandchild that left the worker's process
//! group — is re-parented to vigil instead of init, and killed when the run ends.

use std::time::{Duration, Instant};

/// A process left behind by the run, as it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    pub pid: i32,
    pub command: String,
}

/// Makes this process the reaper of its orphaned descendants. Process-wide and inherited by
/// nothing, so only the `vigil` binary calls it (never a library user or a test harness,
/// whose other children it would then adopt).
pub fn adopt_orphans() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes one integer argument and touches no memory.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
}

/// Kills every child process of vigil and reaps it, round after round, since a killed
/// child's own children are re-parented to vigil in turn. Call only when vigil has no child
/// it still needs. Returns what was found alive (zombies are reaped without a mention).
pub fn kill_all() -> Vec<Leftover> {
    let mut found = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let children = children();
        if children.is_empty() || Instant::now() > deadline {
            return found;
        }
        for child in &children {
            if !child.zombie {
                found.push(Leftover {
                    pid: child.pid,
                    command: command_line(child.pid),
                });
                // SAFETY: kill(2) on a pid that is our own child; a group of its own goes too.
                unsafe {
                    libc::kill(-child.pid, libc::SIGKILL);
                    libc::kill(child.pid, libc::SIGKILL);
                }
            }
        }
        for child in &children {
            reap(child.pid);
        }
    }
}

/// [`kill_all`], and what a user is told of it: `killed 2 processes the tests left running:`
/// then a `    pid N command` line each; `None` when nothing was left.
pub fn kill_leftovers() -> Option<String> {
    let leftovers = kill_all();
    if leftovers.is_empty() {
        return None;
    }
    let s = if leftovers.len() == 1 { "" } else { "es" };
    let mut said = format!(
        "killed {} process{s} the tests left running:",
        leftovers.len()
    );
    for leftover in leftovers {
        said.push_str(&format!("\n    pid {} {}", leftover.pid, leftover.command));
    }
    Some(said)
}

/// SIGKILLs every descendant at once — children, their children, whatever session they are
/// in — found in one pass over /proc before anything is killed, and returns without waiting:
/// for leaving right now (a second Ctrl-C), where reaping would give the main thread time to
/// go on with a run that is being abandoned.
pub fn kill_tree_now() {
    let all = processes();
    let mut tree = vec![std::process::id() as i32];
    let mut index = 0;
    while index < tree.len() {
        let parent = tree[index];
        tree.extend(all.iter().filter(|p| p.parent == parent).map(|p| p.pid));
        index += 1;
    }
    for pid in tree.into_iter().skip(1) {
        // SAFETY: kill(2) on our own descendants; no memory involved.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

struct Process {
    pid: i32,
    parent: i32,
    zombie: bool,
}

/// Every process in /proc, with its parent and whether it is a zombie.
fn processes() -> Vec<Process> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (state, parent) = state_and_parent(&stat)?;
            Some(Process {
                pid,
                parent,
                zombie: state == 'Z',
            })
        })
        .collect()
}

/// Direct children of this process.
fn children() -> Vec<Process> {
    let me = std::process::id() as i32;
    processes().into_iter().filter(|p| p.parent == me).collect()
}

/// The state and parent pid of a `/proc/PID/stat` line. The command name in parentheses may
/// hold spaces and parentheses itself, so fields are counted after the last `)`.
fn state_and_parent(stat: &str) -> Option<(char, i32)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

fn command_line(pid: i32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let text = String::from_utf8_lossy(&raw).replace('\0', " ");
    let text = text.trim();
    let mut short: String = text.chars().take(120).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

/// Waits for a killed child, briefly: one stuck in uninterruptible sleep is left to init.
fn reap(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let mut status = 0;
        // SAFETY: waitpid on our own child, with a valid pointer to a local.
        let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if done != 0 || Instant::now() > deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_read_after_the_command_name() {
        let stat = "4242 (we (ird) name) S 17 4242 4242 0 -1 4194560 ...";
        assert_eq!(state_and_parent(stat), Some(('S', 17)));
        assert_eq!(state_and_parent("1 (init"), None);
    }
}
