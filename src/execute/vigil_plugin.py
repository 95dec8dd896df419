"""vigil's pytest plugin: streams collection and per-test reports as JSON lines.

vigil embeds this file in its binary, writes it to a cache directory named by its content hash
and loads it into every pytest worker with ``-p vigil_plugin``. It never changes what pytest
decides; it only reports it, and keeps a worker to the files vigil assigned to it.

Inputs (environment):
  VIGIL_EVENT_FD      file descriptor to write one JSON object per line to
  VIGIL_ASSIGNMENT    path of a JSON file: {"mine": [...], "others": [...],
                      "claim_unknown": bool, "exclude": [...], "capture_cap": int}
"""

import json
import os

import pytest

_PROTOCOL = 1


class _Stream:
    """Writes whole JSON lines to the event descriptor; never raises into pytest."""

    def __init__(self, fd):
        self.fd = fd

    def emit(self, **event):
        if self.fd is None:
            return
        data = (json.dumps(event, default=repr, ensure_ascii=False) + "\n").encode("utf-8", "replace")
        view = memoryview(data)
        try:
            while view:
                written = os.write(self.fd, view)
                view = view[written:]
        except OSError:
            # vigil went away: keep pytest running to its natural end rather than crash it.
            self.fd = None


def _load_assignment():
    path = os.environ.get("VIGIL_ASSIGNMENT")
    if not path:
        return None
    with open(path, encoding="utf-8") as f:
        raw = json.load(f)
    return {
        "mine": frozenset(raw.get("mine", ())),
        "others": frozenset(raw.get("others", ())),
        "claim_unknown": bool(raw.get("claim_unknown", True)),
        "exclude": frozenset(raw.get("exclude", ())),
        "capture_cap": int(raw.get("capture_cap", 1 << 20)),
    }


class VigilPlugin:
    def __init__(self, stream, assignment):
        self.stream = stream
        self.assignment = assignment
        self.cap = assignment["capture_cap"] if assignment else 1 << 20
        self.phases = {}

    # -- keeping to the assigned files ------------------------------------------------------

    def _owns(self, path):
        a = self.assignment
        if a is None or path in a["mine"]:
            return True
        if path in a["others"]:
            return False
        return a["claim_unknown"]

    def pytest_ignore_collect(self, collection_path, config):
        # Ignoring here (not deselecting later) means another worker's files are never imported.
        path = str(collection_path)
        if self.assignment is None or path in self.assignment["mine"]:
            return None
        if path in self.assignment["others"]:
            return True
        if not self.assignment["claim_unknown"] and os.path.isfile(path):
            return True
        return None

    def pytest_collectreport(self, report):
        if report.failed:
            self.stream.emit(ev="collect_error", nodeid=report.nodeid,
                             longrepr=self._cap(_longrepr_text(report)))
        elif report.skipped:
            self.stream.emit(ev="collect_skip", nodeid=report.nodeid,
                             reason=_skip_reason(report))

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session, config, items):
        # trylast: after -k/-m deselection, so only the selected items are looked at.
        a = self.assignment
        if a is None or (not a["others"] and not a["exclude"] and a["claim_unknown"]):
            return  # this worker runs everything pytest selected
        keep, drop = [], []
        owns = {}
        for item in items:
            path = item.path
            if path not in owns:
                owns[path] = self._owns(str(path))
            if not owns[path] or item.nodeid in a["exclude"]:
                drop.append(item)
            else:
                keep.append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep

    def pytest_collection_finish(self, session):
        # Batched: one line per chunk of items costs far less than one line per item.
        chunk = []
        for item in session.items:
            _, lineno, _ = item.location
            chunk.append({"nodeid": item.nodeid, "file": str(item.path),
                          "line": None if lineno is None else lineno + 1,
                          "markers": [_marker(m) for m in item.iter_markers()]})
            if len(chunk) == 500:
                self.stream.emit(ev="collected", items=chunk)
                chunk = []
        if chunk:
            self.stream.emit(ev="collected", items=chunk)
        self.stream.emit(ev="collection_done", count=len(session.items))

    # -- running ----------------------------------------------------------------------------

    def pytest_runtest_logstart(self, nodeid, location):
        self.phases[nodeid] = []
        self.stream.emit(ev="test_start", nodeid=nodeid)

    def pytest_runtest_logreport(self, report):
        self.phases.setdefault(report.nodeid, []).append(self._phase(report))
        if report.when == "teardown":
            # Captured sections accumulate across phases; the last report holds all of them.
            self.sections = [[t, self._cap(c)] for t, c in report.sections]

    def pytest_runtest_logfinish(self, nodeid, location):
        phases = self.phases.pop(nodeid, [])
        sections = getattr(self, "sections", [])
        self.sections = []
        self.stream.emit(ev="test_done", nodeid=nodeid, phases=phases, sections=sections)

    def pytest_sessionfinish(self, session, exitstatus):
        self.stream.emit(ev="session_finish", exitstatus=int(exitstatus))

    def _phase(self, report):
        phase = {"when": report.when, "outcome": report.outcome,
                 "duration": getattr(report, "duration", 0.0)}
        if hasattr(report, "wasxfail"):
            phase["wasxfail"] = str(report.wasxfail)
        if report.skipped and not hasattr(report, "wasxfail"):
            phase["reason"] = _skip_reason(report)
        elif report.longrepr is not None and report.outcome != "passed":
            phase["longrepr"] = self._cap(_longrepr_text(report))
            crash = getattr(report.longrepr, "reprcrash", None)
            if crash is not None:
                phase["crash"] = {"path": str(crash.path), "line": crash.lineno,
                                  "message": self._cap(str(crash.message))}
        return phase

    def _cap(self, text):
        if len(text) <= self.cap:
            return text
        cut = len(text) - self.cap
        return text[: self.cap] + "\n[vigil: %d more characters truncated]\n" % cut


