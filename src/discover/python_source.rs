//! Static reading of Python test modules: the tests pytest would collect from a file and the
//! markers on them, found by parsing the source (ruff's parser) without running Python.
//!
//! A run is planned from this before any pytest process starts (capabilities, tiers, dependency
//! order). pytest still collects for real: what a static reading cannot see (a base class or a
//! `test*` name imported from another module, `pytest_generate_tests`) is listed in
//! [`ModuleScan::caveats`] instead of guessed at.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{
    Arguments, Decorator, Expr, ExprDict, ModModule, Number, Pattern, PySourceType, Stmt,
    StmtClassDef, StmtFunctionDef, UnaryOp,
};
use ruff_python_parser::{ParseError, Parsed};
use ruff_text_size::{Ranged, TextSize};
use serde_json::{Map, Value};

use crate::events::Marker;

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
    /// Nested deeper than [`MAX_TREE_DEPTH`] levels.
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

/// The marker name whose (possibly huge) arguments are not converted.
const PARAMETRIZE: &str = "parametrize";

/// Nesting beyond this (literals, blocks, classes, bases) is not followed: real test code stays
/// far below it, and it bounds recursion on hostile input.
const MAX_DEPTH: usize = 64;

/// A syntax tree deeper than this is refused ([`ScanError::TooDeep`]). CPython stops at 200
/// nested brackets and 100 nested blocks; only long `a + b + ...` chains get deep (sympy has a
/// 569-level one), and nothing real comes near this.
const MAX_TREE_DEPTH: usize = 10_000;

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
/// [`MAX_TREE_DEPTH`], not walked to the end).
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

/// Drops a syntax tree without overflowing the stack: dropping recurses once per level.
fn dispose(parsed: Parsed<ModModule>, depth: Option<usize>) {
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

/// Byte offsets of line starts, for 1-based line and column numbers.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(source: &str) -> Self {
        let bytes = source.as_bytes();
        let mut starts = vec![0];
        for (i, &b) in bytes.iter().enumerate() {
            // Python ends lines at "\n", "\r\n" and a lone "\r".
            let ends_line = b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n'));
            if ends_line {
                starts.push(i + 1);
            }
        }
        LineIndex { starts }
    }

    fn line(&self, offset: TextSize) -> u32 {
        let offset = offset.to_usize();
        let line = self.starts.partition_point(|&start| start <= offset);
        u32::try_from(line).unwrap_or(u32::MAX)
    }

    fn line_col(&self, source: &str, offset: TextSize) -> (u32, u32) {
        let line = self.line(offset);
        let start = self.starts[(line as usize).saturating_sub(1)];
        let chars = source
            .get(start..offset.to_usize())
            .map_or(0, |s| s.chars().count());
        (line, u32::try_from(chars + 1).unwrap_or(u32::MAX))
    }
}

/// Module-level statements in order, with the bodies of `if`/`try`/`with` blocks inlined: those
/// bind names in the same scope (which branch runs is not known statically; both are read).
fn flat_body(body: &[Stmt]) -> Vec<&Stmt> {
    let mut out = Vec::with_capacity(body.len());
    flatten_into(body, &mut out, 0);
    out
}

fn flatten_into<'a>(body: &'a [Stmt], out: &mut Vec<&'a Stmt>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    for stmt in body {
        match stmt {
            Stmt::If(s) => {
                flatten_into(&s.body, out, depth + 1);
                for clause in &s.elif_else_clauses {
                    flatten_into(&clause.body, out, depth + 1);
                }
            }
            Stmt::Try(s) => {
                flatten_into(&s.body, out, depth + 1);
                for handler in &s.handlers {
                    let ruff_python_ast::ExceptHandler::ExceptHandler(h) = handler;
                    flatten_into(&h.body, out, depth + 1);
                }
                flatten_into(&s.orelse, out, depth + 1);
                flatten_into(&s.finalbody, out, depth + 1);
            }
            Stmt::With(s) => flatten_into(&s.body, out, depth + 1),
            _ => out.push(stmt),
        }
    }
}

/// How the module spells pytest's marks and fixtures, and its named marks.
struct Names<'a> {
    source: &'a str,
    /// Names bound to the pytest module (`import pytest as pt`).
    pytest: HashSet<&'a str>,
    /// Names bound to `pytest.mark` (`from pytest import mark`).
    mark: HashSet<&'a str>,
    /// Names bound to `pytest.fixture`.
    fixture: HashSet<&'a str>,
    /// Module-level `slow = pytest.mark.slow`: usable as `@slow` or in `pytestmark`.
    aliases: HashMap<&'a str, Marker>,
}

impl<'a> Names<'a> {
    fn of_module(source: &'a str, body: &'a [Stmt]) -> Self {
        let mut names = Names {
            source,
            // Always: a file using `pytest.mark` without importing pytest fails at import anyway.
            pytest: HashSet::from(["pytest"]),
            mark: HashSet::new(),
            fixture: HashSet::new(),
            aliases: HashMap::new(),
        };
        for stmt in flat_body(body) {
            names.read(stmt);
        }
        names
    }

