//! Turns a byte offset in a TOML file into `line:column` and the dotted key being defined
//! there, so errors say where and what (`vigil.toml:3:11: `profiles.ci.timeout`: ...`).

use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// 1-based line and column (in characters) of `offset`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..floor_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The dotted key whose key or value holds `offset`, as vigil.toml would name it (a
/// pyproject's `tool.vigil.` prefix dropped). Read from the parsed document's spans, so inline
/// tables and multi-line arrays name the right key; for a file that does not parse that far,
/// the `key =` on the offset's line (or above it) under its `[table]` header. `None` when
/// unclear.
pub fn key_at(text: &str, offset: usize) -> Option<String> {
    let (doc, _) = DeTable::parse_recoverable(text);
    let mut path = Vec::new();
    deepest_key(doc.get_ref(), offset, &mut path);
    let key = if path.is_empty() {
        line_key(text, offset)?
    } else {
        path.join(".")
    };
    let key = match key.strip_prefix("tool.vigil") {
        Some("") => return None,
        Some(rest) => rest.strip_prefix('.').unwrap_or(rest).to_string(),
        None => key,
    };
    (!key.is_empty()).then_some(key)
}

/// Pushes the keys down to the deepest entry whose key or value span holds `offset`.
fn deepest_key(table: &DeTable, offset: usize, path: &mut Vec<String>) {
    for (key, value) in table.iter() {
        let depth = path.len();
        path.push(key.get_ref().to_string());
        if holds(&key.span(), offset) {
            return;
        }
        if descend(value, offset, path) || holds(&value.span(), offset) {
            return;
        }
        path.truncate(depth);
    }
}

/// Whether `offset` lies inside `value` or something nested in it (keys pushed on `path`).
fn descend(value: &Spanned<DeValue>, offset: usize, path: &mut Vec<String>) -> bool {
    let depth = path.len();
    match value.get_ref() {
        DeValue::Table(table) => deepest_key(table, offset, path),
        // Arrays of tables (`[[diagnose.rules]]`) are named without an index, as their header.
        DeValue::Array(items) => {
            for item in items.iter() {
                if descend(item, offset, path) || holds(&item.span(), offset) {
                    return true;
                }
            }
        }
        _ => {}
    }
    path.len() > depth
}

fn holds(span: &Range<usize>, offset: usize) -> bool {
    span.contains(&offset) || (span.is_empty() && span.start == offset)
}

/// The line-based guess: the `key =` on the offset's line or the nearest one above, prefixed
/// by the `[table]` header it sits under; a header line names its own table.
fn line_key(text: &str, offset: usize) -> Option<String> {
    let before = &text[..floor_boundary(text, offset)];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let mut lines = text[..line_end].lines().rev();
    let key = lines.find_map(|line| match table_header(line) {
        Some(header) => Some(Err(header)),
        None => assigned_key(line).map(Ok),
    })?;
    let key = match key {
        Ok(key) => key,
        Err(header) => return Some(header),
    };
    let header = lines.find_map(table_header);
    Some(match header {
        Some(h) if !h.is_empty() => format!("{h}.{key}"),
        _ => key,
    })
}

fn assigned_key(line: &str) -> Option<String> {
    let line = line.trim();
    if line.starts_with('#') || line.starts_with('[') {
        return None;
    }
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty()).then(|| key.to_string())
}

/// `[a.b]` or `[[a.b]]` → `a.b`; a line of a multi-line array (`[1, 2],`) is not a header.
fn table_header(line: &str) -> Option<String> {
    let line = line.trim();
    let inner = line.strip_prefix('[')?.split(']').next()?;
    let inner = inner.trim_start_matches('[').trim();
    let is_key = |c: char| c.is_alphanumeric() || "_-.\"' ".contains(c);
    (!inner.is_empty() && inner.chars().all(is_key)).then(|| inner.to_string())
}

fn floor_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(text: &str, needle: &str) -> Option<String> {
        key_at(text, text.find(needle).unwrap())
    }

    #[test]
    fn key_under_a_header() {
        let text = "jobs = 1\n[profiles.ci]\n# note\ntimeout = \"x\"\n";
        let offset = text.find("\"x\"").unwrap();
        assert_eq!(key_at(text, offset).as_deref(), Some("profiles.ci.timeout"));
        assert_eq!(line_column(text, offset), (4, 11));
        assert_eq!(key_at(text, 2).as_deref(), Some("jobs"));
    }

    #[test]
    fn pyproject_headers_drop_tool_vigil() {
        let text = "[tool.vigil]\njobs = \"x\"\n";
        assert_eq!(key_at(text, text.len() - 2).as_deref(), Some("jobs"));
        let text = "[project]\nname = 1\n[tool.vigil.retry]\nbackoff = \"x\"\n";
        assert_eq!(key_of(text, "\"x\"").as_deref(), Some("retry.backoff"));
    }

    #[test]
    fn inline_tables_and_arrays_name_the_inner_key() {
        let text = "[watch]\nmap = { \"a/**\" = \"t\", \"b\" = 3 }\n";
        assert_eq!(key_of(text, "3").as_deref(), Some("watch.map.b"));
        let text = "[retry]\nonly_rerun = [\n  \"ok\",\n  \"(bad\",\n]\n";
        assert_eq!(key_of(text, "\"(bad").as_deref(), Some("retry.only_rerun"));
        let text = "[[diagnose.rules]]\nmessage = \"a\"\n[[diagnose.rules]]\nnature = \"x\"\n";
        assert_eq!(
            key_of(text, "\"x\"").as_deref(),
            Some("diagnose.rules.nature")
        );
    }

    #[test]
    fn a_header_is_not_named_by_the_key_above_it() {
        let text = "jobs = 2\n[profiles.ci\ntimeout = 3\n";
        let key = key_at(text, text.find("[profiles").unwrap() + 12);
        assert_ne!(key.as_deref(), Some("jobs"));
        assert_eq!(line_key(text, 12).as_deref(), Some("profiles.ci"));
        let text = "x = [\n  [1, 2],\n]\n";
        assert_eq!(
            line_key(text, text.find("[1").unwrap()).as_deref(),
            Some("x")
        );
    }
}
