//! Checks of single config values made while the file is deserialized (`deserialize_with`),
//! so a bad value is reported at its own `file:line:col` with its dotted key, like a wrong
//! type is: durations, enumerations, regexes, globs and paths.

use std::path::PathBuf;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use crate::diagnose::{Category, Nature};

/// Longest duration a config value may name (a year): far beyond any sensible timeout or
/// delay, and far below what makes `Duration` or a deadline overflow.
pub const MAX_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

/// A per-test timeout: seconds, more than 0.
pub fn timeout<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let value = f64::deserialize(d)?;
    if value.is_finite() && value > 0.0 && value <= MAX_SECONDS {
        return Ok(Some(value));
    }
    Err(D::Error::custom(format!(
        "a timeout is a number of seconds above 0 and at most {MAX_SECONDS} (a year), not {}",
        shown(value)
    )))
}

/// A wait: seconds, 0 or more.
pub fn delay<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let value = f64::deserialize(d)?;
    if value.is_finite() && (0.0..=MAX_SECONDS).contains(&value) {
        return Ok(Some(value));
    }
    Err(D::Error::custom(format!(
        "a delay is a number of seconds from 0 to {MAX_SECONDS} (a year), not {}",
        shown(value)
    )))
}

/// `[watch] debounce_ms`: at most an hour (a deadline that far out is a typo, and one past
/// what `Instant` holds would panic).
pub fn debounce_ms<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    const HOUR_MS: u64 = 3_600_000;
    let value = u64::deserialize(d)?;
    if value <= HOUR_MS {
        return Ok(Some(value));
    }
    Err(D::Error::custom(format!(
        "a quiet time is at most {HOUR_MS} ms (an hour), not {value}"
    )))
}

/// `[retry] backoff`.
pub fn backoff<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    one_of(d, &["exponential", "fixed"])
}

/// `[retry] flaky_result`.
pub fn flaky_result<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    one_of(d, &["pass", "fail"])
}

/// A diagnosis rule's `nature`.
pub fn nature<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = String::deserialize(d)?;
    match Nature::from_name(&value) {
        Some(_) => Ok(Some(value)),
        None => Err(D::Error::custom(format!(
            "{value:?} is not a nature: write `transient` or `deterministic`"
        ))),
    }
}

/// A diagnosis rule's `category`.
pub fn category<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = String::deserialize(d)?;
    if Category::from_name(&value).is_some() {
        return Ok(Some(value));
    }
    let known: Vec<&str> = Category::ALL.iter().map(|c| c.name()).collect();
    Err(D::Error::custom(format!(
        "unknown category {value:?} (known: {})",
        known.join(", ")
    )))
}

/// A diagnosis rule's `confidence`: from 0 to 1.
pub fn confidence<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f32>, D::Error> {
    let value = f32::deserialize(d)?;
    if (0.0..=1.0).contains(&value) {
        return Ok(Some(value));
    }
    Err(D::Error::custom(format!(
        "confidence is from 0 to 1, not {value}"
    )))
}

/// One regex (a diagnosis rule's `exception`, `message`, `trace`).
pub fn regex<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = String::deserialize(d)?;
    check_regex(&value).map_err(D::Error::custom)?;
    Ok(Some(value))
}

/// A list of regexes (`[retry] only_rerun`).
pub fn regexes<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    checked_list(d, check_regex)
}

/// Globs matched against the file system (`[diagnose] logs`, `[retry] state`).
pub fn path_globs<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    checked_list(d, |value| {
        glob::Pattern::new(value)
            .map(drop)
            .map_err(|e| format!("{value:?} is not a glob: {e}"))
    })
}

/// Globs matched against changed paths (`[watch] ignore`).
pub fn change_globs<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    checked_list(d, |value| {
        globset::Glob::new(value)
            .map(drop)
            .map_err(|e| format!("{value:?} is not a glob: {e}"))
    })
}

/// A list of strings, each checked as it is read, so an error points at the item itself
/// (the deserializer marks the span of the value being read when the error is made).
fn checked_list<'de, D: Deserializer<'de>>(
    d: D,
    check: fn(&str) -> Result<(), String>,
) -> Result<Option<Vec<String>>, D::Error> {
    struct Items(fn(&str) -> Result<(), String>);
    impl<'de> serde::de::Visitor<'de> for Items {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of strings")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut items = Vec::new();
            while let Some(item) = seq.next_element_seed(Item(self.0))? {
                items.push(item);
            }
            Ok(items)
        }
    }
    // The check runs inside the item's visitor: an error raised there gets the item's span.
    #[derive(Clone, Copy)]
    struct Item(fn(&str) -> Result<(), String>);
    impl<'de> serde::de::DeserializeSeed<'de> for Item {
        type Value = String;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
            d.deserialize_string(self)
        }
    }
    impl<'de> serde::de::Visitor<'de> for Item {
        type Value = String;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<String, E> {
            (self.0)(value).map_err(E::custom)?;
            Ok(value.to_string())
        }
    }
    d.deserialize_seq(Items(check)).map(Some)
}

/// A file path: an empty one would silently mean the config file's directory.
pub fn path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    let value = PathBuf::deserialize(d)?;
    if value.as_os_str().is_empty() {
        return Err(D::Error::custom("a path cannot be empty"));
    }
    Ok(Some(value))
}

/// A number as written, short: `1e300`, not three hundred digits.
fn shown(value: f64) -> String {
    if value.is_finite() && value.abs() >= 1e15 {
        format!("{value:e}")
    } else {
        value.to_string()
    }
}

fn one_of<'de, D: Deserializer<'de>>(d: D, known: &[&str]) -> Result<Option<String>, D::Error> {
    let value = String::deserialize(d)?;
    if known.contains(&value.as_str()) {
        return Ok(Some(value));
    }
    let choices: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
    Err(D::Error::custom(format!(
        "{value:?} is not one of {}",
        choices.join(", ")
    )))
}

fn check_regex(pattern: &str) -> Result<(), String> {
    regex::Regex::new(pattern)
        .map(drop)
        .map_err(|e| format!("{pattern:?} is not a valid regex: {e}"))
}
