//! Test ids and one-line messages as the terminal shows them: control characters escaped (a
//! parametrize id or a skip reason can hold any character, and ESC would drive the terminal)
//! and a very long id cut in the middle, so one 100 KB id does not fill the screen. Reports
//! (JUnit, JSON, history) keep them whole; what CI shows (GitHub annotations) uses these too.

use std::borrow::Cow;

/// Longest id shown whole, in characters; longer ones keep their start and end.
pub const MAX_SHOWN: usize = 200;
/// Characters kept from the end of a cut id (its parameters usually end it).
const TAIL: usize = 40;

/// `id` fit for a terminal line.
pub fn shown_id(id: &str) -> Cow<'_, str> {
    let long = id.chars().nth(MAX_SHOWN).is_some();
    if !long && !id.chars().any(needs_escape) {
        return Cow::Borrowed(id);
    }
    if !long {
        return Cow::Owned(escaped(id));
    }
    let total = id.chars().count();
    let head: String = id.chars().take(MAX_SHOWN - TAIL).collect();
    let tail: String = id.chars().skip(total - TAIL).collect();
    let cut = total - (MAX_SHOWN - TAIL) - TAIL;
    Cow::Owned(format!(
        "{}…[{cut} more characters]…{}",
        escaped(&head),
        escaped(&tail)
    ))
}

/// One line of text (a skip reason, a failure's first line) with its control characters
/// escaped.
pub fn shown_line(text: &str) -> Cow<'_, str> {
    if text.chars().any(needs_escape) {
        Cow::Owned(escaped(text))
    } else {
        Cow::Borrowed(text)
    }
}

/// Text of several lines (a failure's excerpt) with its control characters escaped, except
/// the newlines and tabs that lay it out.
pub fn shown_text(text: &str) -> Cow<'_, str> {
    if text.chars().any(needs_escape_in_text) {
        Cow::Owned(escaped_where(text, needs_escape_in_text))
    } else {
        Cow::Borrowed(text)
    }
}

/// C0 and C1 controls and DEL: what a terminal would act on instead of print.
fn needs_escape(c: char) -> bool {
    c.is_control()
}

fn needs_escape_in_text(c: char) -> bool {
    needs_escape(c) && !matches!(c, '\n' | '\t')
}

fn escaped(text: &str) -> String {
    escaped_where(text, needs_escape)
}

/// `text` with the characters `escape` picks written as `\xNN`, as pytest writes them in ids.
fn escaped_where(text: &str, escape: fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if escape(c) {
            out.push_str(&format!("\\x{:02x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_plain_ids_are_borrowed() {
        assert!(matches!(shown_id("t.py::test_a[1]"), Cow::Borrowed(_)));
    }

    #[test]
    fn control_characters_are_escaped_as_pytest_escapes_ids() {
        assert_eq!(shown_id("t.py::a[\x1b[2J\x00]"), "t.py::a[\\x1b[2J\\x00]");
        assert_eq!(shown_id("t.py::a[\u{85}]"), "t.py::a[\\x85]");
    }

    #[test]
    fn text_keeps_its_newlines_and_tabs() {
        assert_eq!(shown_text("a\tb\nc\r\x1b[2J"), "a\tb\nc\\x0d\\x1b[2J");
        assert!(matches!(shown_text("a\tb\nc"), Cow::Borrowed(_)));
    }

    #[test]
    fn long_ids_keep_their_start_and_end() {
        let id = format!("t.py::test_a[{}END]", "x".repeat(100_000));
        let shown = shown_id(&id);
        assert!(shown.chars().count() < MAX_SHOWN + 40, "{shown}");
        assert!(shown.starts_with("t.py::test_a[xxx"), "{shown}");
        assert!(shown.ends_with("xxEND]"), "{shown}");
        let cut = id.chars().count() - MAX_SHOWN;
        assert!(
            shown.contains(&format!("…[{cut} more characters]…")),
            "{shown}"
        );
    }
}
