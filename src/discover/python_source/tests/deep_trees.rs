//! Tests of deeply nested sources: read when plausible, refused when hostile, never overflowing.

use super::only_test;
use crate::discover::python_source::tree_walk::MAX_TREE_DEPTH;
use crate::discover::python_source::{scan, ScanError};

/// Sources nested `depth` levels deep in the ways Python allows, nested blocks last.
fn nested_sources(depth: usize) -> Vec<String> {
    let wrap =
        |open: &str, close: &str| format!("x = {}1{}\n", open.repeat(depth), close.repeat(depth));
    vec![
        wrap("[", "]"),
        wrap("f(", ")"),
        wrap("a[", "]"),
        wrap("-", ""),
        wrap("not ", ""),
        wrap("lambda: ", ""),
        format!("x = {}\n", vec!["1"; depth + 1].join(" + ")),
        format!(
            "match x:\n    case {}y{}: pass\n",
            "[".repeat(depth),
            "]".repeat(depth)
        ),
        nested_blocks(depth),
    ]
}

/// Each block indents one more column: the source grows with the square of the depth.
fn nested_blocks(depth: usize) -> String {
    let mut blocks = String::new();
    for level in 0..depth {
        blocks.push_str(&format!("{}if x:\n", " ".repeat(level)));
    }
    blocks.push_str(&format!("{}pass\n", " ".repeat(depth)));
    blocks
}

#[test]
fn deep_but_plausible_nesting_is_read() {
    for source in nested_sources(600) {
        assert!(scan(&source).is_ok(), "{}", &source[..40]);
    }
    let list = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let source = format!("import pytest\n@pytest.mark.deep({list})\ndef test_a(): pass\n");
    assert_eq!(only_test(&source).markers[0].name, "deep");
}

#[test]
fn deepest_accepted_trees_need_little_stack_of_their_own() {
    // The walk and the drop grow their own stack: a small thread is enough.
    let scanned = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(|| {
            let mut sources = nested_sources(MAX_TREE_DEPTH - 5);
            // Blocks that deep would take 50 MB of indentation.
            sources.pop();
            sources.push(nested_blocks(2_000));
            sources.iter().all(|source| scan(source).is_ok())
        })
        .map(|thread| thread.join());
    assert!(matches!(scanned, Ok(Ok(true))));
}

#[test]
fn hostile_nesting_is_refused_without_overflowing() {
    let mut sources = nested_sources(2 * MAX_TREE_DEPTH);
    // Blocks that deep would take 200 MB of indentation.
    sources.pop();
    for source in sources {
        match scan(&source) {
            Err(ScanError::TooDeep { line, .. }) => assert!(line >= 1),
            other => panic!("expected TooDeep for {}, got {other:?}", &source[..40]),
        }
    }
}

#[test]
fn deep_trees_with_syntax_errors_do_not_overflow() {
    let unclosed = format!("x = {}", "[".repeat(5 * MAX_TREE_DEPTH));
    let deep_error = format!("x = {}1{})", "[".repeat(5_000), "]".repeat(4_999));
    for source in [unclosed, deep_error] {
        assert!(matches!(scan(&source), Err(ScanError::Syntax { .. })));
    }
}
