//! One pytest worker process: started with duct in its own process group, handed the write end
//! of a pipe as fd 3 for the plugin's events, its terminal output spooled to a file.
//! Two threads per worker report to the coordinator: one reads event lines, one waits for exit.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::mpsc::Sender;
use std::sync::Arc;

use serde::Serialize;

use super::process_group::{die_with_vigil, GroupLeader};
use super::wire::{self, WireEvent};

/// The fd the plugin writes events to (`VIGIL_EVENT_FD`).
const EVENT_FD: i32 = 3;

/// Longest event line read into memory; longer lines are dropped and reported. The plugin caps
/// captured output well below this, so only a broken plugin or a hostile test gets here.
const MAX_LINE: u64 = 32 << 20;

/// The files a worker owns, written to `VIGIL_ASSIGNMENT` for the plugin.
#[derive(Debug, Clone, Serialize)]
pub struct Assignment {
    pub mine: Vec<String>,
    pub others: Vec<String>,
    pub claim_unknown: bool,
    pub exclude: Vec<String>,
    pub capture_cap: usize,
    /// Where the whole of a section longer than the cap is written (`--capture-spool`).
    pub capture_spool: Option<PathBuf>,
    /// vigil's plan for the plugin: tiers, gates, capability probe results.
    pub plan: serde_json::Value,
}

/// How to start a worker.
pub struct Launch<'a> {
    pub python: &'a Path,
    pub cwd: &'a Path,
    pub pytest_args: &'a [OsString],
    pub plugin_dir: &'a Path,
    pub scratch: &'a Path,
}

/// What the worker threads tell the coordinator.
#[derive(Debug)]
pub enum Message {
    Event(WireEvent),
    BadLine(String),
    /// The event pipe closed: every event the worker wrote has been delivered.
    Eof,
    Exited(std::io::Result<ExitStatus>),
}

/// A tagged message: which worker, and which start of it (workers are restarted after a crash).
#[derive(Debug)]
pub struct Envelope {
    pub worker: usize,
    pub generation: u32,
    pub message: Message,
}

/// A running worker process.
pub struct Worker {
    group: GroupLeader,
    pub pid: u32,
    /// pytest's own terminal output (stdout and stderr), for crash and usage-error reports.
    pub log: PathBuf,
}

impl Worker {
    pub fn spawn(
        launch: &Launch,
        assignment: &Assignment,
        (worker, generation): (usize, u32),
        tx: &Sender<Envelope>,
    ) -> std::io::Result<Worker> {
        let tag = format!("worker-{worker}-{generation}");
        let assignment_path = launch.scratch.join(format!("{tag}.json"));
        std::fs::write(&assignment_path, serde_json::to_vec(assignment)?)?;
        let log = launch.scratch.join(format!("{tag}.log"));
        let (reader, writer) = std::io::pipe()?;
        let handle = Arc::new(command(launch, &assignment_path, &log, writer.as_raw_fd()).start()?);
        drop(writer); // the child holds the only write end now: EOF means the worker is gone
        spawn_reader(reader, worker, generation, tx.clone());
        spawn_waiter(Arc::clone(&handle), worker, generation, tx.clone());
        let group = GroupLeader::new(handle);
        Ok(Worker {
            pid: group.pid,
            group,
            log,
        })
    }

    /// Sends `signal` to the worker's whole process group (pytest and anything it started).
    pub fn signal_group(&self, signal: i32) {
        self.group.signal_group(signal);
    }

    /// Kills the process group, then reaps pytest itself through duct.
    pub fn kill(&self) {
        self.group.kill();
    }

    /// The last `max` bytes of pytest's terminal output.
    pub fn log_tail(&self, max: u64) -> String {
        tail(&self.log, max)
    }
}

