//! Tests of which items are collected, in what order, and the caveats: pytest's collection rules.

use super::{ids, marker_names, scan_ok};

#[test]
fn module_functions_sync_and_async_with_def_lines() {
    let source = r#"
import pytest

def test_a():
    def test_nested():  # nested in a function: not a test
        pass

@pytest.mark.x
async def test_b():
    pass

def helper():
    pass

def testing_prefix_counts():
    pass
"#;
    let scan = scan_ok(source);
    let got: Vec<_> = scan
        .tests
        .iter()
        .map(|t| (t.name.as_str(), t.line))
        .collect();
    assert_eq!(
        got,
        [("test_a", 4), ("test_b", 9), ("testing_prefix_counts", 15)]
    );
    assert!(scan.caveats.is_empty());
}

#[test]
fn test_classes_nested_classes_and_skipped_constructors() {
    let source = r#"
class TestC:
    def test_m(self): pass
    def helper(self): pass
    @staticmethod
    def test_static(): pass
    @classmethod
    def test_cls(cls): pass

class Helper:
    def test_not_collected(self): pass

class TestInit:
    def __init__(self): pass
    def test_no(self): pass

class TestNew:
    def __new__(cls): pass
    def test_no(self): pass

class TestOuter:
    def test_first(self): pass
    class TestInner:
        def test_x(self): pass
        class TestDeepest:
            def test_y(self): pass
    class NotATestClass:
        def test_z(self): pass
    def test_last(self): pass
"#;
    assert_eq!(
        ids(source),
        [
            "TestC::test_m",
            "TestC::test_static",
            "TestC::test_cls",
            "TestOuter::test_first",
            "TestOuter::TestInner::test_x",
            "TestOuter::TestInner::TestDeepest::test_y",
            "TestOuter::test_last",
        ]
    );
}

#[test]
fn unittest_cases_whatever_their_name_with_sorted_methods() {
    let source = r#"
import unittest
from unittest import TestCase

class Checks(unittest.TestCase):
    def __init__(self, *a): super().__init__(*a)  # unittest classes may have one
    def test_z(self): pass
    def test_a(self): pass
    def helper(self): pass
    class TestNested:  # unittest collection takes methods only
        def test_n(self): pass

class More(TestCase):
    def test_m(self): pass

class TestAsync(unittest.IsolatedAsyncioTestCase):
    async def test_io(self): pass
"#;
    let scan = scan_ok(source);
    let names: Vec<_> = scan.tests.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Checks::test_a",
            "Checks::test_z",
            "More::test_m",
            "TestAsync::test_io"
        ]
    );
    assert!(scan.caveats.is_empty(), "{:?}", scan.caveats);
}

