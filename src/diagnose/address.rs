//! The network address a failure names (`host='db', port=5432`, `("127.0.0.1", 1)`,
//! `10.0.0.7:80`, `server at "h", port 5432`), so advice can say which service to start.

use std::sync::LazyLock;

use regex::Regex;

static SHAPES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"host='(?P<host>[^']+)', port=(?P<port>\d{1,5})",
        r#"server at "(?P<host>[^"]+)"(?: \([^)]*\))?, port (?P<port>\d{1,5})"#,
        r#"\(\s*['"](?P<host>[\w.\-:]+)['"]\s*,\s*(?P<port>\d{1,5})\s*\)"#,
        r"(?P<host>\b\d{1,3}(?:\.\d{1,3}){3}|\blocalhost|\[[0-9a-fA-F:]+\]):(?P<port>\d{1,5})\b",
        r"(?P<host>\b[a-z][\w\-]*(?:\.[\w\-]+)+):(?P<port>\d{1,5})\b",
    ]
    .iter()
    .map(|p| Regex::new(p).expect("address pattern"))
    .collect()
});

/// `host:port` of the first address found in `text`, trying the most explicit shapes first.
pub fn find(text: &str) -> Option<String> {
    SHAPES.iter().find_map(|shape| {
        shape.captures_iter(text).find_map(|c| {
            let host = c.name("host")?.as_str();
            let port = c.name("port")?.as_str();
            (!is_source_file(host)).then(|| format!("{host}:{port}"))
        })
    })
}

/// `test_api.py:20` in a traceback is a file and a line, not a host and a port.
fn is_source_file(host: &str) -> bool {
    const EXTENSIONS: &[&str] = &[
        "py", "pyx", "rs", "c", "h", "cc", "cpp", "js", "ts", "go", "java", "rb", "txt", "log",
        "toml", "json", "yaml", "yml", "cfg", "ini", "md", "html", "sql",
    ];
    host.rsplit('.')
        .next()
        .is_some_and(|ext| EXTENSIONS.contains(&ext))
}

#[cfg(test)]
mod tests {
    use super::find;

    #[test]
    fn finds_addresses_in_the_shapes_libraries_print() {
        let requests = "HTTPConnectionPool(host='localhost', port=8000): Max retries exceeded";
        assert_eq!(find(requests).as_deref(), Some("localhost:8000"));
        let psycopg =
            r#"connection to server at "127.0.0.1", port 5432 failed: Connection refused"#;
        assert_eq!(find(psycopg).as_deref(), Some("127.0.0.1:5432"));
        let source = "    sock = socket.create_connection((\"127.0.0.1\", 1), timeout=1)";
        assert_eq!(find(source).as_deref(), Some("127.0.0.1:1"));
        assert_eq!(
            find("dial tcp 10.0.0.7:80: refused").as_deref(),
            Some("10.0.0.7:80")
        );
        assert_eq!(find("[Errno 111] Connection refused"), None);
        let traceback = "tests/test_api.py:20: in test_get\n    api.get(url)\nConnection refused by db.internal:6543";
        assert_eq!(find(traceback).as_deref(), Some("db.internal:6543"));
    }
}
