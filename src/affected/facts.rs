//! What one Python module says about its dependencies, read with ruff's parser: the imports
//! (static and `importlib` with a literal name), and its top-level units (functions, classes,
//! methods, other statements) with a hash of each one's text, the names each binds and the
//! names each refers to.

use ruff_python_ast::{Expr, PySourceType, Stmt, StmtClassDef, StmtFunctionDef};
use ruff_text_size::{Ranged, TextRange};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::references::References;

/// One module's facts; what the cache keeps per file content.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModuleFacts {
    pub imports: Vec<Import>,
    pub units: Vec<Unit>,
    /// `importlib.import_module` / `__import__` with a computed name: the module may import
    /// any other.
    pub dynamic_import: bool,
    /// The source did not parse (or nested too deep to read): nothing inside can be trusted,
    /// so a change to it counts as a change to everything it defines.
    pub opaque: bool,
}

/// An import: `import a.b` (`names` empty), `from a.b import c, d`, `from .. import x` (level 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    pub level: u32,
    pub module: String,
    pub names: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UnitKind {
    Function,
    Class,
    Method,
    /// A top-level import statement: what it binds comes from another module.
    Import,
    /// Any other top-level statement: it runs when the module is imported.
    Statement,
}

/// A top-level piece of a module that changes (and is reached) as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    /// `func`, `Class`, `Class.method`, or `<line 12>` for a statement.
    pub name: String,
    pub kind: UnitKind,
    /// Module-level names it defines (for a method: its attribute name).
    pub binds: Vec<String>,
    /// Hash of its text: the same hash means the same unit.
    pub hash: u64,
    /// Variables it reads that are not its own locals, and names it imports.
    pub refs: Vec<String>,
    /// Attribute names it uses (`x.render`), and identifier-like strings (`getattr(x,
    /// "render")`): the only ways to reach a method.
    pub attrs: Vec<String>,
    /// Names that count in test modules only: parameter names (a test asks for a fixture by
    /// one) and the identifier-like words inside strings other than docstrings (in a test,
    /// `"{{ x|upper }}"` calls a filter by name; elsewhere strings are mostly messages).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<String>,
    /// Looks attributes up by computed name (`getattr(self, "visit_" + kind)`): the literal
    /// start of each name ("" when unknown). It may reach any method so named.
    pub getattr_prefixes: Vec<String>,
    /// Imports a module by computed name: it may load any module.
    pub computed_import: bool,
    /// For a top-level `NAME = {"key": value, ...}`: a registry looked up by key, so an entry
    /// is reached by its key (in templates, configs, other strings), not by the table's name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<Entry>,
    /// For a class: the last name of each base (`Base`, `mod.Base`): it inherits their methods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bases: Vec<String>,
    /// Runs for the tests in its scope without being named by them: an autouse fixture or a
    /// `pytest_*` hook.
    pub implicit: bool,
    /// 1-based line of its first decorator or keyword.
    pub line: u32,
}

/// One `"key": value` of a registry table, with the names its value refers to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub key: String,
    pub refs: Vec<String>,
}

/// Reads a module's source. Never fails: unreadable source gives an opaque module.
pub fn read(source: &str) -> ModuleFacts {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    if u32::try_from(source.len()).is_err() {
        return opaque();
    }
    let parsed = ruff_python_parser::parse_unchecked_source(source, PySourceType::Python);
    if !parsed.errors().is_empty() {
        return opaque();
    }
    let mut reader = ModuleReader {
        source,
        lines: LineStarts::new(source),
        facts: ModuleFacts::default(),
    };
    let complete = reader.module(&parsed.syntax().body);
    if complete {
        // Dropping recurses once per level (at most MAX_DEPTH, ~128 bytes each).
        stacker::maybe_grow(256 * 1024, 4 * 1024 * 1024, move || drop(parsed));
        reader.facts
    } else {
        // Of unknown depth, only from hostile or generated input: leaking is the safe way out.
        std::mem::forget(parsed);
        opaque()
    }
}

