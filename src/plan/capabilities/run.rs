//! Running one probe: an environment variable, an executable, a TCP connection, or `sh -c` in
//! its own process group that is killed as a whole on timeout.

use std::io::Read;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::config::{split_address, Probe};

/// How long a finished command's output may take to arrive: a background child it left behind
/// can hold the pipes open indefinitely.
const OUTPUT_GRACE: Duration = Duration::from_millis(200);
/// Captured command output kept per stream; the rest is read and dropped.
const OUTPUT_LIMIT: usize = 64 * 1024;

/// `Err` carries a short explanation of why the capability is missing.
pub(super) fn run_probe(probe: &Probe, timeout: Duration) -> Result<(), String> {
    match probe {
        Probe::Env(name) => probe_env(name),
        Probe::Bin(name) => probe_bin(name),
        Probe::Tcp(address) => probe_tcp(address, timeout),
        Probe::Command(command) => probe_command(command, timeout),
    }
}

fn probe_env(name: &str) -> Result<(), String> {
    if name.is_empty() || name.contains('=') {
        return Err("not a variable name".to_string());
    }
    match std::env::var_os(name) {
        None => Err("not set".to_string()),
        Some(value) if value.is_empty() => Err("set but empty".to_string()),
        Some(_) => Ok(()),
    }
}

fn probe_bin(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty name".to_string());
    }
    if name.contains('/') {
        return match is_executable(Path::new(name)) {
            true => Ok(()),
            false => Err("not an executable file".to_string()),
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        // An empty PATH entry means the working directory to a shell; vigil doesn't guess.
        .filter(|dir| !dir.as_os_str().is_empty())
        .any(|dir| is_executable(&dir.join(name)))
        .then_some(())
        .ok_or_else(|| "not on PATH".to_string())
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn probe_tcp(address: &str, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let (host, port) = split_address(address)?;
    let addrs = resolve(host, port, timeout)?;
    let mut last = format!("{host} has no addresses");
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("timed out after {}", secs(timeout)));
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(_) => return Ok(()),
            Err(e) => last = connect_problem(&e, timeout),
        }
    }
    Err(last)
}

/// Name lookup can't be cancelled, so it runs on a thread that is abandoned on timeout.
fn resolve(host: &str, port: u16, timeout: Duration) -> Result<Vec<SocketAddr>, String> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (tx, rx) = mpsc::channel();
    let owned = host.to_string();
    std::thread::spawn(move || {
        let _ = tx.send((owned.as_str(), port).to_socket_addrs().map(Vec::from_iter));
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok(addrs)) => Ok(addrs),
        Ok(Err(e)) => Err(format!("cannot resolve {host}: {e}")),
        Err(_) => Err(format!(
            "resolving {host} timed out after {}",
            secs(timeout)
        )),
    }
}

fn connect_problem(error: &std::io::Error, timeout: Duration) -> String {
    match error.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
        std::io::ErrorKind::TimedOut => format!("timed out after {}", secs(timeout)),
        _ => error.to_string(),
    }
}

/// Runs `sh -c command` in its own process group; on timeout the whole group is killed, so
/// whatever the command started dies with it.
fn probe_command(command: &str, timeout: Duration) -> Result<(), String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start sh: {e}"))?;
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let status = match rx.recv_timeout(timeout) {
        Ok(status) => status.map_err(|e| format!("cannot wait for sh: {e}"))?,
        Err(RecvTimeoutError::Timeout) => {
            kill_group(pid);
            // Reaped by the waiter thread; SIGKILL makes that prompt.
            let _ = rx.recv_timeout(Duration::from_secs(1));
            return Err(format!("timed out after {}", secs(timeout)));
        }
        Err(RecvTimeoutError::Disconnected) => return Err("lost track of sh".to_string()),
    };
    if status.success() {
        return Ok(());
    }
    Err(exit_problem(status, [stderr, stdout]))
}

