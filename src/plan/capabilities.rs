//! Capability probes: what a test's markers require (`requires_env`, `requires_bin`,
//! `requires_service`, `requires("name")` / `requires_<name>` for `[capabilities.<name>]`), and one
//! parallel check per run of whether each requirement is present, so missing ones become skips
//! with a reason instead of failures.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::Read;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::events::Marker;

/// Probe timeout when the config names none (and for `requires_service`).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Upper bound on any timeout, so deadlines never overflow `Instant`.
const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// Slack past the largest timeout before `Probes::check` stops waiting for a stuck probe.
const GRACE: Duration = Duration::from_millis(500);
/// How long a finished command's output may take to arrive: a background child it left behind
/// can hold the pipes open indefinitely.
const OUTPUT_GRACE: Duration = Duration::from_millis(200);
/// Captured command output kept per stream; the rest is read and dropped.
const OUTPUT_LIMIT: usize = 64 * 1024;

/// One thing a test needs to be present.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Requirement {
    /// An environment variable, set and non-empty.
    Env(String),
    /// An executable on `PATH`, or a path to an executable file.
    Bin(String),
    /// A TCP address (`host:port`, `[v6]:port`) that accepts a connection.
    Service(String),
    /// A `[capabilities.<name>]` table from the config.
    Named(String),
}

impl Requirement {
    /// Stable text form (`env:FOO`, `bin:git`, `service:127.0.0.1:5432`, `named:postgres`): the key
    /// of the probe results vigil hands its pytest plugin.
    pub fn key(&self) -> String {
        let (scheme, value) = self.parts();
        format!("{scheme}:{value}")
    }

    /// The inverse of [`Requirement::key`]; `None` for an unknown scheme.
    pub fn parse_key(key: &str) -> Option<Requirement> {
        let (scheme, value) = key.split_once(':')?;
        let value = value.to_string();
        match scheme {
            "env" => Some(Requirement::Env(value)),
            "bin" => Some(Requirement::Bin(value)),
            "service" => Some(Requirement::Service(value)),
            "named" => Some(Requirement::Named(value)),
            _ => None,
        }
    }

    /// What one marker requires. Markers that are not requirements give an empty result.
    pub fn from_marker(
        marker: &Marker,
        named: &BTreeMap<String, CapabilityConfig>,
    ) -> Result<Requirements, UnknownCapability> {
        let build: fn(String) -> Requirement = match marker.name.as_str() {
            "requires_env" => Requirement::Env,
            "requires_bin" => Requirement::Bin,
            "requires_service" => service_requirement,
            "requires" => return named_by_args(marker, named),
            other => {
                // `requires_<name>` only means something when the config defines <name>; otherwise
                // it is the project's own marker (its conftest may well handle it).
                return Ok(match other.strip_prefix("requires_") {
                    Some(name) if named.contains_key(name) => Requirements {
                        known: vec![Requirement::Named(name.to_string())],
                        unresolved: Vec::new(),
                    },
                    _ => Requirements::default(),
                });
            }
        };
        let mut found = Requirements::default();
        for arg in &marker.args {
            match arg.as_str() {
                Some(text) => found.push(build(text.to_string())),
                None => found.unresolved.push(Unresolved::new(marker, arg)),
            }
        }
        Ok(found)
    }

