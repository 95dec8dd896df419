//! A run's results in one compact blob (`run_digests`): per test its final attempt's outcome,
//! duration and tier, and whether an earlier attempt failed. Trends read a thousand runs as a
//! thousand blobs instead of a million rows, which is what keeps `vigil trends` over a
//! 1,000-run window fast; the `results` table stays the queryable record of every attempt.
//!
//! Layout, per test in ascending test id: varint(test id − previous test id), one flags byte
//! (outcome code in bits 0–3, bit 4 an earlier attempt failed, bit 5 a tier follows),
//! [varint(tier id)], varint(duration in µs).

/// One test's final state in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestEntry {
    pub test_id: i64,
    pub tier_id: Option<i64>,
    /// The stored outcome code of the last attempt.
    pub outcome: i64,
    pub duration_us: i64,
    pub retried_failure: bool,
}

/// A result row as written: (test id, attempt, tier id, outcome code, duration µs).
pub type Row = (i64, i64, Option<i64>, i64, i64);

const RETRIED: u8 = 0x10;
const HAS_TIER: u8 = 0x20;

/// The digest of a run's rows (any order; the last attempt of each test wins).
pub fn of_rows(rows: &mut [Row], is_failure: impl Fn(i64) -> bool) -> Vec<u8> {
    rows.sort_unstable_by_key(|&(test, attempt, ..)| (test, attempt));
    let mut entries: Vec<DigestEntry> = Vec::new();
    for &(test_id, _, tier_id, outcome, duration_us) in rows.iter() {
        let entry = DigestEntry {
            test_id,
            tier_id,
            outcome,
            duration_us,
            retried_failure: false,
        };
        match entries.last_mut() {
            Some(last) if last.test_id == test_id => {
                let failed_before = last.retried_failure || is_failure(last.outcome);
                *last = DigestEntry {
                    retried_failure: failed_before,
                    ..entry
                };
            }
            _ => entries.push(entry),
        }
    }
    encode(&entries)
}

/// Entries must be in ascending test id.
pub fn encode(entries: &[DigestEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 6);
    let mut previous = 0i64;
    for entry in entries {
        put_varint(&mut out, (entry.test_id - previous) as u64);
        previous = entry.test_id;
        let mut flags = (entry.outcome as u8) & 0x0f;
        if entry.retried_failure {
            flags |= RETRIED;
        }
        if entry.tier_id.is_some() {
            flags |= HAS_TIER;
        }
        out.push(flags);
        if let Some(tier) = entry.tier_id {
            put_varint(&mut out, tier as u64);
        }
        put_varint(&mut out, entry.duration_us.max(0) as u64);
    }
    out
}

/// Calls `each` for every entry; `None` if the blob is cut short.
pub fn decode(blob: &[u8], mut each: impl FnMut(DigestEntry)) -> Option<()> {
    let mut at = 0usize;
    let mut test_id = 0i64;
    while at < blob.len() {
        test_id += get_varint(blob, &mut at)? as i64;
        let flags = *blob.get(at)?;
        at += 1;
        let tier_id = match flags & HAS_TIER {
            0 => None,
            _ => Some(get_varint(blob, &mut at)? as i64),
        };
        let duration_us = get_varint(blob, &mut at)? as i64;
        each(DigestEntry {
            test_id,
            tier_id,
            outcome: i64::from(flags & 0x0f),
            duration_us,
            retried_failure: flags & RETRIED != 0,
        });
    }
    Some(())
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn get_varint(blob: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *blob.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_with_the_last_attempt_winning() {
        let mut rows: Vec<Row> = vec![
            (300, 1, Some(2), 0, 1_234_567),
            (7, 2, None, 0, 5),
            (7, 1, None, 1, 9),
            (1 << 40, 1, Some(1), 7, 0),
        ];
        let blob = of_rows(&mut rows, |code| code == 1);
        let mut seen = vec![];
        decode(&blob, |e| seen.push(e)).expect("whole");
        let entry = |test_id, tier_id, outcome, duration_us, retried_failure| DigestEntry {
            test_id,
            tier_id,
            outcome,
            duration_us,
            retried_failure,
        };
        assert_eq!(
            seen,
            [
                entry(7, None, 0, 5, true),
                entry(300, Some(2), 0, 1_234_567, false),
                entry(1 << 40, Some(1), 7, 0, false),
            ]
        );
        assert_eq!(decode(&blob[..blob.len() - 1], |_| {}), None);
    }
}
