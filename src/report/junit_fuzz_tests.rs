//! Property test of the JUnit reporter on hostile text: whatever characters a test id, a
//! failure message, a skip reason or captured output holds (NUL, ESC, U+FFFE, lone CRs), the
//! file is well-formed XML, keeps every test, and names each as pytest's escaping would.

use std::time::Duration;

use proptest::prelude::*;

use super::junit::{junit_names, JunitReporter};
use super::xml_text::{xml_safe, CR_MARK, TAB_MARK};
use super::Reporter;
use crate::events::{Event, Location, Outcome, Phase, Problem, SkipInfo, Tally, TestResult};
use crate::exit::ExitCode;

/// Strings with the characters XML cannot hold mixed into ordinary ones.
fn hostile_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            prop::sample::select(vec![
                '\0', '\x01', '\x08', '\x0b', '\x0c', '\x1b', '\x1f', '\x7f', '\r', '\u{fffe}',
                '\u{ffff}', '\u{9b}', '\u{9d}', '\t', '\n', '<', '&', '"', ']', '[',
                // The stand-ins the writer uses for tabs and CRs, as a test's own characters.
                TAB_MARK, CR_MARK,
            ]),
            any::<char>(),
        ],
        0..24,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn result(n: usize, param: &str, outcome: Outcome, text: &str) -> TestResult {
    let id = format!("tests/test_{n}.py::test_x[{param}]");
    let problem = Problem {
        phase: Phase::Call,
        is_error: outcome == Outcome::Error,
        message: text.to_string(),
        location: Some(Location {
            path: format!("tests/test_{n}.py"),
            line: Some(3),
        }),
        longrepr: format!("E   {text}"),
    };
    let problems = if outcome.is_failure() {
        vec![problem]
    } else {
        vec![]
    };
    let skip = (outcome == Outcome::Skipped).then(|| SkipInfo {
        message: text.to_string(),
        location: None,
    });
    let mut result = TestResult::bare(id, outcome, problems, skip, 0);
    result.sections = vec![
        ("Captured stdout call".into(), text.to_string()),
        ("Captured stderr call".into(), text.to_string()),
    ];
    result
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn junit_stays_valid_xml_and_keeps_every_test(
        cases in prop::collection::vec(
            (hostile_text(), prop::sample::select(vec![
                Outcome::Passed, Outcome::Failed, Outcome::Error, Outcome::Skipped,
            ]), hostile_text()),
            1..6,
        ),
    ) {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("junit.xml");
        let mut reporter = JunitReporter::new(path.clone());
        let results: Vec<TestResult> = cases
            .iter()
            .enumerate()
            .map(|(n, (param, outcome, text))| result(n, param, *outcome, text))
            .collect();
        for r in &results {
            reporter.on_event(&Event::TestFinished(r.clone()));
        }
        reporter.on_event(&Event::RunFinished {
            tally: Tally::default(),
            exit: ExitCode::TestsFailed,
            duration: Duration::from_secs(1),
        });
        reporter.finish().expect("the report is written");
        let xml = std::fs::read_to_string(&path).expect("the report reads");
        let doc = roxmltree::Document::parse(&xml)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
        let names: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .filter_map(|n| n.attribute("name"))
            .collect();
        prop_assert_eq!(names.len(), results.len());
        for r in &results {
            let (_, name) = junit_names(&r.id);
            // Tabs and CRs come back from their character references; a reader turns a raw
            // newline in an attribute into a space (XML's attribute normalization).
            let name = xml_safe(&name)
                .replace(TAB_MARK, "\t")
                .replace(CR_MARK, "\r")
                .replace('\n', " ");
            prop_assert!(names.contains(&name.as_str()), "{name:?} not in {names:?}");
        }
    }
}