#[test]
fn inherited_tests_and_markers_follow_pytest() {
    // The same file run through pytest 9.2 (`--collect-only`, iter_markers) gave these.
    let source = r#"
import pytest

class Base:
    pytestmark = pytest.mark.basebody
    def test_inherited(self): pass
    def test_over(self): pass

@pytest.mark.clsdec_top
@pytest.mark.clsdec_bottom
class TestA(Base):
    pytestmark = [pytest.mark.body1, pytest.mark.body2]
    @pytest.mark.m
    def test_m(self): pass
    def test_over(self): pass
    class TestInner:
        pytestmark = pytest.mark.inner
        def test_x(self): pass

class TestB(TestA):
    def test_b(self): pass
"#;
    let class_marks = ["basebody", "body1", "body2", "clsdec_bottom", "clsdec_top"];
    let with = |first: &[&'static str]| -> Vec<&'static str> {
        first.iter().chain(class_marks.iter()).copied().collect()
    };
    let scan = scan_ok(source);
    let got: Vec<_> = scan
        .tests
        .iter()
        .map(|t| (t.name.as_str(), marker_names(t)))
        .collect();
    assert_eq!(
        got,
        [
            ("TestA::test_inherited", with(&[])),
            ("TestA::test_m", with(&["m"])),
            ("TestA::test_over", with(&[])),
            ("TestA::TestInner::test_x", with(&["inner"])),
            ("TestB::test_inherited", with(&[])),
            ("TestB::test_m", with(&["m"])),
            ("TestB::test_over", with(&[])),
            ("TestB::TestInner::test_x", with(&["inner"])),
            ("TestB::test_b", with(&[])),
        ]
    );
    // test_over comes from TestA's body, not Base's.
    assert_eq!(scan.tests[2].line, 15);
    assert!(scan.caveats.is_empty(), "{:?}", scan.caveats);
}

#[test]
fn diamond_inheritance_uses_c3_order() {
    let source = r#"
class A:
    def test_a(self): pass
class B(A):
    def test_b(self): pass
class C(A):
    def test_c(self): pass
class TestD(B, C):
    def test_d(self): pass
"#;
    // MRO D, B, C, A: groups come farthest base first.
    assert_eq!(
        ids(source),
        [
            "TestD::test_a",
            "TestD::test_c",
            "TestD::test_b",
            "TestD::test_d"
        ]
    );
}

#[test]
fn cyclic_or_self_bases_do_not_loop() {
    let source = r#"
class TestA(TestB):
    def test_a(self): pass
class TestB(TestA):
    def test_b(self): pass
class TestC(TestC):
    def test_c(self): pass
"#;
    let got = ids(source);
    assert!(got.contains(&"TestC::test_c".to_string()), "{got:?}");
}

#[test]
fn duplicate_names_keep_first_position_and_last_definition() {
    let source = r#"
def test_dup(): pass
def test_other(): pass
def test_dup(): pass
"#;
    let scan = scan_ok(source);
    let got: Vec<_> = scan
        .tests
        .iter()
        .map(|t| (t.name.as_str(), t.line))
        .collect();
    assert_eq!(got, [("test_dup", 4), ("test_other", 3)]);
}

#[test]
fn rebinding_to_a_value_hides_and_aliasing_a_function_collects() {
    let source = r#"
def test_gone(): pass
test_gone = None
def test_a(): pass
test_alias = test_a
"#;
    assert_eq!(ids(source), ["test_a", "test_alias"]);
}

#[test]
fn fixtures_named_like_tests_are_not_tests() {
    let source = r#"
import pytest
from pytest import fixture
import pytest_asyncio

@pytest.fixture
def test_data(): pass
@fixture(scope="module")
def test_other(): pass
@pytest_asyncio.fixture
async def test_async(): pass
def test_real(test_data): pass
"#;
    assert_eq!(ids(source), ["test_real"]);
}

#[test]
fn dunder_test_flag_and_abstract_classes() {
    let source = r#"
import abc

class TestOff:
    __test__ = False
    def test_q(self): pass

class Checks:
    __test__ = True
    def test_on(self): pass

class TestAbstract(abc.ABC):
    @abc.abstractmethod
    def make(self): ...
    def test_shared(self): pass

class TestConcrete(TestAbstract):
    def make(self): return 1
"#;
    assert_eq!(
        ids(source),
        ["Checks::test_on", "TestConcrete::test_shared"]
    );
}

#[test]
fn conditional_and_guarded_definitions_are_read() {
    let source = r#"
import sys
try:
    import numpy
except ImportError:
    numpy = None

if sys.platform == "win32":
    def test_windows(): pass
else:
    def test_posix(): pass

with open(__file__):
    def test_in_with(): pass

class TestC:
    if True:
        def test_guarded(self): pass
"#;
    assert_eq!(
        ids(source),
        [
            "test_windows",
            "test_posix",
            "test_in_with",
            "TestC::test_guarded"
        ]
    );
}

#[test]
fn caveats_for_what_lives_elsewhere() {
    let source = r#"
from .common import BaseTests, test_shared, test_redefined, APITestBase
from helpers import *

def test_redefined(): pass

class TestX(BaseTests):
    def test_own(self): pass

class Checks(APITestBase):  # maybe a unittest.TestCase
    def test_c(self): pass

class Error(ValueError):  # not test-like: no caveat
    pass

class TestGen:
    def pytest_generate_tests(self, metafunc): pass
    def test_g(self, x): pass

def pytest_generate_tests(metafunc): pass
"#;
    let scan = scan_ok(source);
    assert_eq!(
        scan.tests
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        ["test_redefined", "TestX::test_own", "TestGen::test_g"]
    );
    assert_eq!(
        scan.caveats,
        [
            "imports `test_shared`: pytest collects it if it is a test",
            "`import *`: pytest collects any test it brings in",
            "pytest_generate_tests in the module: tests may be parametrized",
            "TestX inherits from `BaseTests`, defined in another module",
            "Checks inherits from `APITestBase`, defined in another module",
            "pytest_generate_tests in TestGen: tests may be parametrized",
        ]
    );
}
