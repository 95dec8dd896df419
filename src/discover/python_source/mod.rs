//! Static reading of Python test modules: the tests pytest would collect from a file and the
//! markers on them, found by parsing the source (ruff's parser) without running Python.
//!
//! A run is planned from this before any pytest process starts (capabilities, tiers, dependency
//! order). pytest still collects for real: what a static reading cannot see (a base class or a
//! `test*` name imported from another module, `pytest_generate_tests`) is listed in
//! [`ModuleScan::caveats`] instead of guessed at.

mod collect;
mod line_index;
mod lineage;
mod markers;
mod scope;
mod tree_walk;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use ruff_python_ast::visitor::Visitor;
use ruff_python_ast::{PySourceType, Stmt};
use ruff_python_parser::ParseError;

use crate::events::Marker;
use collect::Collector;
use line_index::LineIndex;
use markers::Names;
use tree_walk::{dispose, MarkerFinder};

/// What one test module holds, as far as its source tells.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModuleScan {
    /// Test items pytest would collect by default rules, in pytest's collection order.
    pub tests: Vec<StaticTest>,
    /// Every marker expression anywhere in the file (decorators, `pytestmark`,
    /// `pytest.param(marks=...)`, class bodies, helpers), in source order, for capability probing.
    pub all_markers: Vec<Marker>,
    /// Why `tests` may miss items pytest collects or ids it makes: bases or `test*` names
    /// imported from other modules, `import *`, `pytest_generate_tests`. Empty when the file
    /// says everything.
    pub caveats: Vec<String>,
}

/// One test item as pytest would collect it, before parametrization.
#[derive(Debug, Clone, PartialEq)]
pub struct StaticTest {
    /// The node-id part after the file: "test_a", "TestC::test_m", "TestOuter::TestInner::test_x".
    pub name: String,
    /// 1-based line of the `def`.
    pub line: u32,
    /// Has a parametrize marker (own, class or module): real ids get `[..]` suffixes.
    pub parametrized: bool,
    /// Effective markers, closest first, in `item.iter_markers()` order: the function's
    /// decorators (bottom to top, the order they apply in), then each enclosing class's
    /// (`pytestmark` in its body and its bases', then its decorators bottom to top), then the
    /// module's `pytestmark`.
    pub markers: Vec<Marker>,
}

/// Why a module could not be read; callers fall back to pytest's own collection.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("{}{line}:{column}: {message}", path_prefix(path.as_deref()))]
    Syntax {
        path: Option<PathBuf>,
        line: u32,
        column: u32,
        message: String,
    },
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: not UTF-8 (bad byte at offset {offset})", path.display())]
    NotUtf8 { path: PathBuf, offset: usize },
    /// Over 4 GiB: the parser's offsets are 32-bit.
    #[error("{}source of {bytes} bytes is too large to read", path_prefix(path.as_deref()))]
    TooLarge { path: Option<PathBuf>, bytes: usize },
    /// Nested deeper than [`MAX_TREE_DEPTH`](tree_walk::MAX_TREE_DEPTH) levels.
    #[error("{}{line}: nested too deeply to read", path_prefix(path.as_deref()))]
    TooDeep { path: Option<PathBuf>, line: u32 },
}

impl ScanError {
    /// Names the file in an error from [`scan`].
    fn in_file(mut self, file: &Path) -> Self {
        match &mut self {
            ScanError::Syntax { path, .. }
            | ScanError::TooLarge { path, .. }
            | ScanError::TooDeep { path, .. } => *path = Some(file.to_path_buf()),
            ScanError::Io { .. } | ScanError::NotUtf8 { .. } => {}
        }
        self
    }
}

fn path_prefix(path: Option<&Path>) -> String {
    path.map(|p| format!("{}:", p.display()))
        .unwrap_or_default()
}

/// Nesting beyond this (literals, blocks, classes, bases) is not followed: real test code stays
/// far below it, and it bounds recursion on hostile input.
const MAX_DEPTH: usize = 64;

/// Reads the Python module at `path`.
pub fn scan_file(path: &Path) -> Result<ModuleScan, ScanError> {
    let bytes = std::fs::read(path).map_err(|error| ScanError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    let source = String::from_utf8(bytes).map_err(|e| ScanError::NotUtf8 {
        path: path.to_path_buf(),
        offset: e.utf8_error().valid_up_to(),
    })?;
    scan(&source).map_err(|e| e.in_file(path))
}

/// Reads a Python module's source. Any syntax error fails the whole scan, so a caller never plans
/// from a partial picture.
pub fn scan(source: &str) -> Result<ModuleScan, ScanError> {
    // A UTF-8 BOM is valid at the start of a Python file.
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    if u32::try_from(source.len()).is_err() {
        let bytes = source.len();
        return Err(ScanError::TooLarge { path: None, bytes });
    }
    let parsed = ruff_python_parser::parse_unchecked_source(source, PySourceType::Python);
    // A tree with errors (recovered) is read too: how deep it is decides how to drop it.
    let (scan, depth) = read_module(source, &parsed.syntax().body);
    let scan = match parsed.errors().first() {
        Some(error) => Err(syntax_error(source, error)),
        None => scan,
    };
    dispose(parsed, depth);
    scan
}

fn syntax_error(source: &str, error: &ParseError) -> ScanError {
    let (line, column) = LineIndex::new(source).line_col(source, error.location.start());
    ScanError::Syntax {
        path: None,
        line,
        column,
        message: error.error.to_string(),
    }
}

/// The scan of a parsed module, and the depth of its tree (`None`: deeper than
/// [`MAX_TREE_DEPTH`](tree_walk::MAX_TREE_DEPTH), not walked to the end).
fn read_module(source: &str, body: &[Stmt]) -> (Result<ModuleScan, ScanError>, Option<usize>) {
    let names = Names::of_module(source, body);
    let mut markers = MarkerFinder {
        names: &names,
        found: Vec::new(),
        depth: 0,
        max_depth: 0,
        too_deep: None,
    };
    markers.visit_body(body);
    if let Some(offset) = markers.too_deep {
        let line = LineIndex::new(source).line(offset);
        return (Err(ScanError::TooDeep { path: None, line }), None);
    }
    let mut collector = Collector::new(&names, body);
    collector.module();
    let scan = ModuleScan {
        tests: collector.tests,
        all_markers: markers.found,
        caveats: collector.caveats,
    };
    (Ok(scan), Some(markers.max_depth))
}
