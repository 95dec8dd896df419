//! Capability probes: what a test's markers require (`requires_env`, `requires_bin`,
//! `requires_service`, `requires("name")` / `requires_<name>` for `[capabilities.<name>]`), and one
//! parallel check per run of whether each requirement is present, so missing ones become skips
//! with a reason instead of failures.
//!
//! `requirements` reads markers, `config` is the `[capabilities.<name>]` table, `probes` checks
//! every requirement once in parallel, and `run` runs one probe (env, bin, tcp, cmd).

mod config;
mod probes;
mod requirements;
mod run;
#[cfg(test)]
mod test_fixtures;

pub use config::{BadProbe, CapabilityConfig, Probe};
pub use probes::Probes;
pub use requirements::{requirements, Requirement, Requirements, UnknownCapability, Unresolved};