def _longrepr_text(report):
    try:
        return report.longreprtext
    except Exception as exc:  # a broken __repr__ in a test must not break the report
        return "<vigil could not render the failure: %r>" % (exc,)


def _skip_reason(report):
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        path, lineno, message = longrepr
        return {"path": str(path), "line": lineno, "message": str(message)}
    return {"path": None, "line": None, "message": _longrepr_text(report)}


# Markers whose arguments vigil never reads and which can be huge (a parametrize list is
# repeated on every one of its items).
_NAME_ONLY_MARKERS = frozenset({"parametrize"})
_MAX_ITEMS = 20
_MAX_TEXT = 200


def _marker(mark):
    if mark.name in _NAME_ONLY_MARKERS:
        return {"name": mark.name, "args": [], "kwargs": {}}
    return {"name": mark.name, "args": [_jsonable(a, 0) for a in mark.args[:_MAX_ITEMS]],
            "kwargs": {k: _jsonable(v, 0) for k, v in list(mark.kwargs.items())[:_MAX_ITEMS]}}


def _jsonable(value, depth):
    """Scalars as they are; short lists recursively; anything else as a short repr."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value[:_MAX_TEXT]
    if isinstance(value, (list, tuple)) and depth < 2:
        return [_jsonable(v, depth + 1) for v in value[:_MAX_ITEMS]]
    try:
        return repr(value)[:_MAX_TEXT]
    except Exception:
        return "<unrepresentable %s>" % type(value).__name__


def pytest_configure(config):
    fd = os.environ.get("VIGIL_EVENT_FD")
    if fd is None or getattr(config, "workerinput", None) is not None:
        return
    stream = _Stream(int(fd))
    plugin = VigilPlugin(stream, _load_assignment())
    config.pluginmanager.register(plugin, "vigil-reporter")
    stream.emit(ev="hello", protocol=_PROTOCOL, pid=os.getpid(), pytest=pytest.__version__,
                rootdir=str(config.rootpath), inifile=str(config.inipath) if config.inipath else None)
