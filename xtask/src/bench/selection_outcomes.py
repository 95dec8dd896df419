"""A pytest plugin for the selection bench: writes the collected node ids and the node ids
of everything that failed (a failed setup, call or teardown, or a collection error) to the
JSON file named by VIGIL_BENCH_OUTCOMES when the session ends. Node ids are what
`vigil list` prints, so the two compare as strings."""
import json
import os

_collected = []
_failed = []


def pytest_collectreport(report):
    if report.failed:
        _failed.append(report.nodeid)


def pytest_collection_finish(session):
    _collected.extend(item.nodeid for item in session.items)


def pytest_runtest_logreport(report):
    if report.failed:
        _failed.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    out = {"collected": _collected, "failed": list(dict.fromkeys(_failed)), "exit": int(exitstatus)}
    with open(os.environ["VIGIL_BENCH_OUTCOMES"], "w", encoding="utf-8") as f:
        json.dump(out, f)