    fn read(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Import(s) => {
                for alias in s.names.iter().filter(|a| a.name.as_str() == "pytest") {
                    let bound = alias.asname.as_ref().unwrap_or(&alias.name);
                    self.pytest.insert(bound.as_str());
                }
            }
            Stmt::ImportFrom(s)
                if s.level == 0 && s.module.as_ref().is_some_and(|m| m.as_str() == "pytest") =>
            {
                for alias in &s.names {
                    let bound = alias.asname.as_ref().unwrap_or(&alias.name).as_str();
                    match alias.name.as_str() {
                        "mark" => self.mark.insert(bound),
                        "fixture" => self.fixture.insert(bound),
                        _ => false,
                    };
                }
            }
            Stmt::Assign(s) => {
                if let [Expr::Name(target)] = s.targets.as_slice() {
                    self.read_assignment(target.id.as_str(), &s.value);
                }
            }
            _ => {}
        }
    }

    /// `slow = pytest.mark.slow` names a mark; `mark = pytest.mark` names the generator.
    fn read_assignment(&mut self, target: &'a str, value: &'a Expr) {
        if let Some(marker) = self.literal_marker(value) {
            self.aliases.insert(target, marker);
        } else if let Expr::Attribute(a) = value {
            let of_pytest =
                matches!(&*a.value, Expr::Name(n) if self.pytest.contains(n.id.as_str()));
            if of_pytest && a.attr.as_str() == "mark" {
                self.mark.insert(target);
            }
        }
    }

    /// `NAME` of `pytest.mark.NAME` (any alias of pytest) or `mark.NAME`.
    fn mark_name(&self, expr: &'a Expr) -> Option<&'a str> {
        let Expr::Attribute(attr) = expr else {
            return None;
        };
        let is_mark = match &*attr.value {
            Expr::Name(n) => self.mark.contains(n.id.as_str()),
            Expr::Attribute(inner) => {
                inner.attr.as_str() == "mark"
                    && matches!(&*inner.value, Expr::Name(n) if self.pytest.contains(n.id.as_str()))
            }
            _ => false,
        };
        is_mark.then(|| attr.attr.as_str())
    }

    /// A mark written out: `pytest.mark.x` or `pytest.mark.x(args...)`.
    fn literal_marker(&self, expr: &'a Expr) -> Option<Marker> {
        match expr {
            Expr::Call(call) => {
                let name = self.mark_name(&call.func)?;
                Some(self.called_marker(name, &call.arguments))
            }
            _ => self.mark_name(expr).map(bare_marker),
        }
    }

    /// A mark written out or a module-level name bound to one.
    fn marker(&self, expr: &'a Expr) -> Option<Marker> {
        match expr {
            Expr::Name(n) => self.aliases.get(n.id.as_str()).cloned(),
            _ => self.literal_marker(expr),
        }
    }

    /// The marks of a `pytestmark` value: one mark, or a list or tuple of them.
    fn marks_of(&self, expr: &'a Expr) -> Vec<Marker> {
        match expr {
            Expr::List(l) => l.elts.iter().filter_map(|e| self.marker(e)).collect(),
            Expr::Tuple(t) => t.elts.iter().filter_map(|e| self.marker(e)).collect(),
            _ => self.marker(expr).into_iter().collect(),
        }
    }

    /// The marks among decorators, in the order they apply: bottom first.
    fn decorator_marks(&self, decorators: &'a [Decorator]) -> Vec<Marker> {
        let marks = decorators.iter().rev();
        marks.filter_map(|d| self.marker(&d.expression)).collect()
    }

    fn is_fixture(&self, decorators: &[Decorator]) -> bool {
        decorators.iter().any(|d| match callee(&d.expression) {
            Expr::Name(n) => self.fixture.contains(n.id.as_str()),
            // pytest.fixture, pytest_asyncio.fixture, pytest.yield_fixture
            Expr::Attribute(a) => matches!(a.attr.as_str(), "fixture" | "yield_fixture"),
            _ => false,
        })
    }

    fn called_marker(&self, name: &str, arguments: &'a Arguments) -> Marker {
        let mut marker = bare_marker(name);
        // Only the fact of parametrization is needed, and its values can be huge.
        if name == PARAMETRIZE {
            return marker;
        }
        marker.args = arguments.args.iter().map(|a| self.value(a)).collect();
        for keyword in &arguments.keywords {
            // `**kwargs` has no name: keep it visible as an unknown under "**".
            let key = keyword.arg.as_ref().map_or("**", |k| k.as_str());
            marker
                .kwargs
                .insert(key.to_string(), self.value(&keyword.value));
        }
        marker
    }

    /// A literal as JSON, anything else as `{"$expr": "<source text>"}`.
    fn value(&self, expr: &Expr) -> Value {
        self.nested_value(expr, 0)
    }

    fn nested_value(&self, expr: &Expr, depth: usize) -> Value {
        self.literal(expr, depth)
            .unwrap_or_else(|| self.opaque(expr))
    }

    fn opaque(&self, expr: &Expr) -> Value {
        let text = self.source.get(expr.range().to_std_range()).unwrap_or("");
        let mut object = Map::new();
        object.insert("$expr".to_string(), Value::from(text));
        Value::Object(object)
    }

    fn literal(&self, expr: &Expr, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        let items = |elts: &[Expr]| {
            let values = elts.iter().map(|e| self.nested_value(e, depth + 1));
            Some(Value::Array(values.collect()))
        };
        match expr {
            Expr::StringLiteral(s) => Some(Value::from(s.value.to_str())),
            Expr::NumberLiteral(n) => number(&n.value, false),
            Expr::UnaryOp(u) if matches!(u.op, UnaryOp::USub | UnaryOp::UAdd) => {
                match &*u.operand {
                    Expr::NumberLiteral(n) => number(&n.value, u.op == UnaryOp::USub),
                    _ => None,
                }
            }
            Expr::BooleanLiteral(b) => Some(Value::Bool(b.value)),
            Expr::NoneLiteral(_) => Some(Value::Null),
            Expr::List(l) => items(&l.elts),
            Expr::Tuple(t) => items(&t.elts),
            Expr::Set(s) => items(&s.elts),
            Expr::Dict(d) => self.object(d, depth),
            _ => None,
        }
    }

    /// A dict with string keys only; `**spread` or other keys make the whole dict opaque.
    fn object(&self, dict: &ExprDict, depth: usize) -> Option<Value> {
        let mut object = Map::new();
        for item in &dict.items {
            let Some(Expr::StringLiteral(key)) = &item.key else {
                return None;
            };
            let value = self.nested_value(&item.value, depth + 1);
            object.insert(key.value.to_str().to_string(), value);
        }
        Some(Value::Object(object))
    }
}

