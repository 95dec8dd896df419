//! What a class inherits within the file: its bases resolved where the class statement runs, the
//! method resolution order (C3), unittest ancestry, and bases defined in other modules.

use std::rc::Rc;

use ruff_python_ast::{Expr, StmtClassDef};
use ruff_text_size::Ranged;

use super::collect::Collector;
use super::MAX_DEPTH;

/// A class, with the class whose body defines it (`None`: the module): its bases are looked up
/// there, then in the module.
#[derive(Clone, Copy)]
pub(super) struct ClassRef<'a> {
    pub(super) class: &'a StmtClassDef,
    pub(super) outer: Option<&'a StmtClassDef>,
}

impl ClassRef<'_> {
    fn key(&self) -> usize {
        std::ptr::from_ref(self.class) as usize
    }
}

/// What a class inherits, as far as this file defines it.
pub(super) struct Lineage<'a> {
    /// Method resolution order over the classes defined in this file, the class first.
    pub(super) mro: Vec<ClassRef<'a>>,
    /// A `TestCase` base somewhere: unittest's collection rules apply.
    pub(super) unittest: bool,
    /// Source text of bases defined elsewhere (they may hold tests or markers this cannot see).
    pub(super) foreign: Vec<String>,
}

impl<'a> Collector<'_, 'a> {
    pub(super) fn lineage(&mut self, class: ClassRef<'a>, depth: usize) -> Rc<Lineage<'a>> {
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
