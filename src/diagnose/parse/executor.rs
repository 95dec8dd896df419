//! vigil's own verdicts on a test its worker could not finish: `worker crashed while running
//! this test (killed by signal 11 (SIGSEGV))`, `Timeout: the test ran longer than 3s and its
//! worker was killed`, then the worker's last output. When that output holds a dump of
//! Python's faulthandler (pytest enables it: on a fatal signal, and on
//! `faulthandler_timeout`), its frames say where the test was.
//!
//! ```text
//! Fatal Python error: Segmentation fault
//!
//! Current thread 0x00007f6216e7eb80 (most recent call first):
//!   File "/usr/lib/python3.11/ctypes/__init__.py", line 519 in string_at
//!   File "/abs/tests/test_crash.py", line 7 in read_null
//! ```

use std::sync::LazyLock;

use regex::Regex;

use crate::diagnose::failure::{Frame, ParsedFailure, Source};

use super::origin;

/// The first words of the messages vigil's executors write.
const MESSAGES: [&str; 3] = [
    "worker crashed while running this test",
    "Timeout: the test ran longer than",
    "the worker collecting this file crashed",
];

/// A thread's dump starts here. `Stack` is the form without thread information.
static THREAD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<current>Current thread|Thread) 0x[0-9a-fA-F]+(?: \[[^\]]*\])? \(most recent call first\):$|^Stack \(most recent call first\):$")
        .expect("valid regex")
});

/// faulthandler's frame line: no comma before `in`, `???` when it knows nothing.
static FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s+File "(?P<path>.*)", line (?P<line>\d+|\?+) in (?P<func>.+)$"#)
        .expect("valid regex")
});

pub(super) fn looks_like(text: &str) -> bool {
    MESSAGES.iter().any(|m| text.starts_with(m))
}

/// There is no exception: the message is vigil's; the frames are the crashed thread's,
/// outermost first, and the location is the innermost one.
pub(super) fn parse(
    text: &str,
    message: &str,
    source: Source,
    root: Option<&str>,
) -> ParsedFailure {
    let message = match message.trim() {
        "" => text.lines().next().unwrap_or("").trim(),
        given => given,
    };
    let frames = crashed_thread(text, root);
    super::raised_at_innermost(source, None, message.to_string(), frames)
}

/// The frames of the thread that crashed: the `Current thread` when the dump names one (the
/// last such dump, if the output holds several), else the last thread listed, which is the
/// main thread where pytest runs tests (faulthandler lists threads newest first; a timeout
/// dump comes from a watchdog and has no current thread).
fn crashed_thread(text: &str, root: Option<&str>) -> Vec<Frame> {
    let mut threads: Vec<(bool, Vec<Frame>)> = Vec::new();
    for line in text.lines() {
        if let Some(c) = THREAD.captures(line.trim_end()) {
            let current = c
                .name("current")
                .is_some_and(|m| m.as_str() == "Current thread");
            threads.push((current, Vec::new()));
        } else if let (Some(c), Some((_, frames))) = (FRAME.captures(line), threads.last_mut()) {
            let line_no = c["line"].parse().ok();
            frames.push(origin::frame(&c["path"], line_no, Some(&c["func"]), root));
        }
    }
    let chosen = match threads.iter().rposition(|(current, _)| *current) {
        Some(i) => threads.swap_remove(i).1,
        None => threads.pop().map(|(_, frames)| frames).unwrap_or_default(),
    };
    // Most recent call first there; outermost first everywhere else.
    chosen.into_iter().rev().collect()
}

#[cfg(test)]
mod tests {
    use crate::diagnose::failure::{Origin, Source};
    use crate::diagnose::parse::test_support::parsed_as;
    use crate::diagnose::parse::{parse, FailureText};

    const ROOT: &str = "/tmp/vparse/crash";

    fn unhinted(text: &str) -> crate::diagnose::ParsedFailure {
        parsed_as(text, None, ROOT)
    }

    #[test]
    fn a_segfault_dump_gives_the_crashed_thread_s_frames() {
        let p = unhinted(include_str!("samples/executor_segfault.txt"));
        assert_eq!(p.source, Source::Executor);
        assert_eq!(p.raised.exception, None);
        assert_eq!(
            p.raised.message,
            "worker crashed while running this test (killed by signal 11 (SIGSEGV))"
        );
        let frames = &p.raised.frames;
        assert_eq!(frames[0].function.as_deref(), Some("_run_module_as_main"));
        assert_eq!(frames[0].origin, Origin::Stdlib);
        let inner: Vec<_> = frames[frames.len() - 3..]
            .iter()
            .map(|f| (f.function.as_deref().unwrap_or(""), f.origin))
            .collect();
        assert_eq!(
            inner,
            [
                ("test_segfault", Origin::Project),
                ("read_null", Origin::Project),
                ("string_at", Origin::Stdlib)
            ]
        );
        assert_eq!(frames[frames.len() - 2].path, "tests/test_crash.py");
        assert!(p
            .location
            .is_some_and(|l| l.path.ends_with("ctypes/__init__.py") && l.line == Some(519)));
    }

    #[test]
    fn a_timeout_dump_from_faulthandler_timeout_is_read() {
        let p = parse(FailureText {
            text: include_str!("samples/executor_timeout_dump.txt"),
            message: "Timeout: the test ran longer than 3s and its worker was killed",
            hint: Some(Source::Executor),
            root: Some(ROOT),
        });
        assert_eq!(
            p.raised.message,
            "Timeout: the test ran longer than 3s and its worker was killed"
        );
        let last = p.raised.frames.last().expect("frames");
        assert_eq!(
            (last.function.as_deref(), last.line),
            (Some("test_hangs"), Some(15))
        );
        assert_eq!(
            p.location.map(|l| l.path),
            Some("tests/test_crash.py".to_string())
        );
    }

    #[test]
    fn a_timeout_without_a_dump_is_just_the_message() {
        let p = unhinted(include_str!("samples/executor_timeout.txt"));
        assert_eq!(p.source, Source::Executor);
        assert_eq!(
            p.raised.message,
            "Timeout: the test ran longer than 3s and its worker was killed"
        );
        assert!(p.raised.frames.is_empty());
        assert_eq!(p.location, None);
    }
}
