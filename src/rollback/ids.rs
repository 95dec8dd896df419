//! Snapshot ids (`YYYYMMDD-HHMMSS-xxxx`, UTC, short and sortable) and creation times, and
//! how a unique prefix of an id finds its snapshot.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

use super::RollbackError;

/// A new id and the RFC 3339 creation time (microseconds) it was made from.
pub fn new_id(now: SystemTime) -> (String, String) {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since.as_secs() as i64;
    let (year, month, day) = crate::history::civil_from_days(seconds.div_euclid(86_400));
    let of_day = seconds.rem_euclid(86_400);
    let (hour, minute, second) = (of_day / 3600, of_day / 60 % 60, of_day % 60);
    // Four random hex digits: two snapshots in one second still get different ids.
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(since.as_nanos());
    hasher.write_u32(std::process::id());
    let suffix = hasher.finish() & 0xffff;
    let id = format!("{year:04}{month:02}{day:02}-{hour:02}{minute:02}{second:02}-{suffix:04x}");
    let created = format!(
        "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{:06}Z",
        since.subsec_micros()
    );
    (id, created)
}

/// The one id that is `wanted` or starts with it.
pub fn resolve(ids: &[String], wanted: &str) -> Result<String, RollbackError> {
    if ids.iter().any(|id| id == wanted) {
        return Ok(wanted.to_string());
    }
    let matches: Vec<String> = if wanted.is_empty() {
        Vec::new()
    } else {
        ids.iter()
            .filter(|id| id.starts_with(wanted))
            .cloned()
            .collect()
    };
    match matches.len() {
        0 => Err(RollbackError::UnknownSnapshot(wanted.to_string())),
        1 => Ok(matches.into_iter().next().unwrap_or_default()),
        _ => Err(RollbackError::AmbiguousId {
            prefix: wanted.to_string(),
            matches,
        }),
    }
}

/// Is this a name an id could have (so a stray file in `manifests/` is not taken for one)?
pub fn looks_like_id(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ids_are_utc_dates() {
        let (id, created) = new_id(UNIX_EPOCH + Duration::from_secs(1_795_200_000));
        assert!(id.starts_with("20261120-184000-"), "{id}");
        assert_eq!(&created[..20], "2026-11-20T18:40:00.");
        let (leap, _) = new_id(UNIX_EPOCH + Duration::from_secs(951_782_400));
        assert!(leap.starts_with("20000229-000000-"), "{leap}");
    }

    #[test]
    fn prefixes_resolve_when_unique() {
        let ids = vec![
            "20260101-000000-aaaa".to_string(),
            "20260101-000000-abbb".to_string(),
        ];
        assert_eq!(resolve(&ids, "20260101-000000-aa").unwrap(), ids[0]);
        assert!(matches!(
            resolve(&ids, "20260101"),
            Err(RollbackError::AmbiguousId { .. })
        ));
        assert!(matches!(
            resolve(&ids, "2027"),
            Err(RollbackError::UnknownSnapshot(_))
        ));
    }
}
