//! Property tests of the event pipe on hostile input: arbitrary bytes, real plugin lines
//! mutated, arbitrary JSON of any shape, and junk glued in front of real lines. The reader
//! never panics, reports what it cannot read, still reads every real event behind junk, and
//! what it reads folds into results without panicking (durations like 1e300 included).

use std::io::Cursor;
use std::path::Path;

use proptest::prelude::*;
use serde_json::{json, Value};

use super::results::{self, TestContext};
use super::wire::{parse_line, WireEvent};
use super::worker::{read_events, Message};

/// Lines as the plugin writes them (from a real run, long values shortened).
const CORPUS: &[&str] = &[
    r#"{"ev": "hello", "protocol": 1, "pid": 2542, "pytest": "9.2.0", "rootdir": "/r", "inifile": "/r/pytest.ini"}"#,
    r#"{"ev": "collect_error", "nodeid": "tests/test_broken.py", "longrepr": "ImportError while importing test module\nE   ModuleNotFoundError: No module named 'nope'"}"#,
    r#"{"ev": "collect_skip", "nodeid": "tests/test_skipmod.py", "reason": {"path": "/r/tests/test_skipmod.py", "line": 2, "message": "Skipped: module"}}"#,
    r#"{"ev": "collected", "items": [{"nodeid": "tests/test_c.py::test_p[1]", "file": "/r/tests/test_c.py", "line": 2, "markers": [{"name": "parametrize", "args": [], "kwargs": {}}], "tier": null}, {"nodeid": "tests/test_c.py::test_s", "file": "/r/tests/test_c.py", "line": 6, "markers": [{"name": "skip", "args": [], "kwargs": {"reason": "nope"}}], "tier": "unit", "skip": "gated", "after": ["a"]}]}"#,
    r#"{"ev": "collection_done", "count": 5}"#,
    r#"{"ev": "test_start", "nodeid": "tests/test_c.py::test_p[1]"}"#,
    r#"{"ev": "test_done", "nodeid": "tests/test_c.py::test_p[2]", "phases": [{"when": "setup", "outcome": "passed", "duration": 0.0002967629989143461}, {"when": "call", "outcome": "failed", "duration": 0.0005616830021608621, "longrepr": "x = 2\n>       assert x == 1\nE       assert 2 == 1\n\ntests/test_c.py:5: AssertionError", "crash": {"path": "/r/tests/test_c.py", "line": 5, "message": "assert 2 == 1"}}, {"when": "teardown", "outcome": "passed", "duration": 0.00020149099873378873}], "sections": [["Captured stdout call", "out 2\n"], ["Captured stderr call", "err\n"]]}"#,
    r#"{"ev": "test_done", "nodeid": "tests/test_c.py::test_s", "phases": [{"when": "setup", "outcome": "skipped", "duration": 0.0001052879961207509, "reason": {"path": "/r/tests/test_c.py", "line": 6, "message": "Skipped: nope"}}, {"when": "teardown", "outcome": "passed", "duration": 9.493700054008514e-05}], "sections": []}"#,
    r#"{"ev": "test_done", "nodeid": "tests/test_c.py::test_x", "phases": [{"when": "call", "outcome": "skipped", "duration": 0.00014487399312201887, "wasxfail": "known", "longrepr": "E   assert 0", "crash": {"path": "/r/tests/test_c.py", "line": 9, "message": "assert 0"}}], "sections": []}"#,
    r#"{"ev": "test_done", "nodeid": "tests/test_c.py::test_t", "phases": [{"when": "teardown", "outcome": "failed", "duration": 0.00011541099956957623, "longrepr": "E       RuntimeError: teardown", "crash": {"path": "/r/tests/test_c.py", "line": 13, "message": "RuntimeError: teardown"}}], "sections": []}"#,
    r#"{"ev": "session_finish", "exitstatus": 1}"#,
    r#"{"ev": "usage_error", "message": "dependency cycle among: a, b"}"#,
];

/// Everything the pipe delivered, as the coordinator would receive it.
fn read_all(bytes: &[u8], max_line: u64) -> Vec<Message> {
    let mut messages = Vec::new();
    let finished = read_events(Cursor::new(bytes), max_line, &mut |m| {
        messages.push(m);
        true
    });
    assert!(finished, "the reader stopped before the end");
    messages
}

