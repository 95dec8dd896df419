//! Looking for processes from the outside, through /proc: what a run left behind (by working
//! directory, or by a marker in its command line or environment, which survives `chdir` and
//! new sessions), and how much memory a running process has used at its peak.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Writes `tests/test_leaves_a_sleeper.py` in `dir`: a passing test that starts a process in
/// a session of its own (out of its worker's group, as a test server might) and returns
/// without stopping it. `mark` is on the sleeper's command line, for [`processes_marked`].
pub fn write_leaky_test(dir: &Path, mark: &str) -> std::io::Result<()> {
    let test = format!(
        r#"import subprocess, sys


def test_leaves_a_sleeper():
    sleeper = [sys.executable, "-c", "import time; time.sleep(600)", "{mark}"]
    subprocess.Popen(sleeper, start_new_session=True)
"#
    );
    std::fs::write(dir.join("tests/test_leaves_a_sleeper.py"), test)
}

/// Processes whose working directory is inside `dir` (pytest workers run there).
pub fn processes_in(dir: &Path) -> Vec<String> {
    scan(|pid| std::fs::read_link(pid.join("cwd")).is_ok_and(|cwd| cwd.starts_with(dir)))
}

/// Processes with `mark` in their command line or their environment: every descendant of a
/// run started with `mark` in its environment, wherever it moved and whatever group it joined.
pub fn processes_marked(mark: &str) -> Vec<String> {
    let needle = mark.as_bytes();
    let holds = |bytes: Vec<u8>| bytes.windows(needle.len()).any(|w| w == needle);
    let me = std::process::id().to_string();
    scan(|pid| {
        pid.file_name().is_some_and(|name| name != me.as_str())
            && (holds(std::fs::read(pid.join("cmdline")).unwrap_or_default())
                || holds(std::fs::read(pid.join("environ")).unwrap_or_default()))
    })
}

/// Marked processes still there after a moment to disappear (a killed process is reaped by
/// init, not at once).
pub fn survivors(mark: &str) -> Vec<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let left = processes_marked(mark);
        if left.is_empty() || std::time::Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `pid command line` of every process in /proc that `keep` accepts (given `/proc/PID`).
fn scan(keep: impl Fn(&Path) -> bool) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .chars()
                .all(|c| c.is_ascii_digit())
        })
        .filter(|e| keep(&e.path()))
        .filter_map(|e| {
            let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            // A zombie has no command line: it is dead already, only not yet reaped.
            (!cmdline.is_empty()).then(|| {
                format!(
                    "{} {}",
                    e.file_name().to_string_lossy(),
                    String::from_utf8_lossy(&cmdline)
                        .replace('\0', " ")
                        .trim_end()
                )
            })
        })
        .collect()
}

/// Samples a process's peak resident memory (`VmHWM`, its own, not its children's) until it
/// is gone. Since the kernel keeps the peak, the last sample is the peak up to then.
pub struct PeakMemory {
    kib: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PeakMemory {
    pub fn watch(pid: u32) -> PeakMemory {
        let kib = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, stopping) = (Arc::clone(&kib), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            let status = format!("/proc/{pid}/status");
            while !stopping.load(Ordering::SeqCst) {
                let Ok(text) = std::fs::read_to_string(&status) else {
                    return;
                };
                if let Some(value) = vm_hwm_kib(&text) {
                    seen.fetch_max(value, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        PeakMemory {
            kib,
            stop,
            thread: Some(thread),
        }
    }

    /// The peak seen, in MiB; stops sampling.
    pub fn mib(mut self) -> f64 {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.kib.load(Ordering::SeqCst) as f64 / 1024.0
    }
}

fn vm_hwm_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
