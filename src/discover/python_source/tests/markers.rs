//! Tests of markers: their spellings, literal arguments, and the order pytest applies them in.

use serde_json::json;

use super::{marker, marker_names, only_test, scan_ok};

#[test]
fn marker_spellings_and_literal_arguments() {
    let source = r#"
import pytest
import pytest as pt
from pytest import mark
from pytest import mark as m

@pytest.mark.requires_env("X")
@pytest.mark.requires_bin("x")
@pt.mark.requires_service("h:p")
@mark.requires_docker
@m.requires("name")
@pytest.mark.custom(-1, 2.5, None, True, [1, "a"], (1, 2), {3, 4}, {"k": [1, {"n": False}]}, "a" "b", reruns=2)
def test_x(): pass
"#;
    let test = only_test(source);
    let empty = json!({});
    assert_eq!(
        test.markers,
        [
            marker(
                "custom",
                json!([-1, 2.5, null, true, [1, "a"], [1, 2], [3, 4], {"k": [1, {"n": false}]}, "ab"]),
                json!({"reruns": 2})
            ),
            marker("requires", json!(["name"]), empty.clone()),
            marker("requires_docker", json!([]), empty.clone()),
            marker("requires_service", json!(["h:p"]), empty.clone()),
            marker("requires_bin", json!(["x"]), empty.clone()),
            marker("requires_env", json!(["X"]), empty),
        ]
    );
}

#[test]
fn non_literal_arguments_keep_their_source_text() {
    let source = r#"
import pytest, sys
ENV = "X"

@pytest.mark.requires_env(ENV)
@pytest.mark.skipif(sys.platform == "win32", reason=f"not on {sys.platform}")
@pytest.mark.other(*ARGS, b"raw", 10**100, 1j, [1, NAME], {1: 2}, **OPTS)
def test_x(): pass
"#;
    let test = only_test(source);
    let expr = |text: &str| json!({ "$expr": text });
    assert_eq!(
        test.markers,
        [
            marker(
                "other",
                json!([
                    expr("*ARGS"),
                    expr("b\"raw\""),
                    expr("10**100"),
                    expr("1j"),
                    [1, expr("NAME")],
                    expr("{1: 2}")
                ]),
                json!({"**": expr("OPTS")})
            ),
            marker(
                "skipif",
                json!([expr("sys.platform == \"win32\"")]),
                json!({"reason": expr("f\"not on {sys.platform}\"")})
            ),
            marker("requires_env", json!([expr("ENV")]), json!({})),
        ]
    );
}

#[test]
fn big_and_non_finite_numbers_are_expressions() {
    let source = r#"
import pytest
@pytest.mark.n(18446744073709551615, -9223372036854775807, 1e999, -0.5)
def test_x(): pass
"#;
    let test = only_test(source);
    assert_eq!(
        test.markers[0].args,
        [
            json!(18446744073709551615u64),
            json!(-9223372036854775807i64),
            json!({"$expr": "1e999"}),
            json!(-0.5),
        ]
    );
}

#[test]
fn dependency_markers() {
    let source = r#"
import pytest

@pytest.mark.dependency(name="a", depends=["b", "TestC::test_m"], scope="session")
def test_a(): pass

class TestC:
    @pytest.mark.dependency()
    def test_m(self): pass
"#;
    let scan = scan_ok(source);
    assert_eq!(
        scan.tests[0].markers,
        [marker(
            "dependency",
            json!([]),
            json!({"name": "a", "depends": ["b", "TestC::test_m"], "scope": "session"})
        )]
    );
    assert_eq!(scan.tests[1].name, "TestC::test_m");
    assert_eq!(
        scan.tests[1].markers,
        [marker("dependency", json!([]), json!({}))]
    );
}

