//! vigil's own peak memory while a test prints 50 MB (fixtures/big_output).

use crate::paths;
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

const TARGET_MB: u64 = 64;

/// The one-line result for the report; failures are reported in the line, not raised,
/// so the timing table survives a memory-probe problem.
pub fn report(vigil: &Path, python: &Path) -> String {
    let dir = paths::repo().join("fixtures").join("big_output");
    if !dir.exists() {
        return format!(
            "vigil peak RSS: not measured, {} does not exist",
            dir.display()
        );
    }
    match peak_rss_kb(vigil, python, &dir) {
        Ok(kb) => format!(
            "vigil peak RSS while a test prints 50 MB: {} MB (target < {TARGET_MB} MB: {})",
            kb / 1024,
            if kb < TARGET_MB * 1024 { "ok" } else { "MISS" }
        ),
        Err(err) => format!("vigil peak RSS: not measured: {err:#}"),
    }
}

/// Polls VmHWM of the vigil process itself (not its pytest children, which rusage would
/// include) every 20 ms and keeps the last value read before it exits.
fn peak_rss_kb(vigil: &Path, python: &Path, dir: &Path) -> Result<u64> {
    eprintln!("bench: measuring vigil's peak RSS on {}", dir.display());
    let mut child = Command::new(vigil)
        .arg("run")
        .arg("--python")
        .arg(python)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("could not start vigil")?;
    let status_file = format!("/proc/{}/status", child.id());
    let mut last = None;
    let status = loop {
        // Read before try_wait: once reaped, the /proc entry is gone.
        last = read_hwm_kb(&status_file).or(last);
        if let Some(status) = child.try_wait()? {
            break status;
        }
        thread::sleep(Duration::from_millis(20));
    };
    if !matches!(status.code(), Some(0 | 1)) {
        bail!("vigil exited with {status} on fixtures/big_output");
    }
    last.context("vigil exited before its memory could be read")
}

/// `VmHWM:   12345 kB` from /proc/<pid>/status; None for a zombie or a vanished process.
fn read_hwm_kb(status_file: &str) -> Option<u64> {
    let text = fs::read_to_string(status_file).ok()?;
    parse_hwm_kb(&text)
}

fn parse_hwm_kb(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::parse_hwm_kb;

    #[test]
    fn reads_vmhwm() {
        assert_eq!(
            parse_hwm_kb("Name:\tvigil\nVmPeak:\t  9000 kB\nVmHWM:\t    4321 kB\n"),
            Some(4321)
        );
        assert_eq!(parse_hwm_kb("Name:\tvigil\nState:\tZ (zombie)\n"), None);
    }

    #[test]
    fn reads_own_process() {
        let kb = super::read_hwm_kb("/proc/self/status").unwrap();
        assert!(kb > 0);
    }
}
