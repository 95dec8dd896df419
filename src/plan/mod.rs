//! Planning: decisions about a run before anything starts: tiers and tier gates, capability
//! requirements (probed once per run), test dependencies, and how files are spread over
//! workers. Selection by `-k`, `-m` and paths is pytest's own, passed through.

mod balance;
pub mod capabilities;
pub mod dependencies;
pub mod partition;
pub mod tiers;

pub use balance::{balance, Estimate, FileSizeEstimate};
pub use capabilities::{CapabilityConfig, Probes, Requirement};
pub use tiers::{TierDef, Tiers, UNTIERED};