    fn parts(&self) -> (&'static str, &str) {
        match self {
            Requirement::Env(v) => ("env", v),
            Requirement::Bin(v) => ("bin", v),
            Requirement::Service(v) => ("service", v),
            Requirement::Named(v) => ("named", v),
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// `requires_service` accepts the same `tcp:` prefix as a configured probe.
fn service_requirement(address: String) -> Requirement {
    match address.strip_prefix("tcp:") {
        Some(rest) => Requirement::Service(rest.to_string()),
        None => Requirement::Service(address),
    }
}

/// `requires("a", "b")`: every name must be configured; unknown ones are the caller's usage error.
fn named_by_args(
    marker: &Marker,
    named: &BTreeMap<String, CapabilityConfig>,
) -> Result<Requirements, UnknownCapability> {
    let mut found = Requirements::default();
    let mut unknown = Vec::new();
    for arg in &marker.args {
        match arg.as_str() {
            Some(name) if named.contains_key(name) => {
                found.push(Requirement::Named(name.to_string()))
            }
            Some(name) => push_unique(&mut unknown, name.to_string()),
            None => found.unresolved.push(Unresolved::new(marker, arg)),
        }
    }
    if unknown.is_empty() {
        Ok(found)
    } else {
        Err(UnknownCapability::new(unknown, named))
    }
}

fn push_unique<T: PartialEq>(items: &mut Vec<T>, item: T) {
    if !items.contains(&item) {
        items.push(item);
    }
}

/// What a test's markers require, as far as vigil can tell without running Python.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirements {
    /// Distinct requirements in marker order.
    pub known: Vec<Requirement>,
    /// Requirement markers whose arguments are not string literals; the caller has to fall back
    /// (e.g. let the test run and decide at run time).
    pub unresolved: Vec<Unresolved>,
}

impl Requirements {
    fn push(&mut self, requirement: Requirement) {
        push_unique(&mut self.known, requirement);
    }

    fn extend(&mut self, other: Requirements) {
        for requirement in other.known {
            self.push(requirement);
        }
        self.unresolved.extend(other.unresolved);
    }
}

/// A requirement marker argument that is not a plain string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// The marker's name, e.g. `requires_env`.
    pub marker: String,
    /// The argument's source text (from `{"$expr": ...}`), or its JSON for other literals.
    pub expr: String,
}

impl Unresolved {
    fn new(marker: &Marker, arg: &serde_json::Value) -> Unresolved {
        let expr = match arg.get("$expr").and_then(|e| e.as_str()) {
            Some(source) => source.to_string(),
            None => arg.to_string(),
        };
        Unresolved {
            marker: marker.name.clone(),
            expr,
        }
    }
}

impl fmt::Display for Unresolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.marker, self.expr)
    }
}

/// `requires("name")` with a name the config does not define.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "requires({}) names {} the config does not define; add a [capabilities.<name>] table with a \
     probe to vigil.toml ([tool.vigil.capabilities.<name>] in pyproject.toml) ({})",
    quoted(.names), if .names.len() == 1 { "a capability" } else { "capabilities" },
    list_defined(.defined)
)]
pub struct UnknownCapability {
    /// The unknown names, in marker order.
    pub names: Vec<String>,
    /// The names the config does define, to spot a typo.
    pub defined: Vec<String>,
}

impl UnknownCapability {
    fn new(names: Vec<String>, named: &BTreeMap<String, CapabilityConfig>) -> UnknownCapability {
        UnknownCapability {
            names,
            defined: named.keys().cloned().collect(),
        }
    }
}

fn quoted(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    quoted.join(", ")
}

fn list_defined(names: &[String]) -> String {
    if names.is_empty() {
        "none are defined".to_string()
    } else {
        format!("defined: {}", names.join(", "))
    }
}

/// Everything a test's markers require. Unknown `requires("name")` names from all markers are
/// reported together.
pub fn requirements(
    markers: &[Marker],
    named: &BTreeMap<String, CapabilityConfig>,
) -> Result<Requirements, UnknownCapability> {
    let mut found = Requirements::default();
    let mut unknown = Vec::new();
    for marker in markers {
        match Requirement::from_marker(marker, named) {
            Ok(more) => found.extend(more),
            Err(error) => error
                .names
                .into_iter()
                .for_each(|n| push_unique(&mut unknown, n)),
        }
    }
    if unknown.is_empty() {
        Ok(found)
    } else {
        Err(UnknownCapability::new(unknown, named))
    }
}

/// A `[capabilities.<name>]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapabilityConfig {
    /// How to tell whether the capability is present.
    pub probe: Probe,
    /// Seconds the probe may take (default 5).
    #[serde(default, deserialize_with = "positive_seconds")]
    pub timeout: Option<f64>,
    /// Shown instead of the probe's own explanation when the capability is missing.
    pub reason: Option<String>,
}

impl CapabilityConfig {
    fn timeout(&self) -> Duration {
        self.timeout.map_or(DEFAULT_TIMEOUT, seconds)
    }
}

fn positive_seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let value = f64::deserialize(d)?;
    if value.is_finite() && value > 0.0 {
        Ok(Some(value))
    } else {
        Err(serde::de::Error::custom(format!(
            "timeout must be a positive number of seconds, not {value}"
        )))
    }
}

