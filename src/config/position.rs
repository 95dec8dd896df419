//! Turns a byte offset in a TOML file into `line:column` and the dotted key being defined
//! there, so errors say where and what (`vigil.toml:3:11: `profiles.ci.timeout`: ...`).

/// 1-based line and column (in characters) of `offset`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..floor_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The dotted key assigned on the line holding `offset` (or the nearest line above with an
/// `=`), prefixed by the `[table]` header it sits under. Best effort: `None` when unclear.
pub fn key_at(text: &str, offset: usize) -> Option<String> {
    let before = &text[..floor_boundary(text, offset)];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let mut lines = text[..line_end].lines().rev();
    let key = lines.by_ref().find_map(assigned_key)?;
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

fn table_header(line: &str) -> Option<String> {
    let line = line.trim();
    let inner = line.strip_prefix('[')?.split(']').next()?;
    let inner = inner.trim_start_matches('[').trim();
    // In pyproject.toml, vigil's tables sit under `tool.vigil`; name keys as vigil.toml would.
    let inner = inner
        .strip_prefix("tool.vigil")
        .map(|r| r.trim_start_matches('.'))
        .unwrap_or(inner);
    Some(inner.to_string())
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
    }
}