fn opaque() -> ModuleFacts {
    ModuleFacts {
        opaque: true,
        ..ModuleFacts::default()
    }
}

struct ModuleReader<'s> {
    source: &'s str,
    lines: LineStarts,
    facts: ModuleFacts,
}

impl<'s> ModuleReader<'s> {
    /// Reads every top-level statement; false when a unit was too deep to read.
    fn module(&mut self, body: &[Stmt]) -> bool {
        body.iter().all(|stmt| match stmt {
            Stmt::FunctionDef(def) => self.function(stmt, def),
            Stmt::ClassDef(class) => self.class(class),
            Stmt::Import(_) | Stmt::ImportFrom(_) => self.import(stmt),
            _ => self.statement(stmt, UnitKind::Statement),
        })
    }

    fn function(&mut self, stmt: &Stmt, def: &StmtFunctionDef) -> bool {
        let mut refs = References::default();
        refs.visit_stmt_guarded(stmt);
        let (binds, implicit) = function_traits(def);
        self.push(
            def.name.to_string(),
            UnitKind::Function,
            binds,
            def.range,
            &[],
            refs,
            implicit,
        )
    }

    /// A class is one unit for its header and body statements, and one per method.
    fn class(&mut self, class: &StmtClassDef) -> bool {
        let methods: Vec<(&Stmt, &StmtFunctionDef)> = class
            .body
            .iter()
            .filter_map(|s| match s {
                Stmt::FunctionDef(def) => Some((s, def)),
                _ => None,
            })
            .collect();
        let mut refs = References::default();
        for decorator in &class.decorator_list {
            refs.visit_expr_guarded(&decorator.expression);
        }
        if let Some(arguments) = &class.arguments {
            for arg in arguments.args.iter() {
                refs.visit_expr_guarded(arg);
            }
            for keyword in arguments.keywords.iter() {
                refs.visit_expr_guarded(&keyword.value);
            }
        }
        for stmt in class
            .body
            .iter()
            .filter(|s| !matches!(s, Stmt::FunctionDef(_)))
        {
            refs.visit_stmt_guarded(stmt);
        }
        let cut: Vec<TextRange> = methods.iter().map(|(_, m)| m.range).collect();
        let name = class.name.to_string();
        if !self.push(
            name.clone(),
            UnitKind::Class,
            vec![name.clone()],
            class.range,
            &cut,
            refs,
            false,
        ) {
            return false;
        }
        if let (Some(unit), Some(arguments)) = (self.facts.units.last_mut(), &class.arguments) {
            unit.bases = arguments.args.iter().filter_map(base_name).collect();
        }
        methods.into_iter().all(|(stmt, method)| {
            let mut refs = References::default();
            refs.visit_stmt_guarded(stmt);
            let (binds, implicit) = function_traits(method);
            self.push(
                format!("{name}.{}", method.name),
                UnitKind::Method,
                binds,
                method.range,
                &[],
                refs,
                implicit,
            )
        })
    }

    /// An import binds the names it imports, but those already match by name: it only links
    /// `b` to `a` for `from m import a as b`, so that is all it binds and refers to.
    fn import(&mut self, stmt: &Stmt) -> bool {
        let mut refs = References::default();
        refs.visit_stmt_guarded(stmt);
        refs.names.clear();
        refs.loads.clear();
        refs.binds.clear();
        if let Stmt::ImportFrom(from) = stmt {
            for alias in &from.names {
                if let Some(asname) = alias.asname.as_ref().filter(|a| **a != alias.name) {
                    refs.names.insert(alias.name.to_string());
                    refs.binds.push(asname.to_string());
                }
            }
        }
        let binds = std::mem::take(&mut refs.binds);
        let line = self.lines.line(stmt.range().start().to_usize());
        self.push(
            format!("<line {line}>"),
            UnitKind::Import,
            binds,
            stmt.range(),
            &[],
            refs,
            false,
        )
    }