#[test]
fn pytestmark_single_and_list_in_pytest_order() {
    let source = r#"
import pytest
pytestmark = [pytest.mark.mod1, pytest.mark.mod2]

@pytest.mark.top
@pytest.mark.bottom
def test_fn(): pass

@pytest.mark.cls_top
@pytest.mark.cls_bottom
class TestA:
    pytestmark = pytest.mark.body
    @pytest.mark.m
    def test_m(self): pass
    class TestInner:
        pytestmark = (pytest.mark.inner1, pytest.mark.inner2)
        def test_x(self): pass
"#;
    let scan = scan_ok(source);
    let got: Vec<_> = scan
        .tests
        .iter()
        .map(|t| (t.name.as_str(), marker_names(t)))
        .collect();
    // As pytest 9.2's item.iter_markers() lists them for this file.
    assert_eq!(
        got,
        [
            ("test_fn", vec!["bottom", "top", "mod1", "mod2"]),
            (
                "TestA::test_m",
                vec!["m", "body", "cls_bottom", "cls_top", "mod1", "mod2"]
            ),
            (
                "TestA::TestInner::test_x",
                vec![
                    "inner1",
                    "inner2",
                    "body",
                    "cls_bottom",
                    "cls_top",
                    "mod1",
                    "mod2"
                ]
            ),
        ]
    );
}

#[test]
fn module_pytestmark_single_and_last_assignment_wins() {
    let source = r#"
import pytest
pytestmark = pytest.mark.first
pytestmark = pytest.mark.integration
def test_a(): pass
"#;
    assert_eq!(marker_names(&only_test(source)), ["integration"]);
}

#[test]
fn parametrize_keeps_no_arguments_and_marks_what_it_reaches() {
    let source = r#"
import pytest

@pytest.mark.parametrize("x", [1, pytest.param(2, marks=pytest.mark.requires_bin("git"))])
def test_own(x): pass

def test_plain(): pass

@pytest.mark.parametrize("y", [1, 2])
class TestP:
    def test_from_class(self, y): pass
"#;
    let scan = scan_ok(source);
    let got: Vec<_> = scan
        .tests
        .iter()
        .map(|t| (t.name.as_str(), t.parametrized))
        .collect();
    assert_eq!(
        got,
        [
            ("test_own", true),
            ("test_plain", false),
            ("TestP::test_from_class", true)
        ]
    );
    assert_eq!(
        scan.tests[0].markers,
        [marker("parametrize", json!([]), json!({}))]
    );
    let all: Vec<_> = scan.all_markers.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(all, ["parametrize", "requires_bin", "parametrize"]);
    assert_eq!(scan.all_markers[1].args, [json!("git")]);
}

#[test]
fn module_parametrize_marks_every_test() {
    let source = r#"
import pytest
pytestmark = pytest.mark.parametrize("a", [1])
def test_a(a): pass
"#;
    assert!(only_test(source).parametrized);
}

#[test]
fn all_markers_sees_everything_in_source_order() {
    let source = r#"
import pytest
pytestmark = [pytest.mark.e2e]
slow = pytest.mark.slow

@pytest.fixture(params=[pytest.param(1, marks=pytest.mark.requires_env("A"))])
def fx(request): pass

class TestC:
    pytestmark = pytest.mark.integration
    def helper(self):
        return pytest.mark.requires_service("db:5432")

@slow
def test_a(): pass
"#;
    let scan = scan_ok(source);
    let all: Vec<_> = scan.all_markers.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        all,
        [
            "e2e",
            "slow",
            "requires_env",
            "integration",
            "requires_service"
        ]
    );
    // The alias applies where it is used.
    assert_eq!(marker_names(&scan.tests[0]), ["slow", "e2e"]);
}

#[test]
fn marker_aliases_in_decorators_and_pytestmark() {
    let source = r#"
import pytest
needs_db = pytest.mark.requires_service("db:5432")
pytestmark = [needs_db, pytest.mark.unit]
@needs_db
def test_a(): pass
"#;
    let test = only_test(source);
    assert_eq!(
        marker_names(&test),
        ["requires_service", "requires_service", "unit"]
    );
    assert_eq!(test.markers[0].args, [json!("db:5432")]);
}

#[test]
fn mark_generator_bound_to_a_name() {
    let source = r#"
import pytest
mark = pytest.mark
@mark.e2e
def test_a(): pass
"#;
    assert_eq!(marker_names(&only_test(source)), ["e2e"]);
}
