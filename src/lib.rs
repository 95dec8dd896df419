//! vigil: a test orchestrator for Python and Rust code bases.
//!
//! The pipeline (see DESIGN.md): [`discover`] → [`plan`] → [`execute`] → one [`events`]
//! stream → [`report`] and [`history`], with secrets blotted out by [`redact`] on the way.
//! [`session`] ties the stages together for one `vigil run`; [`stress`] repeats it to hunt
//! flaky tests.

pub mod affected;
pub mod config;
pub mod diagnose;
pub mod discover;
pub mod events;
pub mod execute;
pub mod exit;
pub mod history;
pub mod interrupt;
pub mod merge;
pub mod plan;
pub mod python;
pub mod redact;
pub mod report;
pub mod retry;
pub mod rollback;
pub mod schedule;
pub mod session;
pub mod stress;
pub mod verify;
pub mod watch;
