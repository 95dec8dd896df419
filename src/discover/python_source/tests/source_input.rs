//! Tests of the input itself: syntax errors, newer syntax, line endings, odd bytes, files.

use super::{ids, only_test, scan_ok};
use crate::discover::python_source::{scan, scan_file, ScanError};

#[test]
fn syntax_error_gives_line_and_column() {
    let source = "import pytest\n\ndef test_a(:\n    pass\n";
    match scan(source) {
        Err(ScanError::Syntax { line, column, .. }) => assert_eq!((line, column), (3, 12)),
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn python2_source_is_a_syntax_error() {
    let error = scan("print 'hello'\n").err();
    let message = error.map(|e| e.to_string()).unwrap_or_default();
    assert!(message.starts_with("1:"), "{message}");
}

#[test]
fn python_312_and_newer_syntax_parses() {
    let source = r#"
type Pair[T] = tuple[T, T]

def first[T](x: T) -> T:
    return x

class TestGeneric[T]:
    def test_pep701(self):
        names = ["a", "b"]
        assert f"{", ".join(names)}" == f'{f'{f"{1}"}'}'

def test_match():
    match [1, 2]:
        case [1, *rest]: pass
        case _: pass

def test_except_star():
    try:
        pass
    except* ValueError:
        pass

def test_python_314():
    template = t"hello {name}"
    try:
        pass
    except ValueError, TypeError:
        pass
"#;
    assert_eq!(
        ids(source),
        [
            "TestGeneric::test_pep701",
            "test_match",
            "test_except_star",
            "test_python_314"
        ]
    );
}

#[test]
fn line_endings_and_bom() {
    let crlf = "\u{feff}import pytest\r\n\r\n@pytest.mark.x\r\ndef test_a(): pass\r\n";
    assert_eq!(only_test(crlf).line, 4);
    let cr = "import pytest\r\rdef test_a(): pass\r";
    assert_eq!(only_test(cr).line, 3);
}

#[test]
fn empty_and_odd_inputs_do_not_panic() {
    for source in [
        "",
        "\n",
        "\0",
        "def",
        "class Test:\n",
        "pytestmark = ",
        "\u{feff}",
    ] {
        let _ = scan(source);
    }
    assert_eq!(scan_ok("").tests, []);
}

#[test]
fn scan_file_errors_name_the_file() {
    let dir = tempfile::tempdir().map_err(|e| e.to_string());
    let Ok(dir) = dir else { panic!("no temp dir") };
    let bad_utf8 = dir.path().join("test_latin1.py");
    let written = std::fs::write(&bad_utf8, b"# caf\xe9\ndef test_a(): pass\n");
    assert!(written.is_ok());
    match scan_file(&bad_utf8) {
        Err(ScanError::NotUtf8 { offset, .. }) => assert_eq!(offset, 5),
        other => panic!("expected NotUtf8, got {other:?}"),
    }
    let broken = dir.path().join("test_broken.py");
    assert!(std::fs::write(&broken, "def test_a(:\n").is_ok());
    let message = scan_file(&broken)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        message.starts_with(&format!("{}:1:", broken.display())),
        "{message}"
    );
    let missing = dir.path().join("test_missing.py");
    assert!(matches!(scan_file(&missing), Err(ScanError::Io { .. })));
    let good = dir.path().join("test_good.py");
    assert!(std::fs::write(&good, "def test_a(): pass\n").is_ok());
    assert_eq!(scan_file(&good).ok().map(|s| s.tests.len()), Some(1));
}
