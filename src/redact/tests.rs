//! The redactor on its own: which names count as secret, the short-value rule, overlapping
//! and nested secrets, and every free-text field of a result.

use std::ffi::OsString;

use proptest::prelude::*;

use super::*;
use crate::events::{Event, Marker, Outcome, Phase, Problem, SkipInfo, TestResult};

fn vars(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
    pairs
        .iter()
        .map(|(n, v)| (OsString::from(n), OsString::from(v)))
        .collect()
}

fn redactor(pairs: &[(&str, &str)]) -> Redactor {
    Redactor::from_vars(vars(pairs), &RedactTable::default()).unwrap()
}

fn table(env: &[&str], exempt: &[&str]) -> RedactTable {
    let spanned = |l: &[&str]| {
        Some(toml::Spanned::new(
            0..0,
            l.iter().map(|s| s.to_string()).collect(),
        ))
    };
    RedactTable {
        env: spanned(env),
        exempt: spanned(exempt),
    }
}

#[test]
fn secret_looking_names_are_redacted_in_any_case_and_others_are_not() {
    let r = redactor(&[
        ("API_TOKEN", "tok-123456"),
        ("db_password", "hunter2hunter2"),
        ("AWS_SECRET_ACCESS_KEY", "AKIAxyzxyz"),
        ("HOME", "/home/someone"),
        ("SSH_AUTH_SOCK", "/tmp/ssh-agent.sock"),
    ]);
    let text = "t=tok-123456 p=hunter2hunter2 a=AKIAxyzxyz h=/home/someone s=/tmp/ssh-agent.sock";
    assert_eq!(
        r.redact(text),
        "t=[REDACTED:API_TOKEN] p=[REDACTED:db_password] a=[REDACTED:AWS_SECRET_ACCESS_KEY] \
         h=/home/someone s=/tmp/ssh-agent.sock"
    );
}

#[test]
fn the_table_adds_patterns_and_exempts_names() {
    let t = table(&["my_*"], &["*_PUBLIC_KEY"]);
    let pairs = vars(&[
        ("MY_DSN", "postgres://u:pw@db/x"),
        ("SIGNING_PUBLIC_KEY", "ssh-ed25519 AAAA"),
        ("SIGNING_KEY", "private-bits"),
    ]);
    let r = Redactor::from_vars(pairs, &t).unwrap();
    assert_eq!(
        r.redact("postgres://u:pw@db/x ssh-ed25519 AAAA private-bits"),
        "[REDACTED:MY_DSN] ssh-ed25519 AAAA [REDACTED:SIGNING_KEY]"
    );
    let bad = table(&["[A-"], &[]);
    let error = Redactor::from_vars(vec![], &bad).unwrap_err().to_string();
    assert!(error.contains("env: \"[A-\" is not a glob"), "{error}");
}

#[test]
fn short_and_empty_values_are_not_redacted_and_short_ones_named_for_the_warning() {
    let r = redactor(&[
        ("PIN_TOKEN", "12345"),
        ("EMPTY_SECRET", ""),
        ("LONG_KEY", "123456"),
    ]);
    assert_eq!(r.too_short, ["PIN_TOKEN"]);
    assert_eq!(r.redact("12345 123456"), "12345 [REDACTED:LONG_KEY]");
    let debug = format!("{r:?}");
    assert!(
        !debug.contains("123456"),
        "the value leaks through Debug: {debug}"
    );
}

#[test]
fn no_secret_means_no_work_and_no_copy() {
    let r = redactor(&[("HOME", "/root")]);
    assert!(r.is_empty());
    assert!(matches!(r.redact("anything"), Cow::Borrowed(_)));
    let r = redactor(&[("API_TOKEN", "abcdefgh")]);
    assert!(matches!(r.redact("clean text"), Cow::Borrowed(_)));
}

