//! Planning: pure decisions about a run before anything starts. For now, how discovered files
//! are spread over workers; selection (`-k`, `-m`, paths) is pytest's own, passed through.

mod balance;
mod capabilities;

pub use balance::{balance, Estimate, FileSizeEstimate};
pub use capabilities::{
    requirements, BadProbe, CapabilityConfig, Probe, Probes, Requirement, Requirements,
    UnknownCapability, Unresolved,
};
