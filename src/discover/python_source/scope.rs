//! What a module or class body binds: names in first-binding order with their last binding,
//! `if`/`try`/`with` blocks read through.

use std::collections::HashMap;

use ruff_python_ast::{Expr, Stmt, StmtClassDef, StmtFunctionDef};

use super::MAX_DEPTH;

/// Module-level statements in order, with the bodies of `if`/`try`/`with` blocks inlined: those
/// bind names in the same scope (which branch runs is not known statically; both are read).
pub(super) fn flat_body(body: &[Stmt]) -> Vec<&Stmt> {
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

/// What a name is bound to in a module or class body.
#[derive(Clone, Copy)]
pub(super) enum Member<'a> {
    Function(&'a StmtFunctionDef),
    Class(&'a StmtClassDef),
    Value(&'a Expr),
    /// Imported or otherwise unknown.
    Other,
}

/// The names a module or class body binds, in first-binding order (a `__dict__`'s order), each
/// with its last binding (what the name holds once the body has run).
#[derive(Default)]
pub(super) struct Scope<'a> {
    pub(super) members: Vec<(&'a str, Member<'a>)>,
    index: HashMap<&'a str, usize>,
    /// Imported names that pytest would collect if they are tests, and `*` imports.
    pub(super) imports: Vec<&'a str>,
}

impl<'a> Scope<'a> {
    pub(super) fn of(body: &'a [Stmt]) -> Self {
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

    pub(super) fn get(&self, name: &str) -> Option<Member<'a>> {
        self.index.get(name).map(|&i| self.members[i].1)
    }

    pub(super) fn class(&self, name: &str) -> Option<&'a StmtClassDef> {
        match self.get(name) {
            Some(Member::Class(c)) => Some(c),
            _ => None,
        }
    }
}
