//! Ctrl-C and SIGTERM for the commands that run tests. The first asks the run to stop: workers
//! get SIGINT, a grace period, then SIGKILL, and the reports are still written. The second
//! stops at once: every test process and descendant is killed and vigil exits 2. And SIGPIPE
//! for the commands that only read: `vigil list | head` ends as `git log | head` does.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use vigil::execute::{descendants, kill_all_groups};
use vigil::exit::ExitCode;
use vigil::interrupt::Latch;

/// What a signal changes: the flag the run loops watch, and the latch that decides whether
/// the run counts as interrupted.
#[derive(Clone)]
pub struct Interrupts {
    pub cancel: Arc<AtomicBool>,
    pub latch: Arc<Latch>,
}

/// Listens for SIGINT and SIGTERM on a thread of its own (so the second signal is answered
/// even while the main thread is busy), for the rest of the process.
pub fn install() -> Interrupts {
    let interrupts = Interrupts {
        cancel: Arc::new(AtomicBool::new(false)),
        latch: Arc::new(Latch::new()),
    };
    let mut signals = match Signals::new([SIGINT, SIGTERM]) {
        Ok(signals) => signals,
        Err(error) => {
            eprintln!(
                "vigil: warning: cannot listen for Ctrl-C ({error}); it will kill vigil outright"
            );
            return interrupts;
        }
    };
    let listener = interrupts.clone();
    std::thread::spawn(move || {
        let mut first = true;
        for _ in signals.forever() {
            if !first {
                stop_now();
            }
            first = false;
            if listener.latch.request() {
                listener.cancel.store(true, Ordering::SeqCst);
                // Not eprintln!: with stderr closed it would panic and end this thread, and
                // with it the answer to a second signal.
                let _ = writeln!(
                    std::io::stderr(),
                    "vigil: interrupted: stopping the tests (interrupt again to kill them now)"
                );
            }
        }
    });
    interrupts
}

/// The second signal: no grace, no reports. What is not yet in history stays out of it
/// (SQLite rolls an unfinished write back), and no test process is left running.
fn stop_now() -> ! {
    eprintln!("vigil: interrupted again: killing every test process and stopping now");
    descendants::kill_tree_now();
    kill_all_groups();
    // SAFETY: _exit ends the process without running destructors or atexit handlers, which
    // could block on locks the interrupted main thread holds.
    unsafe { libc::_exit(ExitCode::Interrupted.code()) }
}

/// For a command that only reads and prints: a reader that closed the pipe (`| head`) ends
/// vigil by SIGPIPE, silently, as it ends `cat` or `git log`. Rust ignores SIGPIPE, so
/// without this the next `println!` panics on the broken pipe. Commands that run tests or
/// write keep ignoring it: they finish their run, history and reports with stdout gone.
pub fn die_quietly_when_stdout_closes() {
    // SAFETY: restores the default disposition of one signal before any thread is started.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
}
