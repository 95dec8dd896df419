"""The plugin's planning logic on real pytest items (made by pytester): tiers, capability
keys, dependency names, the stable topological order and the skip reasons."""

import vigil_plugin

TIERS = [
    {"name": "unit", "dirs": ["unit"], "markers": ["unit"]},
    {"name": "e2e", "dirs": ["e2e"], "markers": ["e2e", "end_to_end"]},
]


def _items(pytester, source, path="test_mod.py"):
    pytester.makepyfile(**{path.removesuffix(".py"): source})
    return pytester.getitems(pytester.path / path)


def test_a_tier_marker_beats_the_directory(pytester):
    pytester.mkpydir("unit")
    items = _items(pytester, """
import pytest
def test_plain(): pass
@pytest.mark.end_to_end
def test_marked(): pass
""", "unit/test_x.py")
    plan = vigil_plugin._Plan({"tiers": TIERS})
    assert [plan.tier(i) for i in items] == ["unit", "e2e"]


def test_untiered_without_marker_or_directory(pytester):
    items = _items(pytester, "def test_a(): pass\n")
    assert vigil_plugin._Plan({"tiers": TIERS}).tier(items[0]) == "untiered"


def test_requirement_keys_cover_each_marker_form(pytester):
    items = _items(pytester, """
import pytest
@pytest.mark.requires_env("A", "B")
@pytest.mark.requires_bin("git")
@pytest.mark.requires_service("127.0.0.1:5432")
@pytest.mark.requires("pg")
@pytest.mark.requires_gemini
@pytest.mark.requires_unrelated
def test_a(): pass
""")
    plan = vigil_plugin._Plan({"named": ["pg", "gemini"]})
    assert sorted(plan.requirements(items[0])) == sorted([
        "env:A", "env:B", "bin:git", "service:127.0.0.1:5432", "named:pg", "named:gemini",
    ])


def test_probes_unknown_keys_in_the_worker(monkeypatch):
    monkeypatch.setenv("VIGIL_PLUGIN_TEST_SET", "1")
    monkeypatch.delenv("VIGIL_PLUGIN_TEST_UNSET", raising=False)
    plan = vigil_plugin._Plan({"capabilities": {"env:KNOWN": "told by vigil"}})
    assert plan.missing("env:KNOWN") == "told by vigil"
    assert plan.missing("env:VIGIL_PLUGIN_TEST_SET") is None
    assert plan.missing("env:VIGIL_PLUGIN_TEST_UNSET") == "requires env VIGIL_PLUGIN_TEST_UNSET (not set)"
    assert plan.missing("named:nope").startswith("requires nope")


def test_prerequisites_move_before_dependents_and_nothing_else_moves(pytester):
    items = _items(pytester, """
import pytest
@pytest.mark.dependency(depends=["test_c"])
def test_a(): pass
def test_b(): pass
@pytest.mark.dependency()
def test_c(): pass
def test_d(): pass
""")
    deps = vigil_plugin._Dependencies(items)
    order = [i.name for i in deps.order(items)]
    assert order == ["test_b", "test_c", "test_a", "test_d"]
    assert deps.cycle is None


def test_names_resolve_per_scope(pytester):
    items = _items(pytester, """
import pytest
class TestK:
    @pytest.mark.dependency(name="first")
    def test_one(self): pass
    @pytest.mark.dependency(depends=["test_two"], scope="class")
    def test_three(self): pass
    def test_two(self): pass
@pytest.mark.dependency(depends=["first", "TestK::test_two"])
def test_module(): pass
@pytest.mark.dependency(depends=["test_mod.py::TestK::test_two"], scope="session")
def test_session(): pass
""")
    deps = vigil_plugin._Dependencies(items)
    resolved = {k.split("::")[-1]: [p for _, p in v] for k, v in deps.prereqs.items()}
    assert resolved == {
        "test_three": ["test_mod.py::TestK::test_two"],
        "test_module": ["test_mod.py::TestK::test_one", "test_mod.py::TestK::test_two"],
        "test_session": ["test_mod.py::TestK::test_two"],
    }


def test_a_cycle_is_reported_with_the_tests_in_it(pytester):
    items = _items(pytester, """
import pytest
@pytest.mark.dependency(depends=["test_b"])
def test_a(): pass
@pytest.mark.dependency(depends=["test_a"])
def test_b(): pass
def test_c(): pass
""")
    deps = vigil_plugin._Dependencies(items)
    assert deps.order(items) == items
    assert deps.cycle == "dependency cycle among: test_mod.py::test_a, test_mod.py::test_b"


def test_skip_reasons_name_the_prerequisite_and_what_happened(pytester):
    result = pytester.runpytest_inprocess("-p", "vigil_plugin", "-rs", plugins=[])
    assert result.ret == 5  # nothing collected yet: the plugin loads and stays quiet without vigil
    pytester.makepyfile(test_flow="""
import pytest
@pytest.mark.dependency(depends=["test_fails"])
def test_after_failure(): pass
@pytest.mark.dependency(depends=["test_after_failure"])
def test_after_skip(): pass
@pytest.mark.dependency(depends=["test_missing_from_run"])
def test_after_deselected(): pass
def test_fails(): assert False
def test_missing_from_run(): pass
""")
    plugin = vigil_plugin.VigilPlugin(vigil_plugin._Stream(None), None)
    result = pytester.runpytest_inprocess("-rs", "--deselect", "test_flow.py::test_missing_from_run",
                                          plugins=[plugin])
    result.assert_outcomes(failed=1, skipped=3, deselected=1)
    result.stdout.fnmatch_lines_random([
        "*depends on test_fails, which failed*",
        "*depends on test_after_failure, which was skipped*",
        "*depends on test_missing_from_run, which did not run*",
    ])