/// Folds an event the way the pool does, so a value that parses but makes no sense (a 1e300
/// duration, a crash path outside the rootdir) is proven harmless too.
fn fold(event: WireEvent) {
    let rootdir = Path::new("/r");
    match event {
        WireEvent::TestDone {
            nodeid,
            phases,
            sections,
        } => {
            let ctx = TestContext {
                rootdir,
                worker: 0,
                markers: vec![],
                tier: None,
            };
            let result = results::from_phases(nodeid, &phases, sections, ctx);
            let _ = serde_json::to_string(&result);
        }
        WireEvent::CollectError { nodeid, longrepr } => {
            let _ = results::collect_error(nodeid, longrepr, 0);
        }
        WireEvent::CollectSkip { nodeid, reason } => {
            let _ = results::collect_skip(nodeid, &reason, rootdir, 0);
        }
        _ => {}
    }
}

/// What a mutation may put into a line: JSON's punctuation, odd numbers, other event names,
/// invalid UTF-8, the start of another event.
fn fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(vec![
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "\"",
            "\\",
            "\\u",
            "\\ud800",
            "null",
            "true",
            "-1",
            "1e300",
            "-1e300",
            "4294967296",
            "18446744073709551616",
            "0.5",
            "\"ev\"",
            "\"test_done\"",
            "\"phases\"",
            "{\"ev\": ",
            "\n",
            "\r",
            "\0",
            "\u{1b}[2J",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 1..6),
    ]
}

/// A line with a few bytes inserted, deleted or cut off.
fn mutated_line() -> impl Strategy<Value = Vec<u8>> {
    let edit = (any::<prop::sample::Index>(), fragment(), 0usize..8);
    (
        prop::sample::select(CORPUS.to_vec()),
        prop::collection::vec(edit, 1..5),
    )
        .prop_map(|(line, edits)| {
            let mut bytes = line.as_bytes().to_vec();
            for (at, insert, delete) in edits {
                let at = at.index(bytes.len() + 1);
                let end = (at + delete).min(bytes.len());
                bytes.splice(at..end, insert);
            }
            bytes
        })
}

/// JSON of any shape, with an `ev` that is usually one the reader knows.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,8}".prop_map(Value::from),
    ];
    let tree = leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(field(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    let names = prop::sample::select(vec![
        "hello",
        "collect_error",
        "collect_skip",
        "collected",
        "collection_done",
        "test_start",
        "test_done",
        "session_finish",
        "usage_error",
        "coffee_break",
    ]);
    (names, prop::collection::btree_map(field(), tree, 0..6)).prop_map(|(ev, fields)| {
        let mut object: serde_json::Map<String, Value> = fields.into_iter().collect();
        object.insert("ev".into(), Value::from(ev));
        Value::Object(object)
    })
}

/// Field names the events use, and others.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "nodeid",
            "phases",
            "sections",
            "when",
            "outcome",
            "duration",
            "wasxfail",
            "reason",
            "longrepr",
            "crash",
            "path",
            "line",
            "message",
            "items",
            "file",
            "markers",
            "tier",
            "skip",
            "after",
            "count",
            "exitstatus",
            "protocol",
            "pid",
            "pytest",
            "rootdir",
        ])
        .prop_map(String::from),
        "[a-z]{1,6}",
    ]
}

/// A `test_done` of the right shape with values a forger might choose: any duration (1e300,
/// negative, tiny), any phase names and outcomes, paths outside the rootdir, odd line numbers.
fn hostile_test_done() -> impl Strategy<Value = Value> {
    let text = prop_oneof![
        prop::sample::select(vec![
            "setup",
            "call",
            "teardown",
            "passed",
            "failed",
            "skipped",
            "",
            "/",
            "..",
            "/r",
            "/r/t.py",
            "../../etc/passwd",
        ])
        .prop_map(String::from),
        "\\PC{0,12}",
    ];
    let duration = prop_oneof![any::<f64>(), Just(1e300), Just(f64::MAX), Just(-1e300)];
    let line = prop_oneof![Just(Value::Null), any::<u32>().prop_map(Value::from)];
    let crash = (text.clone(), line.clone(), text.clone())
        .prop_map(|(path, line, message)| json!({"path": path, "line": line, "message": message}));
    let phase = (
        (text.clone(), text.clone(), duration),
        prop::option::of(text.clone()),
        prop::option::of(crash.clone()),
        prop::option::of(crash),
    )
        .prop_map(|((when, outcome, duration), wasxfail, reason, crash)| {
            let mut phase = json!({"when": when, "outcome": outcome, "duration": duration,
                                   "longrepr": "E   x"});
            if let Some(w) = wasxfail {
                phase["wasxfail"] = Value::from(w);
            }
            if let Some(r) = reason {
                phase["reason"] = r;
            }
            if let Some(c) = crash {
                phase["crash"] = c;
            }
            phase
        });
    (text.clone(), prop::collection::vec(phase, 0..4), prop::collection::vec((text.clone(), text), 0..3))
        .prop_map(|(nodeid, phases, sections)| {
            json!({"ev": "test_done", "nodeid": nodeid, "phases": phases, "sections": sections})
        })
}

