//! Blanking the volatile parts of a failure message — numbers, addresses, ids, temp paths,
//! times, quoted values — so the same bug reads the same in every test and run (as Sentry
//! groups events by a message with its variables taken out).

use std::sync::LazyLock;

use regex::{Captures, Regex};

/// Replacements in order: the specific shapes first, so a UUID is not read as numbers and a
/// temp path not as a quoted value.
static PATTERNS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    let rules: &[(&str, &str)] = &[
        // Temp paths, quoted or bare, up to the next quote or space.
        (
            r#"(?:/private)?(?:/tmp|/var/folders|/var/tmp|/dev/shm)/[^\s'",)\]]*|[A-Za-z]:\\[^\s'"]*\\Temp\\[^\s'",)\]]*"#,
            "<tmp>",
        ),
        (
            r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
            "<uuid>",
        ),
        (
            r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?",
            "<time>",
        ),
        (r"\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b", "<time>"),
        (r"\b0x[0-9a-fA-F]+\b", "<addr>"),
        // Ticket-like ids: `A-17`, `INV-2041`.
        (r"\b[A-Z]{1,6}-\d+\b", "<id>"),
        (r"\b[0-9a-f]{12,}\b", "<hex>"),
        (r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b", "<ip>"),
        (r"\[[0-9a-fA-F:]*:[0-9a-fA-F:]*\](?::\d{1,5})?", "<ip>"),
        (r"\blocalhost:\d{1,5}\b", "<ip>"),
        // Quoted values: Python reprs and Rust debug strings.
        (r#"'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*""#, "<str>"),
    ];
    rules
        .iter()
        .map(|(pattern, with)| (Regex::new(pattern).expect("normalize pattern"), *with))
        .collect()
});

/// Identifiers or numbers: numbers inside a name (`test_3`, `sha256`) are part of the name.
static WORD_OR_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z_<][A-Za-z0-9_>]*|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
        .expect("number pattern")
});

/// The message with its volatile parts replaced and whitespace collapsed.
pub fn normalize(message: &str) -> String {
    let mut text = message.to_string();
    for (pattern, with) in PATTERNS.iter() {
        if pattern.is_match(&text) {
            text = pattern.replace_all(&text, *with).into_owned();
        }
    }
    let text = WORD_OR_NUMBER.replace_all(&text, |c: &Captures| {
        let token = &c[0];
        if token.starts_with(|ch: char| ch.is_ascii_digit() || ch == '-') {
            "<n>".to_string()
        } else {
            token.to_string()
        }
    });
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn numbers_are_blanked_but_not_inside_names() {
        assert_eq!(
            normalize("test_3 failed after 12 tries in 0.25s"),
            "test_3 failed after <n> tries in <n>s"
        );
        assert_eq!(normalize("sha256 mismatch: -4"), "sha256 mismatch: <n>");
    }

    #[test]
    fn addresses_ids_and_times_are_blanked() {
        assert_eq!(
            normalize("<Conn object at 0x7f3a2c1d0e50> to 127.0.0.1:5432 refused"),
            "<Conn object at <addr>> to <ip> refused"
        );
        assert_eq!(
            normalize("job 3f2b9c1e-8a7d-4e6f-9b0a-1c2d3e4f5a6b at 2026-11-22T17:45:34Z"),
            "job <uuid> at <time>"
        );
        assert_eq!(normalize("commit 8d0b3df1a2b3c4d"), "commit <hex>");
    }

    #[test]
    fn temp_paths_and_quoted_values_are_blanked() {
        assert_eq!(
            normalize("FileNotFoundError: [Errno 2] No such file: '/tmp/pytest-of-root/pytest-7/x/config.toml'"),
            "FileNotFoundError: [Errno <n>] No such file: <str>"
        );
        assert_eq!(
            normalize("cannot open /tmp/tmpab12cd/db.sqlite now"),
            "cannot open <tmp> now"
        );
        assert_eq!(
            normalize(r#"KeyError: 'API_KEY' in "prod""#),
            "KeyError: <str> in <str>"
        );
    }

    #[test]
    fn the_same_bug_with_other_values_reads_the_same() {
        let a = normalize("assert 41 == 42\n +  where 41 = total([1, 2])");
        let b = normalize("assert 7 == 42\n +  where 7 = total([3])");
        assert_ne!(a, b, "list lengths differ, so these stay apart");
        assert_eq!(
            normalize("timed out after 3.5 s waiting for 10.0.0.7:80"),
            normalize("timed out after 30 s waiting for 10.1.2.3:8080")
        );
    }
}