/// Seconds from the config as a duration; out-of-range values (only possible when built in code)
/// fall back to the default or the cap rather than panicking.
fn seconds(value: f64) -> Duration {
    if value.is_nan() || value <= 0.0 {
        return DEFAULT_TIMEOUT;
    }
    Duration::from_secs_f64(value.min(MAX_TIMEOUT.as_secs_f64()))
}

/// How a named capability is checked; written `scheme:value` in the config.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Probe {
    /// `tcp:host:port`: a TCP connection succeeds.
    Tcp(String),
    /// `env:NAME`: the variable is set and non-empty.
    Env(String),
    /// `bin:name`: an executable on `PATH` (or at that path).
    Bin(String),
    /// `cmd:<shell command>`: `sh -c` exits 0.
    Command(String),
}

/// A probe string that can't be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadProbe {
    #[error(
        "probe {0:?} has no known scheme; write tcp:host:port, env:NAME, bin:name or \
         cmd:<shell command>"
    )]
    Scheme(String),
    #[error("probe {0:?} is empty after its scheme")]
    Empty(String),
    #[error("probe {probe:?}: {problem}")]
    Address { probe: String, problem: String },
}

impl std::str::FromStr for Probe {
    type Err = BadProbe;

    fn from_str(text: &str) -> Result<Probe, BadProbe> {
        let (scheme, value) = text
            .split_once(':')
            .ok_or_else(|| BadProbe::Scheme(text.to_string()))?;
        if value.trim().is_empty() {
            return Err(BadProbe::Empty(text.to_string()));
        }
        let value = value.to_string();
        match scheme {
            "tcp" => match split_address(&value) {
                Ok(_) => Ok(Probe::Tcp(value)),
                Err(problem) => Err(BadProbe::Address {
                    probe: text.to_string(),
                    problem,
                }),
            },
            "env" => Ok(Probe::Env(value)),
            "bin" => Ok(Probe::Bin(value)),
            "cmd" => Ok(Probe::Command(value)),
            _ => Err(BadProbe::Scheme(text.to_string())),
        }
    }
}

impl TryFrom<String> for Probe {
    type Error = BadProbe;

    fn try_from(text: String) -> Result<Probe, BadProbe> {
        text.parse()
    }
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Probe::Tcp(v) => write!(f, "tcp:{v}"),
            Probe::Env(v) => write!(f, "env:{v}"),
            Probe::Bin(v) => write!(f, "bin:{v}"),
            Probe::Command(v) => write!(f, "cmd:{v}"),
        }
    }
}

/// The outcome of checking each requirement once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Probes {
    /// `None` when present, the skip reason when missing.
    results: BTreeMap<Requirement, Option<String>>,
}

impl Probes {
    /// Checks every distinct requirement once, each on its own thread and bounded by its timeout.
    /// Returns by the largest timeout plus a little even if a probe is stuck (e.g. in a name
    /// lookup); such a probe counts as missing.
    pub fn check(
        reqs: impl IntoIterator<Item = Requirement>,
        named: &BTreeMap<String, CapabilityConfig>,
    ) -> Probes {
        let distinct: BTreeSet<Requirement> = reqs.into_iter().collect();
        let (tx, rx) = mpsc::channel();
        let mut longest = Duration::ZERO;
        for requirement in &distinct {
            let job = Job::new(requirement, named);
            longest = longest.max(job.timeout);
            let (tx, requirement) = (tx.clone(), requirement.clone());
            std::thread::spawn(move || {
                let _ = tx.send((requirement, job.run()));
            });
        }
        drop(tx);
        collect(distinct, rx, longest + GRACE)
    }

    /// `None` when present; the reason when missing, e.g. `requires env FOO (not set)`.
    pub fn missing(&self, req: &Requirement) -> Option<&str> {
        match self.results.get(req) {
            Some(result) => result.as_deref(),
            // Running a test whose requirement nobody checked would hide a planning bug.
            None => Some("requirement was not probed before the run"),
        }
    }

    /// Every result, keyed by requirement.
    pub fn iter(&self) -> impl Iterator<Item = (&Requirement, Option<&str>)> {
        self.results.iter().map(|(r, m)| (r, m.as_deref()))
    }

