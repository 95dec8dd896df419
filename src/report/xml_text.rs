//! Text made safe for an XML 1.0 document the way pytest's junitxml makes it
//! (`bin_xml_escape`): a character XML cannot hold becomes `#xNN`, so a test id, message or
//! captured output with control characters or U+FFFE keeps its test, and its report stays valid.

use std::borrow::Cow;

/// Whether XML 1.0 can hold `c`. pytest also replaces DEL; the C1 controls (U+0080..U+009F)
/// go too, as the JUnit writer (quick-junit) would read them as terminal sequences and drop
/// them with the characters after them.
fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{fffd}')
        || c >= '\u{10000}'
}

/// `text` with every character XML cannot hold written as pytest writes it (`#x1B`, `#xFFFE`).
pub fn xml_safe(text: &str) -> Cow<'_, str> {
    if text.chars().all(allowed) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if allowed(c) {
            out.push(c);
        } else if u32::from(c) <= 0xff {
            out.push_str(&format!("#x{:02X}", u32::from(c)));
        } else {
            out.push_str(&format!("#x{:04X}", u32::from(c)));
        }
    }
    Cow::Owned(out)
}

/// Captured output or a traceback: terminal colour codes dropped first (they say nothing in a
/// report), then made XML-safe.
pub fn xml_safe_output(text: &str) -> String {
    xml_safe(&console::strip_ansi_codes(text)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn illegal_characters_are_written_as_pytest_writes_them() {
        assert_eq!(
            xml_safe("a\x00b\x1b\x7f\u{fffe}\u{ffff}"),
            "a#x00b#x1B#x7F#xFFFE#xFFFF"
        );
        assert_eq!(xml_safe("[\u{9b}1m]"), "[#x9B1m]");
        assert!(matches!(xml_safe("tab\tnew\nline é 😀"), Cow::Borrowed(_)));
    }

    #[test]
    fn output_loses_colour_codes_before_escaping() {
        assert_eq!(xml_safe_output("\x1b[31mred\x1b[0m\x01"), "red#x01");
    }
}
