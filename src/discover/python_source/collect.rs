//! Collecting test items by pytest's rules: `test*` functions, `Test*` classes and unittest
//! cases, inherited members, effective markers, and caveats for what lives elsewhere.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use ruff_python_ast::{Expr, Stmt, StmtClassDef, StmtFunctionDef};
use ruff_text_size::Ranged;

use super::line_index::LineIndex;
use super::lineage::{ClassRef, Lineage};
use super::markers::{callee, Names, PARAMETRIZE};
use super::scope::{Member, Scope};
use super::{StaticTest, MAX_DEPTH};
use crate::events::Marker;

/// One member of a class as pytest finds it: its name, what it is, and the class defining it.
type ClassMember<'a> = (&'a str, Member<'a>, &'a StmtClassDef);

/// Walks the module as pytest's collectors do.
pub(super) struct Collector<'n, 'a> {
    pub(super) names: &'n Names<'a>,
    lines: LineIndex,
    pub(super) module: Scope<'a>,
    module_marks: Vec<Marker>,
    bodies: HashMap<usize, Rc<Scope<'a>>>,
    pub(super) lineages: HashMap<usize, Rc<Lineage<'a>>>,
    /// Classes whose lineage is being worked out (guards against `class A(B)` / `class B(A)`).
    pub(super) resolving: HashSet<usize>,
    pub(super) tests: Vec<StaticTest>,
    pub(super) caveats: Vec<String>,
}

impl<'n, 'a> Collector<'n, 'a> {
    pub(super) fn new(names: &'n Names<'a>, body: &'a [Stmt]) -> Self {
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

    pub(super) fn module(&mut self) {
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

    pub(super) fn body(&mut self, class: &'a StmtClassDef) -> Rc<Scope<'a>> {
        let key = std::ptr::from_ref(class) as usize;
        let scope = self
            .bodies
            .entry(key)
            .or_insert_with(|| Rc::new(Scope::of(&class.body)));
        Rc::clone(scope)
    }
}
