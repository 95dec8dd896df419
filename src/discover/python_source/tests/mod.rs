//! Tests of the static reader, by what they check, and the helpers they share.

mod collect;
mod deep_trees;
mod markers;
mod source_input;

use serde_json::Value;

use super::{scan, ModuleScan, StaticTest};
use crate::events::Marker;

fn scan_ok(source: &str) -> ModuleScan {
    match scan(source) {
        Ok(scan) => scan,
        Err(e) => panic!("scan failed: {e}"),
    }
}

fn ids(source: &str) -> Vec<String> {
    scan_ok(source).tests.into_iter().map(|t| t.name).collect()
}

fn marker_names(test: &StaticTest) -> Vec<&str> {
    test.markers.iter().map(|m| m.name.as_str()).collect()
}

fn only_test(source: &str) -> StaticTest {
    let mut tests = scan_ok(source).tests;
    assert_eq!(tests.len(), 1, "{tests:?}");
    tests.remove(0)
}

fn marker(name: &str, args: Value, kwargs: Value) -> Marker {
    let Value::Array(args) = args else {
        panic!("args must be an array")
    };
    let Value::Object(kwargs) = kwargs else {
        panic!("kwargs must be an object")
    };
    Marker {
        name: name.to_string(),
        args,
        kwargs,
    }
}
