//! The one HTML escape: every user-controlled string (test ids, messages, branches, commits,
//! tier and profile names) reaches the page through [`escape`], in text and attributes alike.

/// Escapes the five characters that can end a text node or an attribute value, so the result
/// is safe in element content and in single- or double-quoted attributes (HTML and inline SVG).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_quotes_and_ampersands_are_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(escape("plain::test_id[1-2]"), "plain::test_id[1-2]");
    }
}
