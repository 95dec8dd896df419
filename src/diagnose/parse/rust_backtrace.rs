//! The `stack backtrace:` a panic prints with `RUST_BACKTRACE=1` (or `full`, which adds
//! addresses and symbol hashes), innermost frame first:
//!
//! ```text
//!    4: parsedemo::net::connect_service
//!              at ./src/lib.rs:6:49
//!   18:     0x561f4917a373 - parsedemo::net::connect_service::h3bc2797a6eeccbd5
//!                                at /abs/rcrate/src/lib.rs:6:49
//! ```

use std::sync::LazyLock;

use regex::Regex;

use crate::diagnose::failure::{Frame, Origin};

use super::origin;

static SYMBOL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*\d+:\s+(?:0x[0-9a-fA-F]+ - )?(?P<symbol>.+?)(?:::h[0-9a-f]{16})?$")
        .expect("valid regex")
});

static AT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s+at (?P<path>.+?):(?P<line>\d+)(?::\d+)?$").expect("valid regex")
});

/// The crates of the toolchain, for frames printed without a file (no debug info).
const STD_CRATES: [&str; 9] = [
    "std",
    "core",
    "alloc",
    "test",
    "__rustc",
    "panic_unwind",
    "panic_abort",
    "backtrace",
    "compiler_builtins",
];

/// The frames after a `stack backtrace:` line, outermost first; reading stops at the first
/// line that is neither a symbol nor its `at` line (`note: Some details are omitted...`).
pub(super) fn frames(lines: &[&str], root: Option<&str>) -> Vec<Frame> {
    let mut frames: Vec<Frame> = Vec::new();
    for line in lines {
        if let Some(c) = AT.captures(line) {
            if let Some(frame) = frames.last_mut() {
                let symbol = frame.function.take();
                *frame = located(symbol, &c["path"], c["line"].parse().ok(), root);
            }
        } else if let Some(c) = SYMBOL.captures(line) {
            frames.push(unlocated(&c["symbol"]));
        } else {
            break;
        }
    }
    frames.retain(|f| f.function.as_deref() != Some("<unknown>"));
    frames.reverse();
    frames
}

/// A frame with a file. C functions of the system (`start_thread` in `./nptl/...`) print
/// paths that look relative; they are not the project's.
fn located(symbol: Option<String>, path: &str, line: Option<u32>, root: Option<&str>) -> Frame {
    let mut frame = origin::frame(path, line, symbol.as_deref(), root);
    if symbol.as_deref().is_some_and(|s| !s.contains("::")) {
        frame.origin = Origin::Stdlib;
    }
    frame
}

/// A frame known by its symbol alone: the crate it names decides whose it is; an unknown
/// crate is taken for the project's (the test binary's own code is what usually lacks
/// debug info in a release test build).
fn unlocated(symbol: &str) -> Frame {
    let name = symbol.trim_start_matches('<');
    let krate = name.split(['[', ':', '<', ' ']).next().unwrap_or("");
    let toolchain = STD_CRATES.contains(&krate) || name.starts_with("fn(") || !name.contains("::");
    Frame {
        path: String::new(),
        line: None,
        function: Some(symbol.to_string()),
        origin: if toolchain {
            Origin::Stdlib
        } else {
            Origin::Project
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backtrace_of(text: &str) -> Vec<Frame> {
        let lines: Vec<&str> = text.lines().collect();
        let start = lines
            .iter()
            .position(|l| *l == "stack backtrace:")
            .expect("a backtrace");
        frames(&lines[start + 1..], Some("/tmp/vparse/rcrate"))
    }

    #[test]
    fn short_backtraces_are_read_outermost_first() {
        let frames = backtrace_of(include_str!("samples/rust_unwrap_err_backtrace.txt"));
        let names: Vec<_> = frames
            .iter()
            .filter_map(|f| f.function.as_deref())
            .collect();
        assert_eq!(names.len(), 9);
        assert_eq!(names[0], "<fn() -> core::result::Result<(), alloc::string::String> as core::ops::function::FnOnce<()>>::call_once");
        assert_eq!(
            &names[3..5],
            [
                "parsedemo::tests::connects",
                "parsedemo::net::connect_service"
            ]
        );
        assert_eq!(names[8], "__rustc::rust_begin_unwind");
        let project: Vec<_> = frames
            .iter()
            .filter(|f| f.origin == Origin::Project)
            .map(|f| (f.path.as_str(), f.line))
            .collect();
        assert_eq!(
            project,
            [
                ("./src/lib.rs", Some(33)),
                ("./src/lib.rs", Some(34)),
                ("./src/lib.rs", Some(6))
            ]
        );
        assert!(frames
            .iter()
            .filter(|f| f.origin != Origin::Project)
            .all(|f| f.origin == Origin::Stdlib));
    }

    #[test]
    fn full_backtraces_lose_addresses_and_hashes() {
        let frames = backtrace_of(include_str!("samples/rust_unwrap_err_backtrace_full.txt"));
        let service = frames
            .iter()
            .find(|f| f.function.as_deref() == Some("parsedemo::net::connect_service"))
            .expect("the project's frame");
        assert_eq!(
            (service.path.as_str(), service.line, service.origin),
            ("src/lib.rs", Some(6), Origin::Project)
        );
        // `core::fmt::write` has no file; `start_thread` is libc's, whatever its path says.
        let origin_of = |name: &str| {
            frames
                .iter()
                .find(|f| f.function.as_deref() == Some(name))
                .map(|f| f.origin)
        };
        assert_eq!(
            origin_of("core[c1f1a4ba060b9bfa]::fmt::write"),
            Some(Origin::Stdlib)
        );
        assert_eq!(origin_of("start_thread"), Some(Origin::Stdlib));
        assert_eq!(origin_of("<unknown>"), None);
        assert_eq!(frames.len(), 44);
    }
}