fn bare_marker(name: &str) -> Marker {
    Marker {
        name: name.to_string(),
        args: Vec::new(),
        kwargs: Map::new(),
    }
}

/// The called function of a call, or the expression itself.
fn callee(expr: &Expr) -> &Expr {
    match expr {
        Expr::Call(call) => &call.func,
        _ => expr,
    }
}

/// A number as JSON; big ints, complex numbers and non-finite floats have no JSON form.
fn number(n: &Number, negate: bool) -> Option<Value> {
    match n {
        Number::Int(i) if negate => 0i64.checked_sub_unsigned(i.as_u64()?).map(Value::from),
        Number::Int(i) => i.as_u64().map(Value::from),
        Number::Float(f) => {
            let f = if negate { -f } else { *f };
            serde_json::Number::from_f64(f).map(Value::Number)
        }
        Number::Complex { .. } => None,
    }
}

/// Finds every mark expression in the file, wherever it is, and measures the tree's depth.
struct MarkerFinder<'n, 'a> {
    names: &'n Names<'a>,
    found: Vec<Marker>,
    depth: usize,
    max_depth: usize,
    /// Where the tree first got deeper than [`MAX_TREE_DEPTH`].
    too_deep: Option<TextSize>,
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

/// What a name is bound to in a module or class body.
#[derive(Clone, Copy)]
enum Member<'a> {
    Function(&'a StmtFunctionDef),
    Class(&'a StmtClassDef),
    Value(&'a Expr),
    /// Imported or otherwise unknown.
    Other,
}

/// The names a module or class body binds, in first-binding order (a `__dict__`'s order), each
/// with its last binding (what the name holds once the body has run).
#[derive(Default)]
struct Scope<'a> {
    members: Vec<(&'a str, Member<'a>)>,
    index: HashMap<&'a str, usize>,
    /// Imported names that pytest would collect if they are tests, and `*` imports.
    imports: Vec<&'a str>,
}

impl<'a> Scope<'a> {
    fn of(body: &'a [Stmt]) -> Self {
        let mut scope = Scope::default();
        for stmt in flat_body(body) {
            scope.read(stmt);
        }
        scope
    }

    fn read(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(f) => self.bind(f.name.as_str(), Member::Function(f)),
            Stmt::ClassDef(c) => self.bind(c.name.as_str(), Member::Class(c)),
            Stmt::Assign(s) => {
                // `test_b = test_a` makes test_b a test too: carry the function over.
                let value = match &*s.value {
                    Expr::Name(n) => self.get(n.id.as_str()).unwrap_or(Member::Value(&s.value)),
                    value => Member::Value(value),
                };
                for target in &s.targets {
                    self.bind_target(target, value, 0);
                }
            }
            Stmt::AnnAssign(s) => {
                if let Some(value) = &s.value {
                    self.bind_target(&s.target, Member::Value(value), 0);
                }
            }
            Stmt::Import(s) => {
                for alias in &s.names {
                    let bound = alias.asname.as_ref().unwrap_or(&alias.name).as_str();
                    // `import a.b` binds `a`.
                    let bound = bound.split('.').next().unwrap_or(bound);
                    self.bind(bound, Member::Other);
                }
            }
            Stmt::ImportFrom(s) => {
                for alias in &s.names {
                    let bound = alias.asname.as_ref().unwrap_or(&alias.name).as_str();
                    let test_like = bound.starts_with("test")
                        || (bound.starts_with("Test") && !bound.ends_with("TestCase"));
                    // unittest's `TestCase` and its kin hold no tests of their own.
                    if bound == "*" || test_like {
                        self.imports.push(bound);
                    }
                    self.bind(bound, Member::Other);
                }
            }
            _ => {}
        }
    }

    fn bind_target(&mut self, target: &'a Expr, value: Member<'a>, depth: usize) {
        let unpacked = match target {
            Expr::Name(n) => return self.bind(n.id.as_str(), value),
            Expr::Tuple(t) => &t.elts,
            Expr::List(l) => &l.elts,
            _ => return,
        };
        if depth < MAX_DEPTH {
            for target in unpacked {
                self.bind_target(target, Member::Other, depth + 1);
            }
        }
    }

    fn bind(&mut self, name: &'a str, member: Member<'a>) {
        match self.index.get(name) {
            Some(&i) => self.members[i].1 = member,
            None => {
                self.index.insert(name, self.members.len());
                self.members.push((name, member));
            }
        }
    }

    fn get(&self, name: &str) -> Option<Member<'a>> {
        self.index.get(name).map(|&i| self.members[i].1)
    }

    fn class(&self, name: &str) -> Option<&'a StmtClassDef> {
        match self.get(name) {
            Some(Member::Class(c)) => Some(c),
            _ => None,
        }
    }
}

/// A class, with the class whose body defines it (`None`: the module): its bases are looked up
/// there, then in the module.
#[derive(Clone, Copy)]
struct ClassRef<'a> {
    class: &'a StmtClassDef,
    outer: Option<&'a StmtClassDef>,
}

impl ClassRef<'_> {
    fn key(&self) -> usize {
        std::ptr::from_ref(self.class) as usize
    }
}

/// What a class inherits, as far as this file defines it.
struct Lineage<'a> {
    /// Method resolution order over the classes defined in this file, the class first.
    mro: Vec<ClassRef<'a>>,
    /// A `TestCase` base somewhere: unittest's collection rules apply.
    unittest: bool,
    /// Source text of bases defined elsewhere (they may hold tests or markers this cannot see).
    foreign: Vec<String>,
}

/// One member of a class as pytest finds it: its name, what it is, and the class defining it.
type ClassMember<'a> = (&'a str, Member<'a>, &'a StmtClassDef);

/// Walks the module as pytest's collectors do.
struct Collector<'n, 'a> {
    names: &'n Names<'a>,
    lines: LineIndex,
    module: Scope<'a>,
    module_marks: Vec<Marker>,
    bodies: HashMap<usize, Rc<Scope<'a>>>,
    lineages: HashMap<usize, Rc<Lineage<'a>>>,
    /// Classes whose lineage is being worked out (guards against `class A(B)` / `class B(A)`).
    resolving: HashSet<usize>,
    tests: Vec<StaticTest>,
    caveats: Vec<String>,
}