fn kill_group(pid: u32) {
    if let Ok(pgid) = libc::pid_t::try_from(pid) {
        // SAFETY: plain syscall; the group is the child's own (process_group(0)).
        unsafe {
            libc::killpg(pgid, libc::SIGKILL);
        }
    }
}

/// Reads a stream to its end on a thread, keeping the first `OUTPUT_LIMIT` bytes.
fn drain(mut stream: impl Read + Send + 'static) -> Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let _ = (&mut stream)
            .take(OUTPUT_LIMIT as u64)
            .read_to_end(&mut kept);
        let _ = std::io::copy(&mut stream, &mut std::io::sink());
        let _ = tx.send(kept);
    });
    rx
}

/// `exit status 1: <last line of stderr, else stdout>`.
fn exit_problem(status: ExitStatus, outputs: [Option<Receiver<Vec<u8>>>; 2]) -> String {
    let status = match status.code() {
        Some(code) => format!("exit status {code}"),
        None => status.to_string(),
    };
    let line = outputs.into_iter().flatten().find_map(|rx| {
        let bytes = rx.recv_timeout(OUTPUT_GRACE).ok()?;
        let text = String::from_utf8_lossy(&bytes);
        let last = text.lines().rev().find(|l| !l.trim().is_empty())?;
        Some(shorten(last.trim(), 200))
    });
    match line {
        Some(line) => format!("{status}: {line}"),
        None => status,
    }
}

