//! The source line a failure stopped on, as the failure text shows it: pytest marks it with
//! `>` in its long form; the short and native forms print it under the last frame's header.
//! An assertion's fingerprint uses it instead of the values in the message.

use std::sync::LazyLock;

use regex::Regex;

/// A frame header in the short (`path:12: in test_x`) or native (`File "p", line 12, in f`) form.
static FRAME_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*(?:File "[^"]+", line \d+, in \S+|\S+:\d+: in \S+)\s*$"#)
        .expect("frame header pattern")
});

/// The failing line's code, trimmed; `None` when the text shows no source.
pub fn failing_line(text: &str) -> Option<String> {
    marked_line(text).or_else(|| line_after_last_header(text))
}

/// pytest's long form: `>       assert total(x) == 3`.
fn marked_line(text: &str) -> Option<String> {
    text.lines()
        .rev()
        .find_map(|l| l.strip_prefix('>'))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
}

fn line_after_last_header(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let header = lines.iter().rposition(|l| FRAME_HEADER.is_match(l))?;
    lines
        .get(header + 1)
        .map(|l| l.trim())
        .filter(|l| !l.is_empty() && !l.starts_with("E "))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::failing_line;

    #[test]
    fn reads_the_marked_line_of_the_long_form() {
        let text = "    def test_a():\n>       assert total([1]) == 2\nE       assert 1 == 2\n\nt.py:3: AssertionError";
        assert_eq!(
            failing_line(text).as_deref(),
            Some("assert total([1]) == 2")
        );
    }

    #[test]
    fn reads_the_line_under_the_last_header_of_short_and_native_forms() {
        let short = "t.py:3: in test_a\n    helper()\nlib.py:9: in helper\n    assert x == 1\nE   assert 0 == 1";
        assert_eq!(failing_line(short).as_deref(), Some("assert x == 1"));
        let native = "Traceback (most recent call last):\n  File \"/p/t.py\", line 3, in test_a\n    assert f() == 2\nAssertionError: assert 1 == 2";
        assert_eq!(failing_line(native).as_deref(), Some("assert f() == 2"));
        assert_eq!(failing_line("AssertionError: boom"), None);
    }
}