impl<'n, 'a> Collector<'n, 'a> {
    fn new(names: &'n Names<'a>, body: &'a [Stmt]) -> Self {
        let module = Scope::of(body);
        let module_marks = match module.get("pytestmark") {
            Some(Member::Value(v)) => names.marks_of(v),
            _ => Vec::new(),
        };
        Collector {
            names,
            lines: LineIndex::new(names.source),
            module,
            module_marks,
            bodies: HashMap::new(),
            lineages: HashMap::new(),
            resolving: HashSet::new(),
            tests: Vec::new(),
            caveats: Vec::new(),
        }
    }

    fn module(&mut self) {
        for &name in &self.module.imports {
            if name == "*" {
                let caveat = "`import *`: pytest collects any test it brings in";
                self.caveats.push(caveat.to_string());
            } else if matches!(self.module.get(name), Some(Member::Other)) {
                let caveat = format!("imports `{name}`: pytest collects it if it is a test");
                self.caveats.push(caveat);
            }
        }
        if self.module.get("pytest_generate_tests").is_some() {
            let caveat = "pytest_generate_tests in the module: tests may be parametrized";
            self.caveats.push(caveat.to_string());
        }
        let members = self.module.members.clone();
        let outer_marks = self.module_marks.clone();
        for (name, member) in members {
            match member {
                Member::Function(f) => self.function(name, name, f, &outer_marks),
                Member::Class(class) => {
                    let class = ClassRef { class, outer: None };
                    self.class(name, name, class, &outer_marks, 0);
                }
                _ => {}
            }
        }
    }

    /// A function bound to `name` (a module function or a method), collected as `id`.
    fn function(&mut self, name: &str, id: &str, f: &'a StmtFunctionDef, outer_marks: &[Marker]) {
        if !name.starts_with("test") || self.names.is_fixture(&f.decorator_list) {
            return;
        }
        let mut markers = self.names.decorator_marks(&f.decorator_list);
        markers.extend_from_slice(outer_marks);
        self.tests.push(StaticTest {
            name: id.to_string(),
            line: self.lines.line(f.name.start()),
            parametrized: markers.iter().any(|m| m.name == PARAMETRIZE),
            markers,
        });
    }

    /// A class bound to `name`, collected under `id` if pytest would collect it.
    fn class(
        &mut self,
        name: &str,
        id: &str,
        class: ClassRef<'a>,
        outer_marks: &[Marker],
        depth: usize,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        let lineage = self.lineage(class, 0);
        let members = self.members(&lineage);
        let flag = members
            .iter()
            .find(|(n, ..)| *n == "__test__")
            .and_then(|(_, m, _)| match m {
                Member::Value(Expr::BooleanLiteral(b)) => Some(b.value),
                _ => None,
            });
        if flag == Some(false) {
            return;
        }
        let has = |wanted: &str| members.iter().any(|(n, ..)| *n == wanted);
        let collected = if lineage.unittest {
            true
        } else {
            (name.starts_with("Test") || flag == Some(true))
                && !has("__init__")
                && !has("__new__")
                && !self.is_abstract(&members)
        };
        self.foreign_caveats(id, &lineage, collected);
        if !collected {
            return;
        }
        if has("pytest_generate_tests") {
            let caveat = format!("pytest_generate_tests in {id}: tests may be parametrized");
            self.caveats.push(caveat);
        }
        let mut marks = self.class_marks(&lineage);
        marks.extend_from_slice(outer_marks);
        if lineage.unittest {
            self.unittest_methods(id, &members, &marks);
        } else {
            self.class_members(id, &members, &marks, depth);
        }
    }

    /// Bases from other modules may bring tests in: for a class collected here, any base; for
    /// one not collected, a base named like a test class (it may be a `unittest.TestCase`).
    fn foreign_caveats(&mut self, id: &str, lineage: &Lineage<'a>, collected: bool) {
        for base in &lineage.foreign {
            if collected || base.contains("Test") {
                let caveat = format!("{id} inherits from `{base}`, defined in another module");
                self.caveats.push(caveat);
            }
        }
    }

