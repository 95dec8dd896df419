//! Planning: pure decisions about a run before anything starts: tiers and tier gates, test
//! dependencies, and how files are spread over workers. Selection by `-k`, `-m` and paths is
//! pytest's own, passed through.

mod balance;
pub mod dependencies;
pub mod tiers;

pub use balance::{balance, Estimate, FileSizeEstimate};
pub use tiers::{TierDef, Tiers, UNTIERED};
