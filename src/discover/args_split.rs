//! Python's `shlex.split` (POSIX mode, no comments), which pytest uses for "args" ini options:
//! quotes group words, backslash escapes, and `#` is an ordinary character.

/// Splits `value` into words; `None` on an unclosed quote (where `shlex.split` raises).
pub fn split(value: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        other => word.push(other),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            escaped @ ('"' | '\\') => word.push(escaped),
                            other => {
                                word.push('\\');
                                word.push(other);
                            }
                        },
                        other => word.push(other),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            }
            other => {
                in_word = true;
                word.push(other);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn hash_is_not_a_comment() {
        assert_eq!(
            split("tests # integration").unwrap(),
            ["tests", "#", "integration"]
        );
    }

    #[test]
    fn quotes_and_escapes_group_words() {
        assert_eq!(
            split(r#"'a b' "c \"d\"" e\ f"#).unwrap(),
            ["a b", "c \"d\"", "e f"]
        );
        assert_eq!(split("''").unwrap(), [""]);
        assert_eq!(split("'open"), None);
    }
}
