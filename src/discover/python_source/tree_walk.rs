//! The walk over a whole syntax tree, of any depth: every mark expression found, the tree's depth
//! measured, deep trees walked and dropped on a grown stack, hostile ones refused.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, ModModule, Pattern, Stmt};
use ruff_python_parser::Parsed;
use ruff_text_size::{Ranged, TextSize};

use super::markers::Names;
use crate::events::Marker;

/// A syntax tree deeper than this is refused ([`ScanError::TooDeep`](super::ScanError::TooDeep)).
/// CPython stops at 200 nested brackets and 100 nested blocks; only long `a + b + ...` chains get
/// deep (sympy has a 569-level one), and nothing real comes near this.
pub(super) const MAX_TREE_DEPTH: usize = 10_000;

/// Walking and dropping a tree recurses once per level: past this depth both run on a stack
/// grown as needed (as ruff's parser does), since the caller's may be small. Below it, no stack
/// probes are paid for.
const SHALLOW_DEPTH: usize = 64;

/// Stack kept free before walking a level deeper (a level takes ~2.5 KiB in a debug build).
const STACK_RED_ZONE: usize = 128 * 1024;

/// Stack added each time the walk runs short.
const STACK_SEGMENT: usize = 1024 * 1024;

/// Stack reserved per tree level for dropping a deep tree (measured: at most 128 bytes in a
/// debug build).
const DROP_STACK_PER_LEVEL: usize = 1024;

/// Drops a syntax tree without overflowing the stack: dropping recurses once per level.
pub(super) fn dispose(parsed: Parsed<ModModule>, depth: Option<usize>) {
    match depth {
        Some(depth) if depth <= SHALLOW_DEPTH => drop(parsed),
        Some(depth) => {
            let stack = depth.saturating_mul(DROP_STACK_PER_LEVEL);
            stacker::maybe_grow(stack, stack, move || drop(parsed));
        }
        // Of unknown depth, only from hostile or generated input: leaking is the safe way out.
        None => std::mem::forget(parsed),
    }
}

/// Finds every mark expression in the file, wherever it is, and measures the tree's depth.
pub(super) struct MarkerFinder<'n, 'a> {
    pub(super) names: &'n Names<'a>,
    pub(super) found: Vec<Marker>,
    pub(super) depth: usize,
    pub(super) max_depth: usize,
    /// Where the tree first got deeper than [`MAX_TREE_DEPTH`].
    pub(super) too_deep: Option<TextSize>,
}

impl<'a> MarkerFinder<'_, 'a> {
    /// Walks one level deeper, on a grown stack if the tree is deep; refuses past the limit.
    fn nested(&mut self, node: &impl Ranged, walk: impl FnOnce(&mut Self)) {
        if self.depth >= MAX_TREE_DEPTH {
            self.too_deep.get_or_insert(node.start());
            return;
        }
        self.depth += 1;
        self.max_depth = self.max_depth.max(self.depth);
        if self.depth > SHALLOW_DEPTH {
            stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || walk(self));
        } else {
            walk(self);
        }
        self.depth -= 1;
    }

    fn expr(&mut self, expr: &'a Expr) {
        let Some(marker) = self.names.literal_marker(expr) else {
            return visitor::walk_expr(self, expr);
        };
        self.found.push(marker);
        // Arguments can hold more marks: `parametrize(..., [pytest.param(marks=...)])`.
        if let Expr::Call(call) = expr {
            self.visit_arguments(&call.arguments);
        }
    }
}

impl<'a> Visitor<'a> for MarkerFinder<'_, 'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        self.nested(stmt, |finder| visitor::walk_stmt(finder, stmt));
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        self.nested(expr, |finder| finder.expr(expr));
    }

    fn visit_pattern(&mut self, pattern: &'a Pattern) {
        self.nested(pattern, |finder| visitor::walk_pattern(finder, pattern));
    }
}
