//! The walk over one unit's syntax: the names it reads, assigns, imports and uses as
//! attributes or strings, its imports (literal `importlib` ones too), and its computed lookups.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, ExprContext, Stmt};

use super::facts::Import;

/// Nesting beyond this is not read (the module is opaque); real code stays far below.
const MAX_DEPTH: usize = 2_000;
/// Deeper than this, the walk runs on a grown stack.
const SHALLOW_DEPTH: usize = 64;

/// Everything one unit refers to, walked to any depth within [`MAX_DEPTH`].
#[derive(Default)]
pub(super) struct References {
    /// Imported names.
    pub(super) names: std::collections::BTreeSet<String>,
    /// Attribute names and identifier strings.
    pub(super) attrs: std::collections::BTreeSet<String>,
    /// Variables read.
    pub(super) loads: std::collections::BTreeSet<String>,
    /// Variables assigned or taken as parameters.
    pub(super) locals: std::collections::BTreeSet<String>,
    /// Declared `global` or `nonlocal`: assigned, but not local.
    pub(super) globals: std::collections::BTreeSet<String>,
    pub(super) words: std::collections::BTreeSet<String>,
    pub(super) binds: Vec<String>,
    pub(super) imports: Vec<Import>,
    pub(super) getattr_prefixes: Vec<String>,
    pub(super) dynamic_import: bool,
    pub(super) depth: usize,
    pub(super) too_deep: bool,
}

impl References {
    pub(super) fn visit_stmt_guarded(&mut self, stmt: &Stmt) {
        self.nested(|me| me.stmt(stmt));
    }

    pub(super) fn visit_expr_guarded(&mut self, expr: &Expr) {
        self.nested(|me| me.expr(expr));
    }

    fn nested(&mut self, walk: impl FnOnce(&mut Self)) {
        if self.depth >= MAX_DEPTH {
            self.too_deep = true;
            return;
        }
        self.depth += 1;
        if self.depth > SHALLOW_DEPTH {
            stacker::maybe_grow(128 * 1024, 1024 * 1024, || walk(self));
        } else {
            walk(self);
        }
        self.depth -= 1;
    }

    fn stmt(&mut self, stmt: &Stmt) {
        match stmt {
            // A docstring (or any bare string statement) is prose, not code.
            Stmt::Expr(e) if e.value.is_string_literal_expr() => {}
            Stmt::Import(import) => {
                for alias in &import.names {
                    let dotted = alias.name.to_string();
                    let bound = match &alias.asname {
                        Some(asname) => asname.to_string(),
                        None => dotted.split('.').next().unwrap_or(&dotted).to_string(),
                    };
                    self.names.extend(dotted.split('.').map(str::to_string));
                    self.binds.push(bound);
                    self.imports.push(Import {
                        level: 0,
                        module: dotted,
                        names: vec![],
                    });
                }
            }
            Stmt::ImportFrom(from) => {
                let names: Vec<String> = from.names.iter().map(|a| a.name.to_string()).collect();
                for alias in &from.names {
                    let bound = alias.asname.as_ref().unwrap_or(&alias.name).to_string();
                    self.binds.push(bound);
                }
                self.names.extend(names.iter().cloned());
                self.imports.push(Import {
                    level: from.level,
                    module: from
                        .module
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_default(),
                    names,
                });
            }
            Stmt::FunctionDef(def) => {
                self.binds.push(def.name.to_string());
                visitor::walk_stmt(self, stmt);
            }
            Stmt::Global(global) => self
                .globals
                .extend(global.names.iter().map(|n| n.to_string())),
            Stmt::Nonlocal(nonlocal) => self
                .globals
                .extend(nonlocal.names.iter().map(|n| n.to_string())),
            Stmt::ClassDef(class) => {
                self.binds.push(class.name.to_string());
                visitor::walk_stmt(self, stmt);
            }
            _ => visitor::walk_stmt(self, stmt),
        }
    }

