//! The `[capabilities.<name>]` table: a probe (`tcp:host:port`, `env:NAME`, `bin:name`,
//! `cmd:<shell command>`), its timeout and the reason shown when it fails.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// Probe timeout when the config names none (and for `requires_service`).
pub(super) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Upper bound on any timeout, so deadlines never overflow `Instant`.
const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

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
    pub(super) fn timeout(&self) -> Duration {
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

/// Host and port of `host:port` or `[v6]:port`.
pub(super) fn split_address(address: &str) -> Result<(&str, u16), String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::capabilities::test_fixtures::config;

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
    fn out_of_range_timeouts_do_not_panic() {
        assert_eq!(seconds(-1.0), DEFAULT_TIMEOUT);
        assert_eq!(seconds(f64::NAN), DEFAULT_TIMEOUT);
        assert_eq!(seconds(f64::INFINITY), MAX_TIMEOUT);
        assert_eq!(seconds(1e300), MAX_TIMEOUT);
        assert_eq!(seconds(0.25), Duration::from_millis(250));
    }
}
