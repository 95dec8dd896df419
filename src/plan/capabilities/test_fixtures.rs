//! Fixtures the capability tests share: `[capabilities]` tables from TOML text and scratch
//! directories.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::CapabilityConfig;

pub(super) fn config(text: &str) -> BTreeMap<String, CapabilityConfig> {
    toml::from_str(text).expect("valid capabilities table")
}

pub(super) fn postgres_on(port: u16) -> BTreeMap<String, CapabilityConfig> {
    config(&format!("[postgres]\nprobe = \"tcp:127.0.0.1:{port}\"\n"))
}

pub(super) fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vigil-caps-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}