    fn expr(&mut self, expr: &Expr) {
        match expr {
            Expr::Name(name) => {
                let id = name.id.to_string();
                if name.ctx == ExprContext::Load {
                    self.loads.insert(id);
                } else {
                    self.binds.push(id.clone());
                    self.locals.insert(id);
                }
            }
            Expr::Attribute(attr) => {
                self.attrs.insert(attr.attr.to_string());
            }
            // Names inside strings reach code too: `"{{ x|upper }}"` calls a filter by name.
            Expr::StringLiteral(literal) => {
                let text = literal.value.to_str();
                if is_identifier(text) {
                    self.attrs.insert(text.to_string());
                } else {
                    self.words(text);
                }
            }
            Expr::Call(call) => self.call(call),
            _ => {}
        }
        visitor::walk_expr(self, expr);
    }

    /// `getattr(x, name)` and `importlib.import_module(name)` / `__import__(name)`.
    fn call(&mut self, call: &ruff_python_ast::ExprCall) {
        let callee = match &*call.func {
            Expr::Name(name) => name.id.as_str(),
            Expr::Attribute(attr) => attr.attr.as_str(),
            _ => return,
        };
        let first = call.arguments.args.first();
        let second = call.arguments.args.get(1);
        let literal = |e: Option<&Expr>| match e {
            Some(Expr::StringLiteral(s)) => Some(s.value.to_str().to_string()),
            _ => None,
        };
        match callee {
            // Only lookups that can call what they find (setattr and hasattr do not).
            "getattr" | "attrgetter" | "methodcaller" => {
                let name = if matches!(callee, "attrgetter" | "methodcaller") {
                    first
                } else {
                    second
                };
                if let Some(name) = name.filter(|n| literal(Some(n)).is_none()) {
                    self.getattr_prefixes.push(literal_start(name));
                }
            }
            "import_module" | "__import__" => match literal(first) {
                Some(module) => self.imports.push(relative_literal(&module)),
                None => self.dynamic_import = true,
            },
            _ => {}
        }
    }
}

impl References {
    /// The identifier-like words of a string, up to a bound per string.
    fn words(&mut self, text: &str) {
        let words = text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| is_identifier(w))
            .take(MAX_WORDS);
        self.words.extend(words.map(str::to_string));
    }
}

/// Words taken from one string literal.
const MAX_WORDS: usize = 200;

/// The literal start of a computed name: `"visit_" + kind` and `f"visit_{kind}"` give
/// `visit_`; anything else "" (could be any name).
fn literal_start(name: &Expr) -> String {
    match name {
        Expr::BinOp(op) => match &*op.left {
            Expr::StringLiteral(s) => s.value.to_str().to_string(),
            left => literal_start(left),
        },
        Expr::FString(f) => {
            let text = f.value.iter().next().and_then(|part| match part {
                ruff_python_ast::FStringPart::Literal(l) => Some(l.value.to_string()),
                ruff_python_ast::FStringPart::FString(f) => f
                    .elements
                    .iter()
                    .next()
                    .and_then(|e| e.as_literal())
                    .map(|l| l.value.to_string()),
            });
            text.unwrap_or_default()
        }
        _ => String::new(),
    }
}

/// `import_module(".x")` counts dots as `from . import` levels do.
fn relative_literal(module: &str) -> Import {
    let level = module.chars().take_while(|c| *c == '.').count();
    Import {
        level: level as u32,
        module: module[level..].to_string(),
        names: vec![],
    }
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    text.len() <= 80
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl<'a> Visitor<'a> for References {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        self.nested(|me| me.stmt(stmt));
    }

    /// A parameter's name is how a test asks for a fixture (kept with the words, which count
    /// in test modules only: elsewhere a parameter is just a local name).
    fn visit_parameter(&mut self, parameter: &'a ruff_python_ast::Parameter) {
        self.words.insert(parameter.name.to_string());
        self.locals.insert(parameter.name.to_string());
        visitor::walk_parameter(self, parameter);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        self.nested(|me| me.expr(expr));
    }
}