    /// The results as vigil hands them to its pytest plugin: `{key: reason or null}`.
    pub fn to_json(&self) -> serde_json::Value {
        let map = self
            .results
            .iter()
            .map(|(r, m)| {
                (
                    r.key(),
                    m.clone().map_or(serde_json::Value::Null, Into::into),
                )
            })
            .collect();
        serde_json::Value::Object(map)
    }
}

impl FromIterator<(Requirement, Option<String>)> for Probes {
    fn from_iter<I: IntoIterator<Item = (Requirement, Option<String>)>>(iter: I) -> Probes {
        Probes {
            results: iter.into_iter().collect(),
        }
    }
}

/// Waits for every probe until `wait` has passed; stragglers count as missing.
fn collect(
    mut pending: BTreeSet<Requirement>,
    rx: Receiver<(Requirement, Option<String>)>,
    wait: Duration,
) -> Probes {
    let deadline = Instant::now() + wait;
    let mut results = BTreeMap::new();
    while !pending.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok((requirement, result)) = rx.recv_timeout(left) else {
            break;
        };
        pending.remove(&requirement);
        results.insert(requirement, result);
    }
    for requirement in pending {
        let reason = format!(
            "{} (probe did not finish within {})",
            describe(&requirement),
            secs(wait)
        );
        results.insert(requirement, Some(reason));
    }
    Probes { results }
}

/// One requirement's probe, ready to run on its own thread.
struct Job {
    requirement: Requirement,
    probe: Option<Probe>,
    timeout: Duration,
    reason: Option<String>,
}

impl Job {
    fn new(requirement: &Requirement, named: &BTreeMap<String, CapabilityConfig>) -> Job {
        let (probe, timeout, reason) = match requirement {
            Requirement::Env(v) => (Some(Probe::Env(v.clone())), Duration::ZERO, None),
            Requirement::Bin(v) => (Some(Probe::Bin(v.clone())), Duration::ZERO, None),
            Requirement::Service(v) => (Some(Probe::Tcp(v.clone())), DEFAULT_TIMEOUT, None),
            Requirement::Named(name) => match named.get(name) {
                Some(c) => (Some(c.probe.clone()), c.timeout(), c.reason.clone()),
                None => (None, Duration::ZERO, None),
            },
        };
        Job {
            requirement: requirement.clone(),
            probe,
            timeout,
            reason,
        }
    }

    /// `None` when present, otherwise the skip reason.
    fn run(self) -> Option<String> {
        let Some(probe) = &self.probe else {
            return Some(format!(
                "{} (no [capabilities.{}] in the config)",
                describe(&self.requirement),
                self.requirement.parts().1
            ));
        };
        let problem = run_probe(probe, self.timeout).err()?;
        if let Some(reason) = self.reason {
            return Some(reason);
        }
        Some(match &self.requirement {
            Requirement::Named(name) => format!("requires {name}: {probe} ({problem})"),
            other => format!("{} ({problem})", describe(other)),
        })
    }
}

/// `requires env FOO`, `requires bin git`, `requires service host:port`, `requires postgres`.
fn describe(requirement: &Requirement) -> String {
    match requirement {
        Requirement::Named(name) => format!("requires {name}"),
        other => {
            let (scheme, value) = other.parts();
            format!("requires {scheme} {value}")
        }
    }
}

