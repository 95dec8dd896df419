//! Files pytest could not collect. An import failure comes as a header, a hint and a short
//! traceback:
//!
//! ```text
//! ImportError while importing test module '/abs/tests/test_x.py'.
//! Hint: make sure your test modules/packages have valid Python names.
//! Traceback:
//! tests/test_x.py:1: in <module>
//!     import foo
//! E   ModuleNotFoundError: No module named 'foo'
//! ```
//!
//! Any other error (a SyntaxError, an exception at import) is a plain short or long traceback
//! through pytest's `importtestmodule`. A worker that died while collecting is reported by
//! vigil itself (`the worker collecting this file crashed (...)`).

use crate::diagnose::failure::{ParsedFailure, Source};

use super::{chain, executor};

const IMPORT_HEADER: &str = "ImportError while importing test module";
const WORKER_CRASH: &str = "the worker collecting this file crashed";

/// Whether the text is recognisably a collection error without a hint.
pub(super) fn looks_like(text: &str) -> bool {
    text.starts_with(IMPORT_HEADER)
        || text.starts_with(WORKER_CRASH)
        || text
            .lines()
            .any(|l| l.trim_end().ends_with(": in importtestmodule"))
}

/// The exception is the one the import raised (`ModuleNotFoundError`, `SyntaxError`), not the
/// header's `ImportError`; the location is the innermost frame, or the bad line of a
/// SyntaxError.
pub(super) fn parse(text: &str, message: &str, root: Option<&str>) -> Option<ParsedFailure> {
    if text.starts_with(WORKER_CRASH) {
        return Some(executor::parse(
            text,
            message,
            Source::CollectionError,
            root,
        ));
    }
    let body = match text.split_once("\nTraceback:\n") {
        Some((_, traceback)) if text.starts_with(IMPORT_HEADER) => traceback,
        _ => text,
    };
    let mut parsed = chain::parse(body, root)?;
    parsed.source = Source::CollectionError;
    Some(parsed)
}

#[cfg(test)]
mod tests {
    use crate::diagnose::failure::{Origin, Source};
    use crate::diagnose::parse::test_support::parsed_as;

    const ROOT: &str = "/tmp/vparse/proj";

    fn unhinted(text: &str) -> crate::diagnose::ParsedFailure {
        parsed_as(text, None, ROOT)
    }

    #[test]
    fn a_missing_module_is_the_import_s_own_exception() {
        let p = unhinted(include_str!("samples/pytest_collect_missing_module.txt"));
        assert_eq!(p.source, Source::CollectionError);
        assert_eq!(p.raised.exception.as_deref(), Some("ModuleNotFoundError"));
        assert_eq!(
            p.raised.message,
            "No module named 'requests_nonexistent_module'"
        );
        let frames: Vec<_> = p
            .raised
            .frames
            .iter()
            .map(|f| (f.function.as_deref(), f.origin))
            .collect();
        assert_eq!(
            frames,
            [
                (Some("import_module"), Origin::Stdlib),
                (Some("<module>"), Origin::Project)
            ]
        );
        let location = p.location.expect("location");
        assert_eq!(
            (location.path.as_str(), location.line),
            ("tests/test_missing_module.py", Some(1))
        );
    }

    #[test]
    fn a_syntax_error_is_located_at_the_bad_line_not_in_pytest() {
        let p = unhinted(include_str!("samples/pytest_collect_syntax_error.txt"));
        assert_eq!(p.source, Source::CollectionError);
        assert_eq!(p.raised.exception.as_deref(), Some("SyntaxError"));
        assert_eq!(p.raised.message, "'(' was never closed");
        let location = p.location.expect("location");
        assert_eq!(
            (location.path.as_str(), location.line),
            ("tests/test_syntax.py", Some(2))
        );
        let last = p.raised.frames.last().expect("frames");
        assert_eq!(
            (last.function.as_deref(), last.origin),
            (None, Origin::Project)
        );
        // The frames before it are pytest's and the import machinery's.
        assert_eq!(
            p.raised.frames[0].function.as_deref(),
            Some("importtestmodule")
        );
        assert_eq!(p.raised.frames[0].origin, Origin::ThirdParty);
        assert!(p
            .raised
            .frames
            .iter()
            .any(|f| f.path == "<frozen importlib._bootstrap>" && f.origin == Origin::Stdlib));
    }

    #[test]
    fn the_hint_makes_any_traceback_a_collection_error() {
        let text = include_str!("samples/python_db_locked.txt");
        let p = parsed_as(text, Some(Source::CollectionError), ROOT);
        assert_eq!(p.source, Source::CollectionError);
        assert_eq!(
            p.raised.exception.as_deref(),
            Some("sqlite3.OperationalError")
        );
    }
}