    fn statement(&mut self, stmt: &Stmt, kind: UnitKind) -> bool {
        if let Some(complete) = self.registry(stmt) {
            return complete;
        }
        let mut refs = References::default();
        refs.visit_stmt_guarded(stmt);
        let binds = std::mem::take(&mut refs.binds);
        let line = self.lines.line(stmt.range().start().to_usize());
        self.push(
            format!("<line {line}>"),
            kind,
            binds,
            stmt.range(),
            &[],
            refs,
            false,
        )
    }

    /// `NAME = {"key": value, ...}` (all keys string literals): one entry per key; `None`
    /// for any other statement.
    fn registry(&mut self, stmt: &Stmt) -> Option<bool> {
        let Stmt::Assign(assign) = stmt else {
            return None;
        };
        let (Some(Expr::Name(target)), [_]) = (assign.targets.first(), &assign.targets[..]) else {
            return None;
        };
        let Expr::Dict(dict) = &*assign.value else {
            return None;
        };
        let mut entries = Vec::new();
        for item in dict.iter() {
            let Some(Expr::StringLiteral(key)) = &item.key else {
                return None;
            };
            let mut refs = References::default();
            refs.visit_expr_guarded(&item.value);
            if refs.too_deep {
                return Some(false);
            }
            entries.push(Entry {
                key: key.value.to_str().to_string(),
                refs: refs
                    .names
                    .into_iter()
                    .chain(refs.loads)
                    .chain(refs.attrs)
                    .collect(),
            });
        }
        let line = self.lines.line(stmt.range().start().to_usize());
        let complete = self.push(
            format!("<line {line}>"),
            UnitKind::Statement,
            vec![target.id.to_string()],
            stmt.range(),
            &[],
            References::default(),
            false,
        );
        if let Some(unit) = self.facts.units.last_mut() {
            unit.entries = entries;
        }
        Some(complete)
    }

    /// Records a unit whose text is `range` less the `cut` ranges (a class's methods).
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        name: String,
        kind: UnitKind,
        binds: Vec<String>,
        range: TextRange,
        cut: &[TextRange],
        refs: References,
        implicit: bool,
    ) -> bool {
        if refs.too_deep {
            return false;
        }
        self.facts.imports.extend(refs.imports);
        self.facts.dynamic_import |= refs.dynamic_import;
        // In a function, a name assigned or taken as a parameter is local: it refers to no
        // module-level definition (unless declared global).
        let scoped = matches!(kind, UnitKind::Function | UnitKind::Method);
        let mut names = refs.names;
        for loaded in refs.loads {
            let local = scoped && refs.locals.contains(&loaded) && !refs.globals.contains(&loaded);
            if !local {
                names.insert(loaded);
            }
        }
        let words: Vec<String> = refs
            .words
            .into_iter()
            .filter(|w| !names.contains(w) && !refs.attrs.contains(w))
            .collect();
        let names: Vec<String> = names.into_iter().collect();
        let attrs: Vec<String> = refs.attrs.into_iter().collect();
        self.facts.units.push(Unit {
            name,
            kind,
            binds,
            hash: text_hash(self.source, range, cut),
            refs: names,
            attrs,
            words,
            getattr_prefixes: refs.getattr_prefixes,
            computed_import: refs.dynamic_import,
            entries: Vec::new(),
            bases: Vec::new(),
            implicit,
            line: self.lines.line(range.start().to_usize()),
        });
        true
    }
}