fn shorten(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// `0.3s`, `5s`.
pub(super) fn secs(duration: Duration) -> String {
    format!("{}s", duration.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::net::TcpListener;

    use super::*;
    use crate::plan::capabilities::test_fixtures::{config, postgres_on, scratch};
    use crate::plan::capabilities::{CapabilityConfig, Probes, Requirement};

    /// A port nothing listens on: bound, then released.
    fn closed_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.local_addr().expect("local addr").port()
    }

    fn check_one(req: Requirement, named: &BTreeMap<String, CapabilityConfig>) -> Option<String> {
        let probes = Probes::check([req.clone()], named);
        probes.missing(&req).map(str::to_string)
    }

    #[test]
    fn service_present_when_listening_and_refused_when_not() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let open = listener.local_addr().expect("local addr").port();
        let closed = closed_port();
        let none = BTreeMap::new();
        assert_eq!(
            check_one(Requirement::Service(format!("127.0.0.1:{open}")), &none),
            None
        );
        assert_eq!(
            check_one(Requirement::Service(format!("localhost:{open}")), &none),
            None
        );
        assert_eq!(
            check_one(Requirement::Service(format!("127.0.0.1:{closed}")), &none).as_deref(),
            Some(format!("requires service 127.0.0.1:{closed} (connection refused)").as_str())
        );
    }

    #[test]
    fn bad_service_address_is_missing_with_the_problem() {
        let reason = check_one(Requirement::Service("nowhere".into()), &BTreeMap::new());
        assert_eq!(
            reason.as_deref(),
            Some("requires service nowhere (\"nowhere\" is not host:port)")
        );
        assert_eq!(split_address("[::1]:8080"), Ok(("::1", 8080)));
        assert_eq!(split_address("db.local:5432"), Ok(("db.local", 5432)));
    }

    #[test]
    fn named_tcp_reason_names_the_probe_or_uses_the_configured_reason() {
        let port = closed_port();
        let named = postgres_on(port);
        let req = Requirement::Named("postgres".into());
        assert_eq!(
            check_one(req.clone(), &named),
            Some(format!(
                "requires postgres: tcp:127.0.0.1:{port} (connection refused)"
            ))
        );
        let with_reason = config(&format!(
            "[postgres]\nprobe = \"tcp:127.0.0.1:{port}\"\nreason = \"run `make db` first\"\n"
        ));
        assert_eq!(
            check_one(req, &with_reason).as_deref(),
            Some("run `make db` first")
        );
    }

    #[test]
    fn env_set_unset_and_empty() {
        let set = "VIGIL_CAPS_TEST_SET_7F3A";
        let empty = "VIGIL_CAPS_TEST_EMPTY_7F3A";
        std::env::set_var(set, "yes");
        std::env::set_var(empty, "");
        let probes = Probes::check(
            [set, empty, "VIGIL_CAPS_TEST_UNSET_7F3A"].map(|n| Requirement::Env(n.into())),
            &BTreeMap::new(),
        );
        assert_eq!(probes.missing(&Requirement::Env(set.into())), None);
        assert_eq!(
            probes.missing(&Requirement::Env(empty.into())),
            Some("requires env VIGIL_CAPS_TEST_EMPTY_7F3A (set but empty)")
        );
        assert_eq!(
            probes.missing(&Requirement::Env("VIGIL_CAPS_TEST_UNSET_7F3A".into())),
            Some("requires env VIGIL_CAPS_TEST_UNSET_7F3A (not set)")
        );
    }

    #[test]
    fn bin_on_path_by_path_and_missing() {
        let none = BTreeMap::new();
        assert_eq!(check_one(Requirement::Bin("sh".into()), &none), None);
        assert_eq!(check_one(Requirement::Bin("/bin/sh".into()), &none), None);
        assert_eq!(
            check_one(
                Requirement::Bin("definitely-not-a-binary-xyz".into()),
                &none
            )
            .as_deref(),
            Some("requires bin definitely-not-a-binary-xyz (not on PATH)")
        );
        let dir = scratch("bin");
        let plain = dir.join("plain");
        std::fs::write(&plain, "").expect("write file");
        let plain = plain.display().to_string();
        assert_eq!(
            check_one(Requirement::Bin(plain.clone()), &none),
            Some(format!("requires bin {plain} (not an executable file)"))
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn commands_pass_fail_and_report_their_output() {
        let named = config(
            "[yes]\nprobe = \"cmd:true\"\n\
             [no]\nprobe = \"cmd:echo ignored; echo 'db is down' >&2; exit 3\"\n",
        );
        let probes = Probes::check(["yes", "no"].map(|n| Requirement::Named(n.into())), &named);
        assert_eq!(probes.missing(&Requirement::Named("yes".into())), None);
        assert_eq!(
            probes.missing(&Requirement::Named("no".into())),
            Some(
                "requires no: cmd:echo ignored; echo 'db is down' >&2; exit 3 \
                 (exit status 3: db is down)"
            )
        );
    }

    #[test]
    fn command_false_is_missing() {
        let named = config("[f]\nprobe = \"cmd:false\"\n");
        assert_eq!(
            check_one(Requirement::Named("f".into()), &named).as_deref(),
            Some("requires f: cmd:false (exit status 1)")
        );
    }

    #[test]
    fn command_timeout_kills_the_whole_process_group() {
        let dir = scratch("timeout");
        let pid_file = dir.join("pid");
        // The background `sleep` is a real child of sh (a lone `sleep 30` may be exec'd in place).
        let named = config(&format!(
            "[slow]\nprobe = \"cmd:sleep 30 & echo $! > {}; wait\"\ntimeout = 0.3\n",
            pid_file.display()
        ));
        let reason = check_one(Requirement::Named("slow".into()), &named).expect("missing");
        assert!(reason.ends_with("(timed out after 0.3s)"), "{reason}");
        // On a badly overloaded machine sh may be killed before it starts the sleep; then there
        // is nothing left to check.
        let written = std::fs::read_to_string(&pid_file).unwrap_or_default();
        if let Ok(pid) = written.trim().parse::<u32>() {
            assert!(
                wait_until_gone(pid),
                "sleep (pid {pid}) survived the probe's timeout"
            );
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    /// Whether `pid` stops being a live `sleep` (zombies awaiting their reaper count as gone).
    /// Polls for a while because reparenting and reaping are asynchronous.
    fn wait_until_gone(pid: u32) -> bool {
        for _ in 0..500 {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let zombie = stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
            if stat.is_empty() || zombie || !cmdline.starts_with(b"sleep") {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }
}
