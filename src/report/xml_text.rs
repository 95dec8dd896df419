//! Text made safe for an XML 1.0 document the way pytest's junitxml makes it
//! (`bin_xml_escape`): a character XML cannot hold becomes `#xNN`, so a test id, message or
//! captured output with control characters or U+FFFE keeps its test, and its report stays valid.
//! Tabs and carriage returns are legal XML, but the JUnit writer (quick-junit) strips them with
//! ANSI codes; they cross it as private-use marks that [`unmark`] turns into `&#9;`/`&#13;`.

use std::borrow::Cow;

/// Stand-ins for a tab and a CR while the text goes through quick-junit: private-use
/// characters it passes untouched. Real ones in the text are escaped as `#xF0009`, so every
/// mark in the serialized report is one of ours.
pub(super) const TAB_MARK: char = '\u{F0009}';
pub(super) const CR_MARK: char = '\u{F000D}';

/// Whether XML 1.0 can hold `c`. pytest also replaces DEL; the C1 controls (U+0080..U+009F)
/// go too, as the JUnit writer (quick-junit) would read them as terminal sequences and drop
/// them with the characters after them.
fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{fffd}')
        || (c >= '\u{10000}' && c != TAB_MARK && c != CR_MARK)
}

/// `text` with every character XML cannot hold written as pytest writes it (`#x1B`, `#xFFFE`),
/// and its tabs and CRs marked: the serialized report must go through [`unmark`].
pub fn xml_safe(text: &str) -> Cow<'_, str> {
    if text.chars().all(|c| allowed(c) && c != '\t' && c != '\r') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c == '\t' {
            out.push(TAB_MARK);
        } else if c == '\r' {
            out.push(CR_MARK);
        } else if allowed(c) {
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

/// A serialized report with the marks [`xml_safe`] left turned into character references,
/// which XML readers give back as the tab or CR, in text and in attributes alike.
pub fn unmark(xml: &str) -> Cow<'_, str> {
    if !xml.contains([TAB_MARK, CR_MARK]) {
        return Cow::Borrowed(xml);
    }
    Cow::Owned(xml.replace(TAB_MARK, "&#9;").replace(CR_MARK, "&#13;"))
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
        assert!(matches!(xml_safe("new\nline é 😀"), Cow::Borrowed(_)));
    }

    #[test]
    fn tabs_and_crs_cross_as_marks_and_come_back_as_references() {
        let safe = xml_safe("a\tb\r\n");
        assert_eq!(unmark(&safe), "a&#9;b&#13;\n");
        // A mark that was in the text is the test's own character, not ours.
        assert_eq!(unmark(&xml_safe("\u{F0009}")), "#xF0009");
    }

    #[test]
    fn output_loses_colour_codes_before_escaping() {
        assert_eq!(xml_safe_output("\x1b[31mred\x1b[0m\x01"), "red#x01");
    }
}
