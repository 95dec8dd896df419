//! Planning: pure decisions about a run before anything starts. For now, how discovered files
//! are spread over workers; selection (`-k`, `-m`, paths) is pytest's own, passed through.

mod balance;

pub use balance::{balance, Estimate, FileSizeEstimate};