/// `Err` carries a short explanation of why the capability is missing.
fn run_probe(probe: &Probe, timeout: Duration) -> Result<(), String> {
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

/// Host and port of `host:port` or `[v6]:port`.
fn split_address(address: &str) -> Result<(&str, u16), String> {
    let (host, port) = match address.strip_prefix('[') {
        Some(rest) => {
            let (host, after) = rest
                .split_once(']')
                .ok_or_else(|| format!("{address:?} has no closing ]"))?;
            let port = after
                .strip_prefix(':')
                .ok_or_else(|| format!("{address:?} has no :port after ]"))?;
            (host, port)
        }
        None => {
            let (host, port) = address
                .rsplit_once(':')
                .ok_or_else(|| format!("{address:?} is not host:port"))?;
            if host.contains(':') {
                return Err(format!(
                    "write the IPv6 address in {address:?} as [addr]:port"
                ));
            }
            (host, port)
        }
    };
    if host.is_empty() {
        return Err(format!("{address:?} has no host"));
    }
    let port = port
        .parse()
        .map_err(|_| format!("port {port:?} is not a number from 0 to 65535"))?;
    Ok((host, port))
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
fn secs(duration: Duration) -> String {
    format!("{}s", duration.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::path::PathBuf;

    use serde_json::json;

    use super::*;

    fn marker(name: &str, args: Vec<serde_json::Value>) -> Marker {
        Marker {
            name: name.to_string(),
            args,
            kwargs: serde_json::Map::new(),
        }
    }

    fn config(text: &str) -> BTreeMap<String, CapabilityConfig> {
        toml::from_str(text).expect("valid capabilities table")
    }

    fn postgres_on(port: u16) -> BTreeMap<String, CapabilityConfig> {
        config(&format!("[postgres]\nprobe = \"tcp:127.0.0.1:{port}\"\n"))
    }

    /// A port nothing listens on: bound, then released.
    fn closed_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.local_addr().expect("local addr").port()
    }

    fn check_one(req: Requirement, named: &BTreeMap<String, CapabilityConfig>) -> Option<String> {
        let probes = Probes::check([req.clone()], named);
        probes.missing(&req).map(str::to_string)
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vigil-caps-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    }

    #[test]
    fn keys_round_trip() {
        for req in [
            Requirement::Env("FOO".into()),
            Requirement::Bin("git".into()),
            Requirement::Service("127.0.0.1:5432".into()),
            Requirement::Service("[::1]:80".into()),
            Requirement::Named("postgres".into()),
            Requirement::Env(String::new()),
        ] {
            assert_eq!(Requirement::parse_key(&req.key()), Some(req.clone()));
        }
        assert_eq!(
            Requirement::Service("127.0.0.1:5432".into()).key(),
            "service:127.0.0.1:5432"
        );
        assert_eq!(Requirement::parse_key("http:x"), None);
        assert_eq!(Requirement::parse_key("env"), None);
    }

    #[test]
    fn builtin_markers_with_several_args_require_all() {
        let markers = [
            marker("requires_env", vec![json!("A"), json!("B")]),
            marker("requires_bin", vec![json!("git")]),
            marker(
                "requires_service",
                vec![json!("tcp:localhost:1"), json!("h:2")],
            ),
            marker("requires_env", vec![json!("A")]),
        ];
        let found = requirements(&markers, &BTreeMap::new()).unwrap();
        assert_eq!(
            found.known,
            vec![
                Requirement::Env("A".into()),
                Requirement::Env("B".into()),
                Requirement::Bin("git".into()),
                Requirement::Service("localhost:1".into()),
                Requirement::Service("h:2".into()),
            ]
        );
        assert!(found.unresolved.is_empty());
    }

    #[test]
    fn non_literal_args_are_unresolved_not_guessed() {
        let markers = [
            marker(
                "requires_env",
                vec![json!("A"), json!({"$expr": "KEY_NAME"}), json!(3)],
            ),
            marker("requires", vec![json!({"$expr": "names[0]"})]),
        ];
        let found = requirements(&markers, &BTreeMap::new()).unwrap();
        assert_eq!(found.known, vec![Requirement::Env("A".into())]);
        let shown: Vec<String> = found.unresolved.iter().map(|u| u.to_string()).collect();
        assert_eq!(
            shown,
            [
                "requires_env(KEY_NAME)",
                "requires_env(3)",
                "requires(names[0])"
            ]
        );
    }

    #[test]
    fn named_capabilities_by_marker_name_or_requires() {
        let named = postgres_on(5432);
        let by_name = marker("requires_postgres", vec![]);
        let by_arg = marker("requires", vec![json!("postgres")]);
        for m in [&by_name, &by_arg] {
            let found = Requirement::from_marker(m, &named).unwrap();
            assert_eq!(found.known, vec![Requirement::Named("postgres".into())]);
        }
    }

    #[test]
    fn unconfigured_requires_name_marker_is_ordinary() {
        let found = requirements(
            &[
                marker("requires_gemini", vec![]),
                marker("requires_", vec![]),
                marker("slow", vec![]),
            ],
            &postgres_on(5432),
        )
        .unwrap();
        assert_eq!(found, Requirements::default());
    }

    #[test]
    fn unknown_requires_names_are_an_error_listing_them() {
        let markers = [
            marker("requires", vec![json!("nope"), json!("postgres")]),
            marker("requires", vec![json!("other"), json!("nope")]),
            marker("requires_env", vec![json!("A")]),
        ];
        let error = requirements(&markers, &postgres_on(5432)).unwrap_err();
        assert_eq!(error.names, ["nope", "other"]);
        let message = error.to_string();
        assert!(message.contains("\"nope\", \"other\""), "{message}");
        assert!(message.contains("[capabilities.<name>]"), "{message}");
        assert!(message.contains("defined: postgres"), "{message}");
    }

    #[test]
    fn config_parses_probes_and_rejects_bad_ones() {
        let named = config(
            "[a]\nprobe = \"env:A\"\n\
             [b]\nprobe = \"bin:git\"\ntimeout = 2\n\
             [c]\nprobe = \"cmd:pg_isready -q\"\ntimeout = 0.5\nreason = \"start the db\"\n\
             [d]\nprobe = \"tcp:[::1]:5432\"\n",
        );
        assert_eq!(named["a"].probe, Probe::Env("A".into()));
        assert_eq!(named["b"].timeout, Some(2.0));
        assert_eq!(named["c"].probe, Probe::Command("pg_isready -q".into()));
        assert_eq!(named["c"].reason.as_deref(), Some("start the db"));
        assert_eq!(named["d"].probe.to_string(), "tcp:[::1]:5432");

        for (text, expected) in [
            ("probe = \"http://x\"", "no known scheme"),
            ("probe = \"env:\"", "empty after its scheme"),
            ("probe = \"tcp:5432\"", "not host:port"),
            ("probe = \"tcp:::1:5432\"", "[addr]:port"),
            ("probe = \"tcp:h:99999\"", "0 to 65535"),
            ("probe = \"env:A\"\ntimeout = -1", "positive number"),
            ("probe = \"env:A\"\nprobes = 1", "unknown field"),
        ] {
            let error = toml::from_str::<CapabilityConfig>(text).unwrap_err();
            assert!(error.to_string().contains(expected), "{text}: {error}");
        }
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

    #[test]
    fn probes_run_in_parallel() {
        // Each probe marks itself started, then waits for all three marks: run one after another,
        // the first would wait until its timeout and be reported missing.
        let dir = scratch("parallel");
        let table = |name: &str| {
            format!(
                "[{name}]\nprobe = \"cmd:touch {dir}/{name}; sleep 0.5; \
                 while [ $(ls {dir} | wc -l) -lt 3 ]; do sleep 0.05; done\"\ntimeout = 5\n",
                dir = dir.display()
            )
        };
        let named = config(&["a", "b", "c"].map(table).concat());
        let reqs = ["a", "b", "c"].map(|n| Requirement::Named(n.into()));
        let probes = Probes::check(reqs.clone(), &named);
        for req in &reqs {
            assert_eq!(probes.missing(req), None, "{req}");
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn duplicates_probe_once_and_results_serialize_by_key() {
        let named = config("[f]\nprobe = \"cmd:false\"\n");
        let probes = Probes::check(
            [
                Requirement::Bin("sh".into()),
                Requirement::Named("f".into()),
                Requirement::Bin("sh".into()),
            ],
            &named,
        );
        assert_eq!(probes.iter().count(), 2);
        assert_eq!(
            probes.to_json(),
            json!({"bin:sh": null, "named:f": "requires f: cmd:false (exit status 1)"})
        );
    }

    #[test]
    fn unprobed_and_unconfigured_requirements_are_missing() {
        let probes = Probes::check([Requirement::Named("gone".into())], &BTreeMap::new());
        assert_eq!(
            probes.missing(&Requirement::Named("gone".into())),
            Some("requires gone (no [capabilities.gone] in the config)")
        );
        assert!(probes.missing(&Requirement::Env("X".into())).is_some());
    }

    #[test]
    fn out_of_range_timeouts_do_not_panic() {
        assert_eq!(seconds(-1.0), DEFAULT_TIMEOUT);
        assert_eq!(seconds(f64::NAN), DEFAULT_TIMEOUT);
        assert_eq!(seconds(f64::INFINITY), MAX_TIMEOUT);
        assert_eq!(seconds(1e300), MAX_TIMEOUT);
        assert_eq!(seconds(0.25), Duration::from_millis(250));
    }
}
