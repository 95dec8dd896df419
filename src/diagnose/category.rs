//! The kinds of failure diagnosis tells apart, and whether a kind goes away on its own.

use serde::{Deserialize, Serialize};

/// What kind of thing went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// A test's assertion did not hold.
    Assertion,
    /// An exception from the code itself: TypeError, AttributeError, a Rust `unwrap` on None.
    Code,
    /// A module or package is missing or cannot be imported.
    Import,
    /// Connection refused / reset, DNS, TLS, rate limits.
    Network,
    /// A socket, a call or the whole test ran out of time.
    Timeout,
    /// A database is locked, corrupt or missing a table.
    Database,
    /// Memory, disk space, file descriptors.
    Resource,
    /// Permission denied, authentication, forbidden.
    Permission,
    /// The process died on a signal.
    Crash,
    /// A missing environment variable, file, fixture or setting.
    Environment,
    Unknown,
}

impl Category {
    pub const ALL: [Category; 11] = [
        Category::Assertion,
        Category::Code,
        Category::Import,
        Category::Network,
        Category::Timeout,
        Category::Database,
        Category::Resource,
        Category::Permission,
        Category::Crash,
        Category::Environment,
        Category::Unknown,
    ];

    /// The word used in config, JSON, JUnit properties and history.
    pub fn name(self) -> &'static str {
        match self {
            Category::Assertion => "assertion",
            Category::Code => "code",
            Category::Import => "import",
            Category::Network => "network",
            Category::Timeout => "timeout",
            Category::Database => "database",
            Category::Resource => "resource",
            Category::Permission => "permission",
            Category::Crash => "crash",
            Category::Environment => "environment",
            Category::Unknown => "unknown",
        }
    }

    pub fn from_name(name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// Whether running the test again, unchanged, could pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Nature {
    /// Depends on the moment: a busy service, a lock, a slow machine. Worth a retry.
    Transient,
    /// Fails the same way every time until code or setup changes. A retry only costs time.
    Deterministic,
}

impl Nature {
    pub fn name(self) -> &'static str {
        match self {
            Nature::Transient => "transient",
            Nature::Deterministic => "deterministic",
        }
    }

    pub fn from_name(name: &str) -> Option<Nature> {
        match name {
            "transient" => Some(Nature::Transient),
            "deterministic" => Some(Nature::Deterministic),
            _ => None,
        }
    }
}
