//! Property tests of the event-log reader: a real header then lines of anything reads back
//! or fails naming a line of the file, never panics; and results whose ids, messages and
//! output hold any characters (NUL, U+FFFE, controls) come back exactly as they were written.

use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;

use super::{parse, read};
use crate::events::{Event, Location, Outcome, Phase, Problem, TestResult};
use crate::merge::MergeError;
use crate::report::json_lines::{Header, JsonLinesReporter};
use crate::report::Reporter;

/// Lines a log may hold: real events, an event a newer vigil wrote, JSON of the wrong shape,
/// text, a cut-off line.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(r#"{"event":"test_started","id":"t.py::a","worker":0}"#.to_string()),
        Just(r#"{"event":"notice","message":"x"}"#.to_string()),
        Just(r#"{"event":"coffee_break","minutes":5}"#.to_string()),
        Just(r#"{"event":"run_finished","tally":{},"exit":99,"duration":1e300}"#.to_string()),
        Just(
            r#"{"event":"test_finished","id":"t.py::a","outcome":"passed","duration":-1}"#
                .to_string()
        ),
        Just(r#"{"event":"test_fin"#.to_string()),
        Just(String::new()),
        "\\PC{0,40}",
    ]
}

/// Strings with the characters reports find hardest.
fn hostile_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            prop::sample::select(vec![
                '\0', '\x1b', '\x0b', '\u{fffe}', '\u{ffff}', '\u{feff}', '\n', '"', '\\',
                '\u{2028}'
            ]),
            any::<char>(),
        ],
        0..30,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn result(id: String, message: String, output: String) -> TestResult {
    let problem = Problem {
        phase: Phase::Call,
        is_error: false,
        message: message.clone(),
        location: Some(Location {
            path: id.clone(),
            line: Some(1),
        }),
        longrepr: message,
    };
    let mut result = TestResult::bare(id, Outcome::Failed, vec![problem], None, 0);
    result.sections = vec![("Captured stdout call".into(), output)];
    result.duration = Duration::from_millis(250);
    result
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_lines_after_a_header_read_or_name_their_line(
        lines in prop::collection::vec(line(), 0..8),
        ends_with_newline in any::<bool>(),
    ) {
        let header = serde_json::to_string(&Header::current()).expect("a header serializes");
        let mut text = std::iter::once(header).chain(lines).collect::<Vec<_>>().join("\n");
        if ends_with_newline {
            text.push('\n');
        }
        match parse(Path::new("events.jsonl"), &text) {
            Ok(log) => prop_assert!(log.events.len() <= text.lines().count()),
            Err(MergeError::Line { line, message, .. }) => {
                prop_assert!(line >= 1 && line <= text.lines().count(), "line {line}");
                prop_assert!(!message.is_empty());
            }
            Err(other) => prop_assert!(false, "unexpected {other}"),
        }
    }

    #[test]
    fn arbitrary_text_is_refused_or_read(text in "\\PC{0,200}") {
        let _ = parse(Path::new("events.jsonl"), &text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn hostile_strings_round_trip_through_the_log(
        id in hostile_text(),
        message in hostile_text(),
        output in hostile_text(),
    ) {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("events.jsonl");
        let written = result(id, message, output);
        let mut log = JsonLinesReporter::file(&path).expect("the log opens");
        log.on_event(&Event::TestFinished(written.clone()));
        log.finish().expect("the log is written");
        let read = read(&path).expect("the log reads back");
        let [Event::TestFinished(back)] = &read.events[..] else {
            return Err(TestCaseError::fail(format!("{:?}", read.events)));
        };
        prop_assert_eq!(&back.id, &written.id);
        prop_assert_eq!(&back.problems, &written.problems);
        prop_assert_eq!(&back.sections, &written.sections);
    }
}