/// The names a function binds (its own, and a fixture's `name=`), and whether it runs
/// without being named (an autouse fixture, a `pytest_*` hook).
fn function_traits(def: &StmtFunctionDef) -> (Vec<String>, bool) {
    let mut binds = vec![def.name.to_string()];
    let mut implicit = def.name.starts_with("pytest_");
    for decorator in &def.decorator_list {
        let (callee, call) = match &decorator.expression {
            Expr::Call(call) => (&*call.func, Some(call)),
            other => (other, None),
        };
        let is_fixture = match callee {
            Expr::Name(name) => name.id.as_str() == "fixture",
            Expr::Attribute(attr) => attr.attr.as_str() == "fixture",
            _ => false,
        };
        let keywords = call.filter(|_| is_fixture).map(|c| &c.arguments.keywords);
        for keyword in keywords.into_iter().flatten() {
            match (keyword.arg.as_deref(), &keyword.value) {
                (Some("name"), Expr::StringLiteral(s)) => binds.push(s.value.to_str().to_string()),
                // `autouse=False` is the default; anything else may be true.
                (Some("autouse"), Expr::BooleanLiteral(b)) => implicit |= b.value,
                (Some("autouse"), _) => implicit = true,
                _ => {}
            }
        }
    }
    (binds, implicit)
}

/// The first 8 bytes of SHA-256 over the unit's text without the cut ranges: stable across
/// vigil versions and machines, so cached facts compare with fresh ones.
fn text_hash(source: &str, range: TextRange, cut: &[TextRange]) -> u64 {
    let mut hasher = Sha256::new();
    let mut at = range.start().to_usize();
    for hole in cut {
        hasher.update(&source.as_bytes()[at..hole.start().to_usize()]);
        at = hole.end().to_usize();
    }
    hasher.update(&source.as_bytes()[at..range.end().to_usize()]);
    let digest = hasher.finalize();
    u64::from_be_bytes(digest[..8].try_into().unwrap_or_default())
}

/// `Base` or `pkg.mod.Base` (`Base[T]` too): the name a base class goes by.
fn base_name(base: &Expr) -> Option<String> {
    match base {
        Expr::Name(name) => Some(name.id.to_string()),
        Expr::Attribute(attr) => Some(attr.attr.to_string()),
        Expr::Subscript(generic) => base_name(&generic.value),
        _ => None,
    }
}

/// Byte offset → 1-based line.
struct LineStarts(Vec<usize>);

impl LineStarts {
    fn new(source: &str) -> LineStarts {
        let mut starts = vec![0];
        starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
        LineStarts(starts)
    }

