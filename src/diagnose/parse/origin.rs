//! Whose code a frame runs, from its path alone: the project's, an installed package's, or the
//! language's standard library; and the frame and location values the parsers build.

use std::sync::LazyLock;

use regex::Regex;

use crate::diagnose::failure::{Frame, Origin};
use crate::events::Location;

/// CPython's library directory (`/usr/lib/python3.11/`, `/root/.pyenv/.../lib/python3.13t/`);
/// installed packages live below it too, so site-packages is checked first.
static PYTHON_LIB: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(^|[/\\])[Ll]ib(64)?[/\\](python|pypy)\d[\d.]*t?[/\\]").expect("valid regex")
});

/// Rust's own crates: `/rustc/<hash>/library/core/...` in backtraces, or the sources of an
/// installed toolchain.
static RUST_STD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^/rustc/|[/\\]\.rustup[/\\]toolchains[/\\]|[/\\]library[/\\](std|core|alloc|test|proc_macro|panic_unwind|backtrace)[/\\]")
        .expect("valid regex")
});

/// Crates cargo downloaded (`~/.cargo/registry/src/...`, `$CARGO_HOME/git/checkouts/...`).
static CARGO_DEPENDENCY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(^|[/\\])\.?cargo[/\\](registry|git)[/\\]").expect("valid regex")
});

/// A virtualenv's library directory, whatever it is called by convention.
static VIRTUALENV: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(^|[/\\])(\.?venv|\.tox[/\\][^/\\]+)[/\\](lib|Lib)[/\\]").expect("valid regex")
});

/// Classifies `path`. `root` is the project's absolute root; without it, an absolute path that
/// is neither a library's nor the standard library's is taken for the project's (installed
/// code lives in site-packages or a registry, which are recognised without a root).
pub(super) fn classify(path: &str, root: Option<&str>) -> Origin {
    if path.contains("site-packages") || path.contains("dist-packages") {
        return Origin::ThirdParty;
    }
    if VIRTUALENV.is_match(path) || CARGO_DEPENDENCY.is_match(path) {
        return Origin::ThirdParty;
    }
    if let Some(inner) = path.strip_prefix('<') {
        // Code without a file: frozen stdlib modules and exec'd strings; anything else
        // (`<decorator-gen-1>`, `<attrs generated init ...>`) is a library's generated code.
        let builtin = inner.starts_with("frozen") || inner.starts_with("string>");
        return if builtin {
            Origin::Stdlib
        } else {
            Origin::ThirdParty
        };
    }
    if PYTHON_LIB.is_match(path) || RUST_STD.is_match(path) {
        return Origin::Stdlib;
    }
    if !is_absolute(path) {
        return if path.starts_with("..") {
            Origin::ThirdParty
        } else {
            Origin::Project
        };
    }
    match root {
        Some(root) if below(path, root).is_some() => Origin::Project,
        Some(_) => Origin::ThirdParty,
        None => Origin::Project,
    }
}

/// A frame for `path`, its path made relative to the root when it is below it (pytest prints
/// project paths relative in its own styles and absolute in native tracebacks; one spelling
/// lets the same frame compare equal whichever style printed it).
pub(super) fn frame(
    path: &str,
    line: Option<u32>,
    function: Option<&str>,
    root: Option<&str>,
) -> Frame {
    Frame {
        path: relative(path, root),
        line,
        function: function.map(str::to_string),
        origin: classify(path, root),
    }
}

/// Where a frame is, for [`crate::diagnose::ParsedFailure::location`].
pub(super) fn location_of(frame: &Frame) -> Location {
    Location {
        path: frame.path.clone(),
        line: frame.line,
    }
}

/// `path` relative to `root` when below it, else unchanged.
pub(super) fn relative(path: &str, root: Option<&str>) -> String {
    root.and_then(|root| below(path, root))
        .unwrap_or(path)
        .to_string()
}

/// The rest of `path` after `root/`, when `path` is below `root`.
fn below<'a>(path: &'a str, root: &str) -> Option<&'a str> {
    let root = root.trim_end_matches(['/', '\\']);
    let rest = path.strip_prefix(root)?;
    let rest = rest.strip_prefix('/').or_else(|| rest.strip_prefix('\\'))?;
    (!rest.is_empty()).then_some(rest)
}

fn is_absolute(path: &str) -> bool {
    let bytes = path.as_bytes();
    let drive = bytes.len() > 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':';
    path.starts_with('/') || path.starts_with('\\') || drive
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: Option<&str> = Some("/tmp/vparse/proj");

    #[test]
    fn installed_python_packages_are_third_party_even_below_the_root() {
        for path in [
            "/work/main/.venv/lib/python3.11/site-packages/_pytest/runner.py",
            "/usr/lib/python3/dist-packages/requests/api.py",
            "/tmp/vparse/proj/.venv/lib/python3.11/re/__init__.py",
            "/tmp/vparse/proj/venv/lib/python3.11/helpers.py",
        ] {
            assert_eq!(classify(path, ROOT), Origin::ThirdParty, "{path}");
        }
    }

    #[test]
    fn the_python_standard_library_is_stdlib() {
        for path in [
            "/root/.pyenv/versions/3.11.7/lib/python3.11/socket.py",
            "/usr/lib64/python3.13t/json/decoder.py",
            "<frozen importlib._bootstrap>",
            "<string>",
        ] {
            assert_eq!(classify(path, ROOT), Origin::Stdlib, "{path}");
        }
        assert_eq!(classify("<decorator-gen-1>", ROOT), Origin::ThirdParty);
    }

    #[test]
    fn rust_paths_are_told_apart() {
        let std = "/rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/result.rs";
        assert_eq!(classify(std, ROOT), Origin::Stdlib);
        let crate_src =
            "/home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/serde-1.0.0/src/de.rs";
        assert_eq!(classify(crate_src, ROOT), Origin::ThirdParty);
        let git = "/usr/local/cargo/git/checkouts/foo-123/abc/src/lib.rs";
        assert_eq!(classify(git, ROOT), Origin::ThirdParty);
        assert_eq!(classify("./src/lib.rs", None), Origin::Project);
    }

    #[test]
    fn project_paths_are_relative_or_below_the_root() {
        assert_eq!(classify("tests/test_forms.py", ROOT), Origin::Project);
        assert_eq!(classify("../other/lib.py", ROOT), Origin::ThirdParty);
        assert_eq!(
            classify("/tmp/vparse/proj/tests/helpers.py", ROOT),
            Origin::Project
        );
        assert_eq!(
            classify("/tmp/vparse/project2/x.py", ROOT),
            Origin::ThirdParty
        );
        assert_eq!(classify("/opt/app/x.py", None), Origin::Project);
    }

    #[test]
    fn frames_below_the_root_get_relative_paths() {
        let frame = frame(
            "/tmp/vparse/proj/tests/helpers.py",
            Some(10),
            Some("connect"),
            Some("/tmp/vparse/proj/"),
        );
        assert_eq!(frame.path, "tests/helpers.py");
        assert_eq!(frame.origin, Origin::Project);
        assert_eq!(
            relative("/tmp/vparse/projx/a.py", ROOT),
            "/tmp/vparse/projx/a.py"
        );
    }
}
