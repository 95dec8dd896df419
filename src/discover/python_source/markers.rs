//! Reading marks: how a module spells pytest's marks and fixtures, and a mark's arguments as
//! JSON (literals as values, anything else as its source text).

use std::collections::{HashMap, HashSet};

use ruff_python_ast::{Arguments, Decorator, Expr, ExprDict, Number, Stmt, UnaryOp};
use ruff_text_size::Ranged;
use serde_json::{Map, Value};

use super::scope::flat_body;
use super::MAX_DEPTH;
use crate::events::Marker;

/// The marker name whose (possibly huge) arguments are not converted.
pub(super) const PARAMETRIZE: &str = "parametrize";

/// How the module spells pytest's marks and fixtures, and its named marks.
pub(super) struct Names<'a> {
    pub(super) source: &'a str,
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
    pub(super) fn of_module(source: &'a str, body: &'a [Stmt]) -> Self {
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
    pub(super) fn literal_marker(&self, expr: &'a Expr) -> Option<Marker> {
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
    pub(super) fn marks_of(&self, expr: &'a Expr) -> Vec<Marker> {
        match expr {
            Expr::List(l) => l.elts.iter().filter_map(|e| self.marker(e)).collect(),
            Expr::Tuple(t) => t.elts.iter().filter_map(|e| self.marker(e)).collect(),
            _ => self.marker(expr).into_iter().collect(),
        }
    }

    /// The marks among decorators, in the order they apply: bottom first.
    pub(super) fn decorator_marks(&self, decorators: &'a [Decorator]) -> Vec<Marker> {
        let marks = decorators.iter().rev();
        marks.filter_map(|d| self.marker(&d.expression)).collect()
    }

    pub(super) fn is_fixture(&self, decorators: &[Decorator]) -> bool {
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
pub(super) fn callee(expr: &Expr) -> &Expr {
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