/// Junk a test might write to the event fd without a newline (it cannot hold an event start,
/// which only the plugin writes).
fn junk() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..40).prop_map(|mut bytes| {
        bytes.retain(|b| *b != b'\n' && *b != b'{');
        bytes
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_are_read_or_reported(
        bytes in prop::collection::vec(any::<u8>(), 0..600),
        max_line in 8u64..256,
    ) {
        for message in read_all(&bytes, max_line) {
            match message {
                Message::Event(event) => fold(event),
                Message::BadLine(report) => prop_assert!(!report.is_empty()),
                other => prop_assert!(false, "unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn mutated_plugin_lines_parse_or_fail(line in mutated_line()) {
        let text = String::from_utf8_lossy(&line);
        for parsed in parse_line(text.trim_end()) {
            match parsed {
                Ok(event) => fold(event),
                Err(report) => prop_assert!(report.contains("event"), "{report}"),
            }
        }
    }

    #[test]
    fn forged_test_results_fold_without_panicking(value in hostile_test_done()) {
        let parsed = parse_line(&value.to_string());
        prop_assert!(parsed.len() == 1 && parsed[0].is_ok(), "{parsed:?}");
        for event in parsed.into_iter().flatten() {
            fold(event);
        }
    }

    #[test]
    fn json_of_any_shape_parses_or_fails(value in any_json()) {
        for event in parse_line(&value.to_string()).into_iter().flatten() {
            fold(event);
        }
    }

    #[test]
    fn every_event_behind_junk_is_still_read(
        lines in prop::collection::vec((junk(), prop::sample::select(CORPUS.to_vec())), 1..8),
    ) {
        let mut stream = Vec::new();
        for (junk, line) in &lines {
            stream.extend_from_slice(junk);
            stream.extend_from_slice(line.as_bytes());
            stream.push(b'\n');
        }
        let events: Vec<WireEvent> = read_all(&stream, 1 << 20)
            .into_iter()
            .filter_map(|m| match m {
                Message::Event(event) => Some(event),
                _ => None,
            })
            .collect();
        let expected: Vec<WireEvent> = lines
            .iter()
            .map(|(_, line)| super::wire::parse(line).expect("the corpus parses"))
            .collect();
        prop_assert_eq!(events, expected);
    }
}

#[test]
fn a_huge_duration_folds_into_no_duration() {
    let line = r#"{"ev": "test_done", "nodeid": "t.py::a", "phases": [{"when": "call", "outcome": "passed", "duration": 1e300}, {"when": "teardown", "outcome": "passed", "duration": 1.7e308}]}"#;
    let Ok(WireEvent::TestDone {
        nodeid,
        phases,
        sections,
    }) = super::wire::parse(line)
    else {
        panic!("the line parses");
    };
    let ctx = TestContext {
        rootdir: Path::new("/r"),
        worker: 0,
        markers: vec![],
        tier: None,
    };
    let result = results::from_phases(nodeid, &phases, sections, ctx);
    assert_eq!(result.duration, std::time::Duration::ZERO);
}

#[test]
fn a_line_over_the_limit_is_dropped_and_the_next_one_read() {
    let mut stream = vec![b'x'; 300];
    stream.push(b'\n');
    stream.extend_from_slice(CORPUS[4].as_bytes());
    stream.push(b'\n');
    let messages = read_all(&stream, 100);
    assert!(
        matches!(&messages[..], [Message::BadLine(r), Message::Event(WireEvent::CollectionDone { count: 5 })] if r.contains("over 100 bytes")),
        "{messages:?}"
    );
}