    fn line(&self, offset: usize) -> u32 {
        self.0.partition_point(|&start| start <= offset) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit<'f>(facts: &'f ModuleFacts, name: &str) -> &'f Unit {
        facts
            .units
            .iter()
            .find(|u| u.name == name)
            .unwrap_or_else(|| panic!("no unit {name} in {facts:#?}"))
    }

    #[test]
    fn units_bind_and_refer_by_name() {
        let facts = read(
            "import os.path\nfrom .lexer import tokenize as tok\n\
             LIMIT = 3\n\n\
             def render(x):\n    return tok(x).upper() + helper('name')\n\n\
             class Env(Base):\n    size = LIMIT\n    def __init__(self):\n        self.load()\n    def load(self):\n        return getattr(self, 'cache')\n",
        );
        assert!(
            unit(&facts, "<line 1>").binds.is_empty(),
            "names match as they are"
        );
        assert_eq!(unit(&facts, "<line 2>").binds, ["tok"]);
        assert!(unit(&facts, "<line 2>")
            .refs
            .contains(&"tokenize".to_string()));
        assert_eq!(unit(&facts, "<line 3>").binds, ["LIMIT"]);
        let render = unit(&facts, "render");
        for name in ["tok", "helper"] {
            assert!(render.refs.contains(&name.to_string()), "{name}");
        }
        for name in ["upper", "name"] {
            assert!(render.attrs.contains(&name.to_string()), "{name}");
        }
        assert!(
            !render.refs.contains(&"x".to_string()),
            "a parameter is local"
        );
        let local =
            read("class P:\n    def __init__(self, complete=None):\n        self._c = complete\n");
        assert!(!unit(&local, "P.__init__")
            .refs
            .contains(&"complete".to_string()));
        let env = unit(&facts, "Env");
        assert!(env.refs.contains(&"Base".into()) && env.refs.contains(&"LIMIT".into()));
        assert!(
            !env.attrs.contains(&"load".into()),
            "methods are their own units"
        );
        assert_eq!(unit(&facts, "Env.__init__").binds, ["__init__"]);
        assert_eq!(env.bases, ["Base"]);
        assert!(unit(&facts, "Env.load").attrs.contains(&"cache".into()));
        assert!(unit(&facts, "Env.load").getattr_prefixes.is_empty());
        assert_eq!(
            facts.imports,
            [
                Import {
                    level: 0,
                    module: "os.path".into(),
                    names: vec![]
                },
                Import {
                    level: 1,
                    module: "lexer".into(),
                    names: vec!["tokenize".into()]
                }
            ]
        );
        assert_eq!(render.line, 5);
    }

    #[test]
    fn a_method_body_change_changes_the_method_not_its_class() {
        let before = read("class C:\n    x = 1\n    def m(self):\n        return 1\n");
        let after = read("class C:\n    x = 1\n    def m(self):\n        return 2\n");
        assert_eq!(unit(&before, "C").hash, unit(&after, "C").hash);
        assert_ne!(unit(&before, "C.m").hash, unit(&after, "C.m").hash);
    }

    #[test]
    fn computed_names_are_dynamic_and_literal_imports_are_imports() {
        let facts = read(
            "import importlib\n\
             def visit(self, node):\n    return getattr(self, 'visit_' + node.kind)()\n\
             def plugin(name):\n    return importlib.import_module(name)\n\
             def known():\n    return importlib.import_module('pkg.extra')\n",
        );
        assert_eq!(unit(&facts, "visit").getattr_prefixes, ["visit_"]);
        assert!(unit(&facts, "plugin").computed_import);
        assert!(facts.dynamic_import);
        assert!(!unit(&facts, "known").computed_import);
        assert!(facts.imports.iter().any(|i| i.module == "pkg.extra"));
        let f = read("def v(self, n):\n    return getattr(self, f'do_{n}')\n");
        assert_eq!(unit(&f, "v").getattr_prefixes, ["do_"]);
        let any = read("def v(self, n):\n    return getattr(self, n)\n");
        assert_eq!(unit(&any, "v").getattr_prefixes, [""]);
    }

    #[test]
    fn a_table_of_string_keys_is_a_registry_and_strings_hold_names() {
        let facts = read(
            "FILTERS = {'upper': do_upper, 'lower': str.lower}\n\
             def t():\n    return render('{{ x|upper }}')\n",
        );
        let table = unit(&facts, "<line 1>");
        assert_eq!(table.binds, ["FILTERS"]);
        assert!(table.refs.is_empty());
        assert_eq!(table.entries[0].key, "upper");
        assert_eq!(table.entries[0].refs, ["do_upper"]);
        assert!(unit(&facts, "t").words.contains(&"upper".to_string()));
        let documented = read("def f():\n    '''Calls upper.'''\n    return 1\n");
        assert!(unit(&documented, "f").words.is_empty());
    }

    #[test]
    fn fixtures_and_bad_source() {
        let facts = read(
            "import pytest\n@pytest.fixture(scope='module')\ndef env():\n    return 1\n\
             @pytest.fixture(autouse=True, name='db')\ndef _db():\n    pass\n\
             def pytest_configure(config):\n    pass\n",
        );
        assert!(!unit(&facts, "env").implicit);
        assert!(unit(&facts, "_db").implicit);
        assert_eq!(unit(&facts, "_db").binds, ["_db", "db"]);
        assert!(unit(&facts, "pytest_configure").implicit);
        assert!(read("def broken(:\n").opaque);
        let deep = format!("x = {}1{}\n", "[".repeat(5_000), "]".repeat(5_000));
        assert!(read(&deep).opaque);
    }
}
