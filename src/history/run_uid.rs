//! A run's uid: the name a run keeps across copies of a history database, so an import knows a
//! run it already has. A new run gets a random-enough one; runs recorded before uids existed
//! get one derived from their content, the same in every copy of the database.

use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

/// Hex digits kept of the SHA-256: 128 bits, ample for uniqueness across machines.
const UID_HEX: usize = 32;

/// A uid for a run recorded now: unique across processes and machines (time to the
/// nanosecond, pid, host name and a per-process counter go into it).
pub fn new_uid() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let host = std::env::var("HOSTNAME").unwrap_or_default();
    let seed = format!(
        "{nanos}\0{}\0{host}\0{}\0{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        machine_id(),
    );
    hex(&seed)
}

/// The uid of a run recorded before uids existed, from what identifies its row: two copies of
/// one database give it the same uid, which is what keeps imports from duplicating it.
#[allow(clippy::too_many_arguments)]
pub fn content_uid(
    id: i64,
    started_ms: i64,
    ended_ms: i64,
    host: Option<&str>,
    commit: Option<&str>,
    source: &str,
    total: i64,
) -> String {
    let seed = format!(
        "run\0{id}\0{started_ms}\0{ended_ms}\0{}\0{}\0{source}\0{total}",
        host.unwrap_or("\u{1}"),
        commit.unwrap_or("\u{1}"),
    );
    hex(&seed)
}

/// `/etc/machine-id` where there is one: CI containers often share a host name.
fn machine_id() -> String {
    std::fs::read_to_string("/etc/machine-id").unwrap_or_default()
}

fn hex(seed: &str) -> String {
    let digest = Sha256::digest(seed.as_bytes());
    let mut out = String::with_capacity(UID_HEX);
    for byte in digest.iter().take(UID_HEX / 2) {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_uids_differ_and_content_uids_repeat() {
        let (a, b) = (new_uid(), new_uid());
        assert_ne!(a, b);
        assert_eq!(a.len(), UID_HEX);
        let old = |id| content_uid(id, 1_000, 2_000, None, Some("c1"), "vigil", 2);
        assert_eq!(old(1), old(1));
        assert_ne!(old(1), old(2));
        // An unknown host is not the empty host name.
        assert_ne!(
            content_uid(1, 1, 2, None, None, "vigil", 0),
            content_uid(1, 1, 2, Some(""), None, "vigil", 0)
        );
    }
}