fn command(launch: &Launch, assignment: &Path, log: &Path, event_fd: i32) -> duct::Expression {
    let mut args: Vec<OsString> = vec![
        "-m".into(),
        "pytest".into(),
        "-p".into(),
        super::plugin::MODULE.into(),
    ];
    // One broken file must not stop the others (pytest's default is to stop on collection errors).
    args.push("--continue-on-collection-errors".into());
    // vigil's plugin honours pytest-dependency's marker itself, across files; the plugin, if
    // installed, would skip by its own (file-order) rules as well.
    args.extend(["-p".into(), "no:dependency".into()]);
    // vigil retries (`--retries`, `@pytest.mark.flaky(reruns=N)`) by node id after diagnosis;
    // pytest-rerunfailures, if installed, would rerun inside the worker as well.
    args.extend(["-p".into(), "no:rerunfailures".into()]);
    args.extend(launch.pytest_args.iter().cloned());
    // As an OsStr, not a Path: duct runs a relative Path as `./name`, so the bare `python3`
    // fallback would never be looked up on PATH. `python::locate` makes real paths absolute.
    duct::cmd(launch.python.as_os_str(), args)
        .dir(launch.cwd)
        .env("VIGIL_EVENT_FD", EVENT_FD.to_string())
        .env("VIGIL_ASSIGNMENT", assignment)
        .env("PYTHONPATH", python_path(launch.plugin_dir))
        .stdin_null()
        // duct applies the outer redirection first: stdout goes to the log, then stderr joins it.
        .stderr_to_stdout()
        .stdout_path(log)
        .unchecked()
        .before_spawn(move |cmd| {
            cmd.process_group(0);
            // SAFETY: only async-signal-safe calls (dup2, fcntl, prctl) between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    die_with_vigil();
                    hand_over_fd(event_fd)
                });
            }
            Ok(())
        })
}

/// Puts the pipe's write end at fd 3 in the child, without close-on-exec.
fn hand_over_fd(fd: i32) -> std::io::Result<()> {
    // SAFETY: plain fd syscalls in the forked child.
    let rc = unsafe {
        if fd == EVENT_FD {
            libc::fcntl(fd, libc::F_SETFD, 0)
        } else {
            libc::dup2(fd, EVENT_FD)
        }
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn python_path(plugin_dir: &Path) -> OsString {
    let mut value = plugin_dir.as_os_str().to_owned();
    if let Some(existing) = std::env::var_os("PYTHONPATH").filter(|v| !v.is_empty()) {
        value.push(":");
        value.push(existing);
    }
    value
}

fn spawn_reader(pipe: std::io::PipeReader, worker: usize, generation: u32, tx: Sender<Envelope>) {
    std::thread::spawn(move || {
        let mut send = |message| {
            tx.send(Envelope {
                worker,
                generation,
                message,
            })
            .is_ok()
        };
        let reader = BufReader::with_capacity(1 << 16, pipe);
        if read_events(reader, MAX_LINE, &mut send) {
            send(Message::Eof);
        }
    });
}

/// Reads event lines until the end of `reader`, sending each event, or a bad line's report;
/// a line over `max_line` bytes is skipped unread. False when `send` says the coordinator
/// is gone.
pub(super) fn read_events(
    mut reader: impl BufRead,
    max_line: u64,
    send: &mut dyn FnMut(Message) -> bool,
) -> bool {
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut reader).take(max_line).read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return true,
            Ok(_) if !line.ends_with(b"\n") && line.len() as u64 >= max_line => {
                skip_rest_of_line(&mut reader);
                let report = format!("an event line over {max_line} bytes was dropped");
                if !send(Message::BadLine(report)) {
                    return false;
                }
            }
            Ok(_) => {
                // Bytes that are not UTF-8 (a file name Python holds with surrogateescape,
                // junk a test wrote) read as U+FFFD, as vigil shows such paths everywhere.
                let text = String::from_utf8_lossy(&line);
                for parsed in wire::parse_line(text.trim_end()) {
                    let message = match parsed {
                        Ok(event) => Message::Event(event),
                        Err(error) => Message::BadLine(error),
                    };
                    if !send(message) {
                        return false;
                    }
                }
            }
        }
    }
}

fn skip_rest_of_line(reader: &mut impl BufRead) {
    let mut sink = Vec::new();
    while reader
        .by_ref()
        .take(1 << 16)
        .read_until(b'\n', &mut sink)
        .is_ok_and(|n| n > 0)
    {
        if sink.ends_with(b"\n") {
            break;
        }
        sink.clear();
    }
}

fn spawn_waiter(handle: Arc<duct::Handle>, worker: usize, generation: u32, tx: Sender<Envelope>) {
    std::thread::spawn(move || {
        let status = handle.wait().map(|output| output.status);
        let _ = tx.send(Envelope {
            worker,
            generation,
            message: Message::Exited(status),
        });
    });
}

/// The last `max` bytes of a file, lossily decoded.
pub(super) fn tail(path: &Path, max: u64) -> String {
    use std::io::{Seek, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(max)));
    let mut bytes = Vec::new();
    let _ = file.take(max).read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}
