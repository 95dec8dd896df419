//! A vigil started by a test with its output in files (a pipe nobody reads while waiting
//! could fill and block it), waited for under a guard that turns a hang into a failure.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use libtest_mimic::Failed;

/// Sends the command's stdout and stderr to `vigil.out` and `vigil.err` in `dir`.
pub fn output_to_files(command: &mut Command, dir: &Path) -> Result<(), Failed> {
    command
        .stdout(Stdio::from(File::create(dir.join("vigil.out"))?))
        .stderr(Stdio::from(File::create(dir.join("vigil.err"))?));
    Ok(())
}

/// Waits for `child` (started with `output_to_files` in `dir`) at most `guard`: its exit code
/// and everything it printed. Killed by a signal or past the guard is an error.
pub fn wait_guarded(
    dir: &Path,
    mut child: Child,
    guard: Duration,
) -> Result<(i32, String), Failed> {
    let deadline = Instant::now() + guard;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err(format!("vigil did not finish within {guard:?}").into());
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let text = ["vigil.out", "vigil.err"]
        .iter()
        .map(|name| std::fs::read_to_string(dir.join(name)).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let code = status
        .code()
        .ok_or_else(|| format!("vigil was killed by a signal: {status}\n{text}"))?;
    Ok((code, text))
}