#[test]
fn a_secret_inside_another_goes_whole_and_overlaps_leave_nothing() {
    let r = redactor(&[
        ("OUTER_TOKEN", "xx-inner-secret-yy"),
        ("INNER_SECRET", "inner-secret"),
    ]);
    assert_eq!(
        r.redact("a xx-inner-secret-yy b inner-secret c"),
        "a [REDACTED:OUTER_TOKEN] b [REDACTED:INNER_SECRET] c"
    );
    let r = redactor(&[("A_TOKEN", "abcdef"), ("B_TOKEN", "defghi")]);
    assert_eq!(r.redact("<abcdefghi>"), "<[REDACTED:A_TOKEN]>");
    let r = redactor(&[("A_TOKEN", "ababab")]);
    assert_eq!(r.redact("abababab!"), "[REDACTED:A_TOKEN]!");
}

/// JSON printed as is (`vigil plan --format json`): a secret with a quote in it would not
/// match in the serialized text, so strings and keys are redacted as values.
#[test]
fn json_strings_and_keys_are_redacted_where_they_sit() {
    let r = redactor(&[("API_TOKEN", "tok\"en-x9")]);
    let mut value = serde_json::json!({
        "tok\"en-x9": [1, "id[tok\"en-x9]", {"nested": "tok\"en-x9"}, null, true],
    });
    r.redact_json(&mut value);
    let text = value.to_string();
    assert!(!text.contains("en-x9"), "{text}");
    assert_eq!(
        value,
        serde_json::json!({
            "[REDACTED:API_TOKEN]": [
                1,
                "id[[REDACTED:API_TOKEN]]",
                {"nested": "[REDACTED:API_TOKEN]"},
                null,
                true
            ],
        })
    );
}

#[test]
fn each_line_of_a_multi_line_secret_is_a_secret_of_its_own() {
    let r = redactor(&[("DEPLOY_KEY", "-----BEGIN KEY-----\nAAAABBBBCCCC\nok\n")]);
    assert_eq!(
        r.redact("line: AAAABBBBCCCC\nok"),
        "line: [REDACTED:DEPLOY_KEY]\nok"
    );
}

#[test]
fn every_text_field_of_a_result_is_redacted_and_its_id_apart() {
    let r = redactor(&[("API_TOKEN", "s3cr3t-value")]);
    let s = "s3cr3t-value";
    let mut result = TestResult::bare(
        format!("t.py::test_x[{s}]"),
        Outcome::Failed,
        vec![Problem {
            phase: Phase::Call,
            is_error: false,
            message: format!("AssertionError: {s}"),
            location: None,
            longrepr: format!("E   assert '{s}' == ''"),
        }],
        Some(SkipInfo {
            message: format!("because {s}"),
            location: None,
        }),
        0,
    );
    result.sections = vec![("Captured stdout call".into(), format!("token={s}\n"))];
    result.markers = vec![Marker {
        name: "parametrize".into(),
        args: vec!["v".into(), serde_json::json!([s, {"deep": s}])],
        kwargs: serde_json::Map::from_iter([("ids".to_string(), serde_json::json!([s]))]),
    }];
    let mut event = Event::TestFinished(result);
    r.event_text(&mut event);
    let text = serde_json::to_string(&event).unwrap();
    assert_eq!(text.matches(s).count(), 1, "only the id keeps it: {text}");
    r.event_ids(&mut event);
    let text = serde_json::to_string(&event).unwrap();
    assert!(!text.contains(s), "{text}");
    assert_eq!(text.matches("[REDACTED:API_TOKEN]").count(), 8, "{text}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever surrounds them, however they overlap: no secret survives, and text without
    /// secrets comes back as it was.
    #[test]
    fn no_secret_survives(
        a in "[ab]{6,9}",
        b in "[abc]{6,9}",
        parts in proptest::collection::vec("[abc ]{0,12}", 0..6),
    ) {
        let r = redactor(&[("A_TOKEN", &a), ("B_SECRET", &b)]);
        let text: String = parts.iter().enumerate().map(|(i, p)| {
            format!("{p}{}", if i % 2 == 0 { &a } else { &b })
        }).collect();
        let out = r.redact(&text);
        let residue = out.replace("[REDACTED:A_TOKEN]", "|").replace("[REDACTED:B_SECRET]", "|");
        prop_assert!(!residue.contains(a.as_str()), "{a} in {out}");
        prop_assert!(!residue.contains(b.as_str()), "{b} in {out}");
        let clean = "xyz ".repeat(parts.len());
        prop_assert_eq!(r.redact(&clean), clean.as_str());
    }
}
