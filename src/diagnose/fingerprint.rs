//! The fingerprint: a hash of the exception type, the project frames that lead to it (module
//! and function, never line numbers) and the normalized message. Equal for the same bug in
//! many tests and runs; different for different bugs.

use sha2::{Digest, Sha256};

use super::failure::{Frame, Origin, ParsedFailure};
use super::normalize::normalize;

/// Most project frames that go into a fingerprint: the innermost ones say where the bug is;
/// deeper call chains would split one bug by every caller.
const MAX_FRAMES: usize = 4;

/// What the fingerprint is made of, kept for showing why failures grouped.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub exception: String,
    /// The project frames used, innermost first.
    pub frames: Vec<Frame>,
    pub normalized: String,
}

impl Key {
    /// 16 hex digits of SHA-256 over the parts.
    pub fn hash(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.exception.as_bytes());
        for frame in &self.frames {
            hasher.update(b"\n");
            hasher.update(frame_key(frame).as_bytes());
        }
        hasher.update(b"\n\n");
        hasher.update(self.normalized.as_bytes());
        let digest = hasher.finalize();
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The key of a failure of test `test_id`; `message_key` is the message part (normalized).
pub fn key(failure: &ParsedFailure, test_id: &str, message_key: String) -> Key {
    Key {
        exception: short_type(failure.raised.exception.as_deref().unwrap_or("")),
        frames: frames(failure, test_id),
        normalized: message_key,
    }
}

/// The message part of the key: the first line of the message, normalized. A pytest assertion
/// rewrite shows values (`assert 41 == 42`), which differ per parametrized case; its key is
/// the failing source line instead when the text shows it.
pub fn message_key(failure: &ParsedFailure, source_line: Option<&str>) -> String {
    let first = failure.raised.message.lines().next().unwrap_or("").trim();
    // An assertion's message is built from values (`assert 41 == 42`, or the test's own
    // f-string); the statement that failed is what stays the same.
    let is_assertion = short_type(failure.raised.exception.as_deref().unwrap_or(""))
        == "AssertionError"
        || first.starts_with("assert ");
    match source_line {
        Some(line) if is_assertion => normalize(line),
        _ => normalize(first),
    }
}

/// `sqlite3.OperationalError` and `OperationalError` are one type: tracebacks print the
/// qualified name, pytest's location lines the short one.
fn short_type(exception: &str) -> String {
    exception
        .rsplit('.')
        .next()
        .unwrap_or(exception)
        .to_string()
}

/// The project frames of the failure, innermost first: those outside the test itself (a bug
/// in shared code groups every test that hits it), or else the innermost one (a failing
/// assertion in the test body is that test's own). Without any frame, the crash location.
fn frames(failure: &ParsedFailure, test_id: &str) -> Vec<Frame> {
    let project: Vec<&Frame> = failure
        .raised
        .frames
        .iter()
        .rev()
        .filter(|f| f.origin == Origin::Project)
        .collect();
    let shared: Vec<Frame> = project
        .iter()
        .filter(|f| !is_test_frame(f, test_id))
        .take(MAX_FRAMES)
        .map(|f| (*f).clone())
        .collect();
    if !shared.is_empty() {
        return shared;
    }
    if let Some(innermost) = project.first() {
        return vec![(*innermost).clone()];
    }
    location_frame(failure, test_id).into_iter().collect()
}

/// A frame for a failure that shows none (a Rust panic without a backtrace): the panic's file,
/// plus the test's name when it is an assertion (two asserts in one file are two bugs).
fn location_frame(failure: &ParsedFailure, test_id: &str) -> Option<Frame> {
    let location = failure.location.as_ref()?;
    let message = failure.raised.message.trim_start();
    let function = message
        .starts_with("assertion")
        .then(|| test_id.rsplit("::").next().unwrap_or(test_id).to_string());
    Some(Frame {
        path: location.path.clone(),
        line: None,
        function,
        origin: Origin::Project,
    })
}

/// Whether a frame is the test's own code: for pytest, anything in the test's file; for a
/// native test (`native:crate::binary::tests::name`), the test function and its closures.
fn is_test_frame(frame: &Frame, test_id: &str) -> bool {
    match test_id.strip_prefix("native:") {
        Some(native) => {
            let name = native.splitn(3, "::").nth(2).unwrap_or(native);
            let function = frame.function.as_deref().unwrap_or("");
            let function = function.split("::{{closure}}").next().unwrap_or(function);
            function == name || function.ends_with(&format!("::{name}"))
        }
        None => {
            let file = test_id.split("::").next().unwrap_or(test_id);
            frame.path == file || frame.path.ends_with(&format!("/{file}"))
        }
    }
}

/// `tests/test_db.py` + `connect` → `tests.test_db:connect`; a Rust path stays as it is.
fn frame_key(frame: &Frame) -> String {
    let module = module_of(&frame.path);
    match &frame.function {
        Some(function) => format!("{module}:{function}"),
        None => module,
    }
}

/// A module-like name for a path (`app/db.py` → `app.db`). Paths are relative to the rootdir
/// by now (see `relativize`), so a checkout's location does not change it.
fn module_of(path: &str) -> String {
    let trimmed = path
        .strip_suffix(".py")
        .or_else(|| path.strip_suffix(".rs"))
        .unwrap_or(path);
    trimmed.replace(['/', '\\'], ".")
}

/// Makes project paths under `root` relative to it, as pytest prints them in its long form;
/// `--tb=native` prints them absolute.
pub fn relativize(failure: &mut ParsedFailure, root: &str) {
    let prefix = format!("{}/", root.trim_end_matches('/'));
    // Rust backtraces print `./src/lib.rs`; the panic line prints `src/lib.rs`.
    let strip = |path: &mut String| {
        if let Some(rest) = path
            .strip_prefix(&prefix)
            .or_else(|| path.strip_prefix("./"))
        {
            *path = rest.to_string();
        }
    };
    let raised = std::iter::once(&mut failure.raised)
        .chain(failure.chain.iter_mut().map(|(r, _)| r))
        .chain(failure.group.iter_mut());
    for exception in raised {
        exception.frames.iter_mut().for_each(|f| strip(&mut f.path));
    }
    if let Some(location) = failure.location.as_mut() {
        strip(&mut location.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::failure::{Raised, Source};
    use crate::events::Location;

    fn frame(path: &str, function: &str, line: u32) -> Frame {
        Frame {
            path: path.into(),
            line: Some(line),
            function: Some(function.into()),
            origin: if path.contains("site-packages") {
                Origin::ThirdParty
            } else {
                Origin::Project
            },
        }
    }

    fn failure(exception: &str, message: &str, frames: Vec<Frame>) -> ParsedFailure {
        ParsedFailure {
            source: Source::PytestLongrepr,
            raised: Raised {
                exception: Some(exception.into()),
                message: message.into(),
                frames,
            },
            chain: vec![],
            group: vec![],
            location: None,
        }
    }

    fn fingerprint(f: &ParsedFailure, test: &str) -> String {
        key(f, test, message_key(f, None)).hash()
    }

    #[test]
    fn a_bug_in_shared_code_groups_its_callers_and_ignores_lines() {
        let a = failure(
            "ConnectionRefusedError",
            "[Errno 111] Connection refused",
            vec![
                frame("tests/test_a.py", "test_a", 5),
                frame("app/db.py", "connect", 10),
                frame("/v/site-packages/psycopg/c.py", "connect", 99),
            ],
        );
        let mut b = failure(
            "ConnectionRefusedError",
            "[Errno 111] Connection refused",
            vec![
                frame("/root/p/tests/test_b.py", "test_b", 9),
                frame("/root/p/app/db.py", "connect", 12),
            ],
        );
        relativize(&mut b, "/root/p");
        assert_eq!(
            fingerprint(&a, "tests/test_a.py::test_a"),
            fingerprint(&b, "tests/test_b.py::test_b")
        );
        assert_eq!(fingerprint(&a, "tests/test_a.py::test_a").len(), 16);
    }

    #[test]
    fn assertions_in_two_test_bodies_are_two_bugs() {
        let a = failure(
            "AssertionError",
            "assert 1 == 2",
            vec![frame("t.py", "test_a", 3)],
        );
        let b = failure(
            "AssertionError",
            "assert 1 == 2",
            vec![frame("t.py", "test_b", 7)],
        );
        assert_ne!(
            fingerprint(&a, "t.py::test_a"),
            fingerprint(&b, "t.py::test_b")
        );
    }

    #[test]
    fn parametrized_cases_share_the_failing_line_key() {
        let one = failure(
            "AssertionError",
            "assert 3 == 4",
            vec![frame("t.py", "test_p", 3)],
        );
        let two = failure(
            "AssertionError",
            "assert [1] == [1, 2]",
            vec![frame("t.py", "test_p", 3)],
        );
        let line = Some("assert total(case) == expected");
        let k1 = key(&one, "t.py::test_p[1]", message_key(&one, line));
        let k2 = key(&two, "t.py::test_p[2]", message_key(&two, line));
        assert_eq!(k1.hash(), k2.hash());
        assert_ne!(
            fingerprint(&one, "t.py::test_p[1]"),
            fingerprint(&two, "t.py::test_p[2]")
        );
    }

    #[test]
    fn qualified_and_short_exception_names_agree() {
        let q = failure("sqlite3.OperationalError", "database is locked", vec![]);
        let s = failure("OperationalError", "database is locked", vec![]);
        assert_eq!(fingerprint(&q, "t.py::a"), fingerprint(&s, "t.py::a"));
    }

    #[test]
    fn rust_assertions_without_backtrace_are_told_apart_by_test() {
        let mut a = failure(
            "",
            "assertion `left == right` failed\n  left: 1\n right: 2",
            vec![],
        );
        a.source = Source::RustPanic;
        a.location = Some(Location {
            path: "src/lib.rs".into(),
            line: Some(10),
        });
        let b = a.clone();
        assert_ne!(
            fingerprint(&a, "native:c::c::tests::one"),
            fingerprint(&b, "native:c::c::tests::two")
        );
        let mut unwrap = a.clone();
        unwrap.raised.message = "called `Result::unwrap()` on an `Err` value: refused".into();
        assert_eq!(
            fingerprint(&unwrap, "native:c::c::tests::one"),
            fingerprint(&unwrap, "native:c::c::tests::two")
        );
    }
}