    fn class_members(
        &mut self,
        id: &str,
        members: &[ClassMember<'a>],
        marks: &[Marker],
        depth: usize,
    ) {
        for &(name, member, owner) in members {
            let member_id = format!("{id}::{name}");
            match member {
                Member::Function(f) => self.function(name, &member_id, f, marks),
                Member::Class(class) => {
                    let class = ClassRef {
                        class,
                        outer: Some(owner),
                    };
                    self.class(name, &member_id, class, marks, depth + 1);
                }
                _ => {}
            }
        }
    }

    /// unittest's loader takes `test*` methods sorted by name, and no nested classes.
    fn unittest_methods(&mut self, id: &str, members: &[ClassMember<'a>], marks: &[Marker]) {
        let mut methods: Vec<_> = members
            .iter()
            .filter_map(|&(name, member, _)| match member {
                Member::Function(f) => Some((name, f)),
                _ => None,
            })
            .collect();
        methods.sort_by_key(|&(name, _)| name);
        for (name, f) in methods {
            self.function(name, &format!("{id}::{name}"), f, marks);
        }
    }

    /// A class's members as pytest's collector lists them: each class of the MRO contributes
    /// the names not seen in a closer one, and base classes' groups come first.
    fn members(&mut self, lineage: &Lineage<'a>) -> Vec<ClassMember<'a>> {
        let mut seen = HashSet::new();
        let mut groups = Vec::with_capacity(lineage.mro.len());
        for class in &lineage.mro {
            let body = self.body(class.class);
            let group: Vec<_> = body
                .members
                .iter()
                .filter(|(name, _)| seen.insert(*name))
                .map(|&(name, member)| (name, member, class.class))
                .collect();
            groups.push(group);
        }
        groups.into_iter().rev().flatten().collect()
    }

    /// `inspect.isabstract`, approximately: an `@abstractmethod` not overridden.
    fn is_abstract(&self, members: &[ClassMember<'a>]) -> bool {
        members.iter().any(|(_, member, _)| match member {
            Member::Function(f) => f.decorator_list.iter().any(|d| {
                let name = match callee(&d.expression) {
                    Expr::Name(n) => n.id.as_str(),
                    Expr::Attribute(a) => a.attr.as_str(),
                    _ => "",
                };
                name == "abstractmethod"
            }),
            _ => false,
        })
    }

    /// A class's own markers as pytest gathers them: every class of the MRO from the farthest
    /// base in, each with its body's `pytestmark` then its decorators bottom first.
    fn class_marks(&mut self, lineage: &Lineage<'a>) -> Vec<Marker> {
        let mut marks = Vec::new();
        for class in lineage.mro.iter().rev() {
            if let Some(Member::Value(v)) = self.body(class.class).get("pytestmark") {
                marks.extend(self.names.marks_of(v));
            }
            marks.extend(self.names.decorator_marks(&class.class.decorator_list));
        }
        marks
    }

    fn body(&mut self, class: &'a StmtClassDef) -> Rc<Scope<'a>> {
        let key = std::ptr::from_ref(class) as usize;
        let scope = self
            .bodies
            .entry(key)
            .or_insert_with(|| Rc::new(Scope::of(&class.body)));
        Rc::clone(scope)
    }

    fn lineage(&mut self, class: ClassRef<'a>, depth: usize) -> Rc<Lineage<'a>> {
        if let Some(known) = self.lineages.get(&class.key()) {
            return Rc::clone(known);
        }
        self.resolving.insert(class.key());
        let lineage = Rc::new(self.work_out_lineage(class, depth));
        self.resolving.remove(&class.key());
        self.lineages.insert(class.key(), Rc::clone(&lineage));
        lineage
    }

    fn work_out_lineage(&mut self, class: ClassRef<'a>, depth: usize) -> Lineage<'a> {
        let mut unittest = false;
        let mut foreign = Vec::new();
        let mut base_mros = Vec::new();
        let bases = class
            .class
            .arguments
            .as_deref()
            .map_or(&[][..], |a| &a.args[..]);
        for base in bases {
            match self.resolve_base(class, base) {
                Some(resolved)
                    if depth < MAX_DEPTH && !self.resolving.contains(&resolved.key()) =>
                {
                    let lineage = self.lineage(resolved, depth + 1);
                    unittest |= lineage.unittest;
                    foreign.extend(lineage.foreign.iter().cloned());
                    base_mros.push(lineage.mro.clone());
                }
                _ => {
                    let text = self
                        .names
                        .source
                        .get(base.range().to_std_range())
                        .unwrap_or("");
                    match foreign_base(text) {
                        ForeignBase::TestCase => unittest = true,
                        ForeignBase::Empty => {}
                        ForeignBase::Unknown => foreign.push(text.to_string()),
                    }
                }
            }
        }
        let mut mro = vec![class];
        mro.extend(c3_merge(base_mros));
        Lineage {
            mro,
            unittest,
            foreign,
        }
    }

    /// A base written as a plain name, looked up where the class statement runs.
    fn resolve_base(&mut self, class: ClassRef<'a>, base: &Expr) -> Option<ClassRef<'a>> {
        let Expr::Name(n) = base else {
            return None;
        };
        let name = n.id.as_str();
        if let Some(outer) = class.outer {
            if let Some(found) = self.body(outer).class(name) {
                return Some(ClassRef {
                    class: found,
                    outer: Some(outer),
                });
            }
        }
        let found = self.module.class(name)?;
        Some(ClassRef {
            class: found,
            outer: None,
        })
    }
}

enum ForeignBase {
    /// unittest's `TestCase` or a subclass named like one (`IsolatedAsyncioTestCase`, django's):
    /// no tests of its own.
    TestCase,
    /// Known to add no tests (`object`, `ABC`, `Generic[T]`, ...).
    Empty,
    Unknown,
}

fn foreign_base(text: &str) -> ForeignBase {
    let head = text.split('[').next().unwrap_or(text);
    let last = head.rsplit('.').next().unwrap_or(head).trim();
    if last.ends_with("TestCase") {
        ForeignBase::TestCase
    } else if matches!(last, "object" | "ABC" | "Generic" | "Protocol") {
        ForeignBase::Empty
    } else {
        ForeignBase::Unknown
    }
}

/// Python's C3 merge of the bases' MROs (followed by the bases list itself, which each MRO's
/// head already is). An inconsistent hierarchy, which Python rejects, gets a depth-first order.
fn c3_merge<'a>(mut lists: Vec<Vec<ClassRef<'a>>>) -> Vec<ClassRef<'a>> {
    lists.push(lists.iter().filter_map(|l| l.first().copied()).collect());
    let same = |a: &ClassRef, b: &ClassRef| a.key() == b.key();
    let mut out: Vec<ClassRef<'a>> = Vec::new();
    loop {
        lists.retain(|l| !l.is_empty());
        if lists.is_empty() {
            return out;
        }
        let head = lists.iter().map(|l| l[0]).find(|candidate| {
            !lists
                .iter()
                .any(|l| l[1..].iter().any(|c| same(c, candidate)))
        });
        let Some(head) = head else {
            for class in lists.into_iter().flatten() {
                if !out.iter().any(|c| same(c, &class)) {
                    out.push(class);
                }
            }
            return out;
        };
        out.push(head);
        for list in &mut lists {
            list.retain(|c| !same(c, &head));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scan_ok(source: &str) -> ModuleScan {
        match scan(source) {
            Ok(scan) => scan,
            Err(e) => panic!("scan failed: {e}"),
        }
    }

    fn ids(source: &str) -> Vec<String> {
        scan_ok(source).tests.into_iter().map(|t| t.name).collect()
    }

    fn marker_names(test: &StaticTest) -> Vec<&str> {
        test.markers.iter().map(|m| m.name.as_str()).collect()
    }

    fn only_test(source: &str) -> StaticTest {
        let mut tests = scan_ok(source).tests;
        assert_eq!(tests.len(), 1, "{tests:?}");
        tests.remove(0)
    }

    fn marker(name: &str, args: Value, kwargs: Value) -> Marker {
        let Value::Array(args) = args else {
            panic!("args must be an array")
        };
        let Value::Object(kwargs) = kwargs else {
            panic!("kwargs must be an object")
        };
        Marker {
            name: name.to_string(),
            args,
            kwargs,
        }
    }

    #[test]
    fn module_functions_sync_and_async_with_def_lines() {
        let source = r#"
import pytest

def test_a():
    def test_nested():  # nested in a function: not a test
        pass

@pytest.mark.x
async def test_b():
    pass

def helper():
    pass

def testing_prefix_counts():
    pass
"#;
        let scan = scan_ok(source);
        let got: Vec<_> = scan
            .tests
            .iter()
            .map(|t| (t.name.as_str(), t.line))
            .collect();
        assert_eq!(
            got,
            [("test_a", 4), ("test_b", 9), ("testing_prefix_counts", 15)]
        );
        assert!(scan.caveats.is_empty());
    }

    #[test]
    fn test_classes_nested_classes_and_skipped_constructors() {
        let source = r#"
class TestC:
    def test_m(self): pass
    def helper(self): pass
    @staticmethod
    def test_static(): pass
    @classmethod
    def test_cls(cls): pass

class Helper:
    def test_not_collected(self): pass

class TestInit:
    def __init__(self): pass
    def test_no(self): pass

class TestNew:
    def __new__(cls): pass
    def test_no(self): pass

class TestOuter:
    def test_first(self): pass
    class TestInner:
        def test_x(self): pass
        class TestDeepest:
            def test_y(self): pass
    class NotATestClass:
        def test_z(self): pass
    def test_last(self): pass
"#;
        assert_eq!(
            ids(source),
            [
                "TestC::test_m",
                "TestC::test_static",
                "TestC::test_cls",
                "TestOuter::test_first",
                "TestOuter::TestInner::test_x",
                "TestOuter::TestInner::TestDeepest::test_y",
                "TestOuter::test_last",
            ]
        );
    }

    #[test]
    fn unittest_cases_whatever_their_name_with_sorted_methods() {
        let source = r#"
import unittest
from unittest import TestCase

class Checks(unittest.TestCase):
    def __init__(self, *a): super().__init__(*a)  # unittest classes may have one
    def test_z(self): pass
    def test_a(self): pass
    def helper(self): pass
    class TestNested:  # unittest collection takes methods only
        def test_n(self): pass

class More(TestCase):
    def test_m(self): pass

class TestAsync(unittest.IsolatedAsyncioTestCase):
    async def test_io(self): pass
"#;
        let scan = scan_ok(source);
        let names: Vec<_> = scan.tests.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Checks::test_a",
                "Checks::test_z",
                "More::test_m",
                "TestAsync::test_io"
            ]
        );
        assert!(scan.caveats.is_empty(), "{:?}", scan.caveats);
    }

    #[test]
    fn marker_spellings_and_literal_arguments() {
        let source = r#"
import pytest
import pytest as pt
from pytest import mark
from pytest import mark as m

@pytest.mark.requires_env("X")
@pytest.mark.requires_bin("x")
@pt.mark.requires_service("h:p")
@mark.requires_docker
@m.requires("name")
@pytest.mark.custom(-1, 2.5, None, True, [1, "a"], (1, 2), {3, 4}, {"k": [1, {"n": False}]}, "a" "b", reruns=2)
def test_x(): pass
"#;
        let test = only_test(source);
        let empty = json!({});
        assert_eq!(
            test.markers,
            [
                marker(
                    "custom",
                    json!([-1, 2.5, null, true, [1, "a"], [1, 2], [3, 4], {"k": [1, {"n": false}]}, "ab"]),
                    json!({"reruns": 2})
                ),
                marker("requires", json!(["name"]), empty.clone()),
                marker("requires_docker", json!([]), empty.clone()),
                marker("requires_service", json!(["h:p"]), empty.clone()),
                marker("requires_bin", json!(["x"]), empty.clone()),
                marker("requires_env", json!(["X"]), empty),
            ]
        );
    }

    #[test]
    fn non_literal_arguments_keep_their_source_text() {
        let source = r#"
import pytest, sys
ENV = "X"

@pytest.mark.requires_env(ENV)
@pytest.mark.skipif(sys.platform == "win32", reason=f"not on {sys.platform}")
@pytest.mark.other(*ARGS, b"raw", 10**100, 1j, [1, NAME], {1: 2}, **OPTS)
def test_x(): pass
"#;
        let test = only_test(source);
        let expr = |text: &str| json!({ "$expr": text });
        assert_eq!(
            test.markers,
            [
                marker(
                    "other",
                    json!([
                        expr("*ARGS"),
                        expr("b\"raw\""),
                        expr("10**100"),
                        expr("1j"),
                        [1, expr("NAME")],
                        expr("{1: 2}")
                    ]),
                    json!({"**": expr("OPTS")})
                ),
                marker(
                    "skipif",
                    json!([expr("sys.platform == \"win32\"")]),
                    json!({"reason": expr("f\"not on {sys.platform}\"")})
                ),
                marker("requires_env", json!([expr("ENV")]), json!({})),
            ]
        );
    }

    #[test]
    fn big_and_non_finite_numbers_are_expressions() {
        let source = r#"
import pytest
@pytest.mark.n(18446744073709551615, -9223372036854775807, 1e999, -0.5)
def test_x(): pass
"#;
        let test = only_test(source);
        assert_eq!(
            test.markers[0].args,
            [
                json!(18446744073709551615u64),
                json!(-9223372036854775807i64),
                json!({"$expr": "1e999"}),
                json!(-0.5),
            ]
        );
    }

    #[test]
    fn dependency_markers() {
        let source = r#"
import pytest

@pytest.mark.dependency(name="a", depends=["b", "TestC::test_m"], scope="session")
def test_a(): pass

class TestC:
    @pytest.mark.dependency()
    def test_m(self): pass
"#;
        let scan = scan_ok(source);
        assert_eq!(
            scan.tests[0].markers,
            [marker(
                "dependency",
                json!([]),
                json!({"name": "a", "depends": ["b", "TestC::test_m"], "scope": "session"})
            )]
        );
        assert_eq!(scan.tests[1].name, "TestC::test_m");
        assert_eq!(
            scan.tests[1].markers,
            [marker("dependency", json!([]), json!({}))]
        );
    }

    #[test]
    fn pytestmark_single_and_list_in_pytest_order() {
        let source = r#"
import pytest
pytestmark = [pytest.mark.mod1, pytest.mark.mod2]

@pytest.mark.top
@pytest.mark.bottom
def test_fn(): pass

@pytest.mark.cls_top
@pytest.mark.cls_bottom
class TestA:
    pytestmark = pytest.mark.body
    @pytest.mark.m
    def test_m(self): pass
    class TestInner:
        pytestmark = (pytest.mark.inner1, pytest.mark.inner2)
        def test_x(self): pass
"#;
        let scan = scan_ok(source);
        let got: Vec<_> = scan
            .tests
            .iter()
            .map(|t| (t.name.as_str(), marker_names(t)))
            .collect();
        // As pytest 9.2's item.iter_markers() lists them for this file.
        assert_eq!(
            got,
            [
                ("test_fn", vec!["bottom", "top", "mod1", "mod2"]),
                (
                    "TestA::test_m",
                    vec!["m", "body", "cls_bottom", "cls_top", "mod1", "mod2"]
                ),
                (
                    "TestA::TestInner::test_x",
                    vec![
                        "inner1",
                        "inner2",
                        "body",
                        "cls_bottom",
                        "cls_top",
                        "mod1",
                        "mod2"
                    ]
                ),
            ]
        );
    }

    #[test]
    fn module_pytestmark_single_and_last_assignment_wins() {
        let source = r#"
import pytest
pytestmark = pytest.mark.first
pytestmark = pytest.mark.integration
def test_a(): pass
"#;
        assert_eq!(marker_names(&only_test(source)), ["integration"]);
    }

    #[test]
    fn inherited_tests_and_markers_follow_pytest() {
        // The same file run through pytest 9.2 (`--collect-only`, iter_markers) gave these.
        let source = r#"
import pytest

class Base:
    pytestmark = pytest.mark.basebody
    def test_inherited(self): pass
    def test_over(self): pass

@pytest.mark.clsdec_top
@pytest.mark.clsdec_bottom
class TestA(Base):
    pytestmark = [pytest.mark.body1, pytest.mark.body2]
    @pytest.mark.m
    def test_m(self): pass
    def test_over(self): pass
    class TestInner:
        pytestmark = pytest.mark.inner
        def test_x(self): pass

class TestB(TestA):
    def test_b(self): pass
"#;
        let class_marks = ["basebody", "body1", "body2", "clsdec_bottom", "clsdec_top"];
        let with = |first: &[&'static str]| -> Vec<&'static str> {
            first.iter().chain(class_marks.iter()).copied().collect()
        };
        let scan = scan_ok(source);
        let got: Vec<_> = scan
            .tests
            .iter()
            .map(|t| (t.name.as_str(), marker_names(t)))
            .collect();
        assert_eq!(
            got,
            [
                ("TestA::test_inherited", with(&[])),
                ("TestA::test_m", with(&["m"])),
                ("TestA::test_over", with(&[])),
                ("TestA::TestInner::test_x", with(&["inner"])),
                ("TestB::test_inherited", with(&[])),
                ("TestB::test_m", with(&["m"])),
                ("TestB::test_over", with(&[])),
                ("TestB::TestInner::test_x", with(&["inner"])),
                ("TestB::test_b", with(&[])),
            ]
        );
        // test_over comes from TestA's body, not Base's.
        assert_eq!(scan.tests[2].line, 15);
        assert!(scan.caveats.is_empty(), "{:?}", scan.caveats);
    }

    #[test]
    fn diamond_inheritance_uses_c3_order() {
        let source = r#"
class A:
    def test_a(self): pass
class B(A):
    def test_b(self): pass
class C(A):
    def test_c(self): pass
class TestD(B, C):
    def test_d(self): pass
"#;
        // MRO D, B, C, A: groups come farthest base first.
        assert_eq!(
            ids(source),
            [
                "TestD::test_a",
                "TestD::test_c",
                "TestD::test_b",
                "TestD::test_d"
            ]
        );
    }

    #[test]
    fn cyclic_or_self_bases_do_not_loop() {
        let source = r#"
class TestA(TestB):
    def test_a(self): pass
class TestB(TestA):
    def test_b(self): pass
class TestC(TestC):
    def test_c(self): pass
"#;
        let got = ids(source);
        assert!(got.contains(&"TestC::test_c".to_string()), "{got:?}");
    }

    #[test]
    fn parametrize_keeps_no_arguments_and_marks_what_it_reaches() {
        let source = r#"
import pytest

@pytest.mark.parametrize("x", [1, pytest.param(2, marks=pytest.mark.requires_bin("git"))])
def test_own(x): pass

def test_plain(): pass

@pytest.mark.parametrize("y", [1, 2])
class TestP:
    def test_from_class(self, y): pass
"#;
        let scan = scan_ok(source);
        let got: Vec<_> = scan
            .tests
            .iter()
            .map(|t| (t.name.as_str(), t.parametrized))
            .collect();
        assert_eq!(
            got,
            [
                ("test_own", true),
                ("test_plain", false),
                ("TestP::test_from_class", true)
            ]
        );
        assert_eq!(
            scan.tests[0].markers,
            [marker("parametrize", json!([]), json!({}))]
        );
        let all: Vec<_> = scan.all_markers.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(all, ["parametrize", "requires_bin", "parametrize"]);
        assert_eq!(scan.all_markers[1].args, [json!("git")]);
    }

    #[test]
    fn module_parametrize_marks_every_test() {
        let source = r#"
import pytest
pytestmark = pytest.mark.parametrize("a", [1])
def test_a(a): pass
"#;
        assert!(only_test(source).parametrized);
    }

    #[test]
    fn all_markers_sees_everything_in_source_order() {
        let source = r#"
import pytest
pytestmark = [pytest.mark.e2e]
slow = pytest.mark.slow

@pytest.fixture(params=[pytest.param(1, marks=pytest.mark.requires_env("A"))])
def fx(request): pass

class TestC:
    pytestmark = pytest.mark.integration
    def helper(self):
        return pytest.mark.requires_service("db:5432")

@slow
def test_a(): pass
"#;
        let scan = scan_ok(source);
        let all: Vec<_> = scan.all_markers.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            all,
            [
                "e2e",
                "slow",
                "requires_env",
                "integration",
                "requires_service"
            ]
        );
        // The alias applies where it is used.
        assert_eq!(marker_names(&scan.tests[0]), ["slow", "e2e"]);
    }

    #[test]
    fn marker_aliases_in_decorators_and_pytestmark() {
        let source = r#"
import pytest
needs_db = pytest.mark.requires_service("db:5432")
pytestmark = [needs_db, pytest.mark.unit]
@needs_db
def test_a(): pass
"#;
        let test = only_test(source);
        assert_eq!(
            marker_names(&test),
            ["requires_service", "requires_service", "unit"]
        );
        assert_eq!(test.markers[0].args, [json!("db:5432")]);
    }

    #[test]
    fn duplicate_names_keep_first_position_and_last_definition() {
        let source = r#"
def test_dup(): pass
def test_other(): pass
def test_dup(): pass
"#;
        let scan = scan_ok(source);
        let got: Vec<_> = scan
            .tests
            .iter()
            .map(|t| (t.name.as_str(), t.line))
            .collect();
        assert_eq!(got, [("test_dup", 4), ("test_other", 3)]);
    }

    #[test]
    fn rebinding_to_a_value_hides_and_aliasing_a_function_collects() {
        let source = r#"
def test_gone(): pass
test_gone = None
def test_a(): pass
test_alias = test_a
"#;
        assert_eq!(ids(source), ["test_a", "test_alias"]);
    }

    #[test]
    fn fixtures_named_like_tests_are_not_tests() {
        let source = r#"
import pytest
from pytest import fixture
import pytest_asyncio

@pytest.fixture
def test_data(): pass
@fixture(scope="module")
def test_other(): pass
@pytest_asyncio.fixture
async def test_async(): pass
def test_real(test_data): pass
"#;
        assert_eq!(ids(source), ["test_real"]);
    }

    #[test]
    fn dunder_test_flag_and_abstract_classes() {
        let source = r#"
import abc

class TestOff:
    __test__ = False
    def test_q(self): pass

class Checks:
    __test__ = True
    def test_on(self): pass

class TestAbstract(abc.ABC):
    @abc.abstractmethod
    def make(self): ...
    def test_shared(self): pass

class TestConcrete(TestAbstract):
    def make(self): return 1
"#;
        assert_eq!(
            ids(source),
            ["Checks::test_on", "TestConcrete::test_shared"]
        );
    }

    #[test]
    fn conditional_and_guarded_definitions_are_read() {
        let source = r#"
import sys
try:
    import numpy
except ImportError:
    numpy = None

if sys.platform == "win32":
    def test_windows(): pass
else:
    def test_posix(): pass

with open(__file__):
    def test_in_with(): pass

class TestC:
    if True:
        def test_guarded(self): pass
"#;
        assert_eq!(
            ids(source),
            [
                "test_windows",
                "test_posix",
                "test_in_with",
                "TestC::test_guarded"
            ]
        );
    }

    #[test]
    fn caveats_for_what_lives_elsewhere() {
        let source = r#"
from .common import BaseTests, test_shared, test_redefined, APITestBase
from helpers import *

def test_redefined(): pass

class TestX(BaseTests):
    def test_own(self): pass

class Checks(APITestBase):  # maybe a unittest.TestCase
    def test_c(self): pass

class Error(ValueError):  # not test-like: no caveat
    pass

class TestGen:
    def pytest_generate_tests(self, metafunc): pass
    def test_g(self, x): pass

def pytest_generate_tests(metafunc): pass
"#;
        let scan = scan_ok(source);
        assert_eq!(
            scan.tests
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>(),
            ["test_redefined", "TestX::test_own", "TestGen::test_g"]
        );
        assert_eq!(
            scan.caveats,
            [
                "imports `test_shared`: pytest collects it if it is a test",
                "`import *`: pytest collects any test it brings in",
                "pytest_generate_tests in the module: tests may be parametrized",
                "TestX inherits from `BaseTests`, defined in another module",
                "Checks inherits from `APITestBase`, defined in another module",
                "pytest_generate_tests in TestGen: tests may be parametrized",
            ]
        );
    }

    #[test]
    fn mark_generator_bound_to_a_name() {
        let source = r#"
import pytest
mark = pytest.mark
@mark.e2e
def test_a(): pass
"#;
        assert_eq!(marker_names(&only_test(source)), ["e2e"]);
    }

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

    /// Sources nested `depth` levels deep in the ways Python allows, nested blocks last.
    fn nested_sources(depth: usize) -> Vec<String> {
        let wrap = |open: &str, close: &str| {
            format!("x = {}1{}\n", open.repeat(depth), close.repeat(depth))
        };
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
}
