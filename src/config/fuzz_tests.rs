//! Property tests of the config loader on hostile input: arbitrary text, and valid configs
//! mutated byte by byte and line by line, as `vigil.toml` and as `[tool.vigil]`. Every result
//! is a table or an error whose line:column lies inside the file; nothing panics, including
//! resolving every profile of a table that loaded.

use std::path::Path;

use proptest::prelude::*;

use super::position::{key_at, line_column};
use super::{invalid, parse, ConfigError, Loaded};

/// Valid configs using every table, the fixtures' own among them.
const CORPUS: &[&str] = &[
    include_str!("../../fixtures/breaker/vigil.toml"),
    include_str!("../../fixtures/capabilities/vigil.toml"),
    include_str!("../../fixtures/diagnosis/vigil.toml"),
    include_str!("../../fixtures/retry_state/vigil.toml"),
    include_str!("../../fixtures/tiers/vigil.toml"),
    include_str!("../../fixtures/watch/vigil.toml"),
    "python = \".venv/bin/python\"\njobs = 4\ntimeout = 30.5\njunit = \"reports/junit.xml\"\n\
     pytest_args = [\"-q\", \"-x\"]\nselect_tiers = [\"unit\", \"integration\"]\n\
     tier_gates = { e2e = [\"integration\"] }\n\n[retry]\nretries = 2\nbackoff = \"fixed\"\n\
     delay = 0.5\nmax_delay = 4\njitter = false\nonly_rerun = [\"ConnectionError\"]\n\
     flaky_result = \"fail\"\n\n[profiles.ci]\njobs = 2\n[profiles.ci.retry]\nretries = 1\n\
     [profiles.nightly]\ninherit = \"ci\"\ntimeout = 600\n\n[history]\nenabled = true\n\
     path = \"ci/history.db\"\nkeep_runs = 100\nkeep_days = 30\n\n[watch]\ndebounce_ms = 80\n\
     map = { \"data/**\" = \"tests/integration\", \"*.sql\" = [\"tests/a\", \"tests/b\"] }\n\n\
     [native]\nenabled = false\ncargo_args = [\"--workspace\"]\n",
];

/// What a mutation may insert: TOML's own punctuation, quotes, escapes, keys, numbers and
/// characters that are awkward anywhere (NUL, BOM, U+FFFE, a lone CR).
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "[",
            "]",
            "[[",
            "]]",
            "{",
            "}",
            "=",
            ",",
            ".",
            "\"",
            "'",
            "\"\"\"",
            "\\",
            "\\u",
            "#",
            "\n",
            "\r",
            "\t",
            " ",
            "\0",
            "\u{feff}",
            "\u{fffe}",
            "é",
            "1e300",
            "-1",
            "nan",
            "inf",
            "0x",
            "true",
            "1979-05-27",
            "jobs",
            "profiles",
            "inherit",
            "retry",
            "tool",
            "vigil",
            "timeout",
            "tiers",
            "watch.map",
            "a/[",
            "(",
            "*",
        ])
        .prop_map(String::from),
        "\\PC{0,6}",
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    Insert(prop::sample::Index, String),
    Delete(prop::sample::Index, usize),
    /// Swaps two lines.
    Swap(prop::sample::Index, prop::sample::Index),
    /// Repeats a line (duplicate keys, duplicate tables).
    Repeat(prop::sample::Index),
    Truncate(prop::sample::Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<prop::sample::Index>(), fragment()).prop_map(|(i, s)| Mutation::Insert(i, s)),
        2 => (any::<prop::sample::Index>(), 1usize..12).prop_map(|(i, n)| Mutation::Delete(i, n)),
        1 => (any::<prop::sample::Index>(), any::<prop::sample::Index>())
            .prop_map(|(a, b)| Mutation::Swap(a, b)),
        1 => any::<prop::sample::Index>().prop_map(Mutation::Repeat),
        1 => any::<prop::sample::Index>().prop_map(Mutation::Truncate),
    ]
}

