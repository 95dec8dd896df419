//! A reader for the INI dialect pytest reads (the `iniconfig` package): `key = value` or
//! `key: value`, indented continuation lines, `#`/`;` comment lines, no inline comments.

use std::collections::BTreeMap;

/// One `[section]`: its keys with their (joined) values and the 1-based line each was set on.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Section {
    pub values: BTreeMap<String, (String, usize)>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("line {line}: {message}")]
pub struct IniError {
    pub line: usize,
    pub message: String,
}

/// Parses the whole text into sections, rejecting what iniconfig rejects.
pub fn parse(text: &str) -> Result<BTreeMap<String, Section>, IniError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut sections: BTreeMap<String, Section> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut last_key: Option<String> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let err = |message: String| IniError { line, message };
        match classify(raw) {
            Line::Blank => {}
            Line::Section(name) => {
                if name.is_empty() {
                    return Err(err("empty section name".into()));
                }
                if sections.contains_key(&name) {
                    return Err(err(format!("duplicate section {name:?}")));
                }
                sections.insert(name.clone(), Section::default());
                current = Some(name);
                last_key = None;
            }
            Line::Value(key, value) => {
                let name = current
                    .as_ref()
                    .ok_or_else(|| err("no section header defined".into()))?;
                let section = sections.get_mut(name).expect("current section exists");
                if section.values.contains_key(&key) {
                    return Err(err(format!("duplicate name {key:?}")));
                }
                section.values.insert(key.clone(), (value, line));
                last_key = Some(key);
            }
            Line::Continuation(more) => {
                let (Some(name), Some(key)) = (&current, &last_key) else {
                    return Err(err("unexpected value continuation".into()));
                };
                let entry = sections.get_mut(name).and_then(|s| s.values.get_mut(key));
                let (value, _) = entry.expect("last key exists");
                if !value.is_empty() {
                    value.push('\n');
                }
                value.push_str(&more);
            }
            Line::Bad(text) => return Err(err(format!("unexpected line: {text:?}"))),
        }
    }
    Ok(sections)
}

enum Line {
    Blank,
    Section(String),
    Value(String, String),
    Continuation(String),
    Bad(String),
}

fn classify(raw: &str) -> Line {
    let trimmed_start = raw.trim_start();
    if trimmed_start.is_empty() || trimmed_start.starts_with(['#', ';']) {
        return Line::Blank;
    }
    let line = raw.trim_end();
    if line.starts_with('[') {
        let head = line.split(['#', ';']).next().unwrap_or("").trim_end();
        if let Some(name) = head.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            return Line::Section(name.to_string());
        }
        return Line::Continuation(line.trim().to_string());
    }
    if line.starts_with(char::is_whitespace) {
        return Line::Continuation(line.trim().to_string());
    }
    let split = match line.split_once('=') {
        Some((name, value)) if !name.contains(':') => Some((name, value)),
        _ => line.split_once(':'),
    };
    match split {
        Some((name, value)) => Line::Value(name.trim().to_string(), value.trim().to_string()),
        None => Line::Bad(line.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_lines_join_with_newlines() {
        let s = parse("[pytest]\ntestpaths =\n    tests\n    more\npython_files: check_*.py\n")
            .unwrap();
        let p = &s["pytest"].values;
        assert_eq!(p["testpaths"], ("tests\nmore".to_string(), 2));
        assert_eq!(p["python_files"].0, "check_*.py");
    }

    #[test]
    fn rejects_values_before_a_section_with_the_line() {
        let e = parse("# c\nkey = 1\n").unwrap_err();
        assert_eq!(
            e,
            IniError {
                line: 2,
                message: "no section header defined".into()
            }
        );
    }

    #[test]
    fn rejects_duplicate_names() {
        assert_eq!(parse("[a]\nx=1\nx=2\n").unwrap_err().line, 3);
    }
}