/// The nearest char boundary at or before `at`.
fn boundary(text: &str, at: usize) -> usize {
    (0..=at.min(text.len()))
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0)
}

fn apply(text: &mut String, mutation: &Mutation) {
    match mutation {
        Mutation::Insert(at, piece) => {
            let at = boundary(text, at.index(text.len() + 1));
            text.insert_str(at, piece);
        }
        Mutation::Delete(at, len) if !text.is_empty() => {
            let start = boundary(text, at.index(text.len()));
            let end = boundary(text, start + len);
            text.replace_range(start..end.max(start), "");
        }
        Mutation::Swap(a, b) | Mutation::Repeat(a @ b) if text.contains('\n') => {
            let mut lines: Vec<&str> = text.split('\n').collect();
            let (i, j) = (a.index(lines.len()), b.index(lines.len()));
            if matches!(mutation, Mutation::Swap(..)) {
                lines.swap(i, j);
            } else {
                lines.insert(i, lines[i]);
            }
            *text = lines.join("\n");
        }
        Mutation::Truncate(at) => {
            let at = boundary(text, at.index(text.len() + 1));
            text.truncate(at);
        }
        _ => {}
    }
}

/// The loader's whole contract on one text: a table whose profiles all resolve (or fail
/// with an error), or an error located inside the file, with a message.
fn check(text: &str, in_pyproject: bool) -> Result<(), TestCaseError> {
    match parse(text, in_pyproject) {
        Ok(Some(table)) => {
            let loaded = Loaded {
                table,
                file: Some("vigil.toml".into()),
                text: text.to_string(),
            };
            let mut names: Vec<String> = super::profiles::BUILT_IN
                .iter()
                .map(|s| s.to_string())
                .collect();
            let user = loaded.table.profiles.as_ref().map(|p| p.get_ref());
            names.extend(user.into_iter().flat_map(|p| p.keys().cloned()));
            for name in names {
                if let Err(error) = loaded.profile(&name) {
                    prop_assert!(!error.to_string().is_empty());
                }
            }
            let _ = (
                loaded.native(),
                loaded.history(),
                loaded.watch(),
                loaded.tiers(),
            );
        }
        Ok(None) => prop_assert!(in_pyproject, "vigil.toml always yields a table"),
        Err((offset, message)) => {
            prop_assert!(offset <= text.len(), "offset {offset} past {}", text.len());
            prop_assert!(!message.is_empty());
            let error = invalid(Path::new("vigil.toml"), text, offset, message);
            let ConfigError::Invalid { line, column, .. } = error else {
                return Err(TestCaseError::fail("not an Invalid error"));
            };
            let lines: Vec<&str> = text.split('\n').collect();
            prop_assert!(
                line >= 1 && line <= lines.len(),
                "line {line} of {}",
                lines.len()
            );
            prop_assert!(column >= 1 && column <= lines[line - 1].chars().count() + 1);
            prop_assert_eq!((line, column), line_column(text, offset));
        }
    }
    Ok(())
}

#[test]
fn the_corpus_is_valid() {
    for text in CORPUS {
        assert!(matches!(parse(text, false), Ok(Some(_))), "{text}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_loads_or_fails_at_a_place_in_the_file(text in "\\PC{0,200}") {
        check(&text, false)?;
        check(&text, true)?;
    }

    #[test]
    fn mutated_configs_load_or_fail_at_a_place_in_the_file(
        which in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let mut text = CORPUS[which.index(CORPUS.len())].to_string();
        for m in &mutations {
            apply(&mut text, m);
        }
        check(&text, false)?;
        let pyproject = format!("[project]\nname = \"x\"\n\n[tool.vigil]\n{text}");
        check(&pyproject, true)?;
    }

    #[test]
    fn key_at_never_panics(text in "\\PC{0,120}", at in any::<prop::sample::Index>()) {
        let _ = key_at(&text, at.index(text.len() + 2));
    }
}
