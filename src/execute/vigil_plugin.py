"""vigil's pytest plugin: streams collection and per-test reports as JSON lines.

vigil embeds this file in its binary, writes it to a cache directory named by its content hash
and loads it into every pytest worker with ``-p vigil_plugin``. It never changes what pytest
decides; it only reports it, and keeps a worker to the files vigil assigned to it.

Inputs (environment):
  VIGIL_EVENT_FD      file descriptor to write one JSON object per line to
  VIGIL_ASSIGNMENT    path of a JSON file: {"mine": [...], "others": [...],
                      "claim_unknown": bool, "exclude": [...], "capture_cap": int,
                      "capture_spool": str or null, "plan": {...}}   (see _Plan)

Besides reporting, the plugin applies vigil's plan to what pytest collected: it leaves out
tests of tiers not selected, skips (before they run) tests gated by a failed tier or needing a
missing capability, orders tests after the ones they depend on, and skips a test whose
prerequisite did not pass -- pytest-dependency's semantics, across files.
"""

import codecs
import glob
import hashlib
import heapq
import json
import os
import re
import shutil
import socket
import sys

import pytest

_PROTOCOL = 1
# Characters of node ids and paths per "collected" line (vigil drops lines over 32 MiB).
_CHUNK_CHARS = 1 << 20


def _surrogates(backslash):
    """An encode error handler for the lone surrogates a Python str can hold: a byte of a file
    name that was not UTF-8 (surrogateescape, U+DC80..U+DCFF) goes out as that byte, which
    vigil reads as U+FFFD as it shows such a path itself; any other surrogate (a parametrize id
    with pytest's escaping turned off) as text like `\\ud800`, as pytest prints it."""
    def handler(error):
        out = bytearray()
        for ch in error.object[error.start:error.end]:
            cp = ord(ch)
            if 0xDC80 <= cp <= 0xDCFF:
                out.append(cp - 0xDC00)
            else:
                out += ("%su%04x" % (backslash, cp)).encode("ascii")
        return bytes(out), error.end
    return handler


# Inside a JSON string the backslash itself must be escaped.
codecs.register_error("vigil-wire", _surrogates("\\\\"))
codecs.register_error("vigil-text", _surrogates("\\"))


def _as_vigil_sees(text):
    """The string vigil holds for `text` (a path or node id it sent or will receive), so the
    two compare equal whatever bytes a file name has."""
    if text.isascii():
        return text
    return text.encode("utf-8", "vigil-text").decode("utf-8", "replace")


class _Stream:
    """Writes whole JSON lines to the event descriptor; never raises into pytest."""

    def __init__(self, fd):
        self.fd = fd
        if fd is not None:
            try:
                # Processes the tests start must not hold the pipe open after this worker ends.
                os.set_inheritable(fd, False)
            except OSError:
                pass

    def emit(self, **event):
        if self.fd is None:
            return
        data = (json.dumps(event, default=repr, ensure_ascii=False) + "\n").encode("utf-8", "vigil-wire")
        view = memoryview(data)
        try:
            while view:
                written = os.write(self.fd, view)
                view = view[written:]
        except OSError:
            # vigil went away: keep pytest running to its natural end rather than crash it.
            self.fd = None


def _streams_closed(config):
    """Whether a test closed stdout or stderr: Python's streams, or the files pytest's capture
    writes them to."""
    if sys.stdout is None or sys.stderr is None or sys.stdout.closed or sys.stderr.closed:
        return True
    capman = config.pluginmanager.getplugin("capturemanager")
    capturing = getattr(capman, "_global_capturing", None)
    for name in ("out", "err"):
        tmpfile = getattr(getattr(capturing, name, None), "tmpfile", None)
        if tmpfile is not None and getattr(tmpfile, "closed", False):
            return True
    return False


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
        "capture_spool": raw.get("capture_spool"),
        "plan": _Plan(raw.get("plan") or {}),
    }


class _Plan:
    """vigil's decisions for this worker: tiers, gates and probed capabilities."""

    def __init__(self, raw):
        self.tiers = raw.get("tiers") or []
        self.run_tiers = raw.get("run_tiers")
        self.gated = raw.get("gated") or {}
        self.capabilities = raw.get("capabilities") or {}
        self.named = frozenset(raw.get("named") or ())
        self.logs = _LogWatch(raw.get("logs") or ())
        self.breaker = _Breaker(raw.get("blocked_file"))
        self.partition = _Partition(raw["partition"]) if raw.get("partition") else None
        self._tier_markers = {m: t["name"] for t in self.tiers for m in t.get("markers", ())}
        self._tier_dirs = {d: t["name"] for t in self.tiers for d in t.get("dirs", ())}

    def tier(self, item):
        """The closest tier marker, else the deepest directory (of the node id's path, which is
        relative to the rootdir) named for a tier."""
        for mark in item.iter_markers():
            if mark.name in self._tier_markers:
                return self._tier_markers[mark.name]
        parts = item.nodeid.split("::", 1)[0].split("/")[:-1]
        for part in reversed(parts):
            if part in self._tier_dirs:
                return self._tier_dirs[part]
        return "untiered"

    def requirements(self, item):
        """The key (`env:NAME`, `named:postgres`, ...) of each capability the item's markers
        ask for; vigil's probe results are keyed the same way."""
        for mark in item.iter_markers():
            if mark.name in ("requires_env", "requires_bin", "requires_service"):
                kind = mark.name[len("requires_"):]
                for arg in mark.args:
                    yield "%s:%s" % (kind, arg)
            elif mark.name == "requires":
                for arg in mark.args:
                    yield "named:%s" % (arg,)
            elif mark.name.startswith("requires_") and mark.name[9:] in self.named:
                yield "named:%s" % mark.name[9:]

    def missing(self, key):
        """The reason a capability is missing, or None. Probes vigil could not see statically
        (a marker built at run time) are checked here, once per worker."""
        if key not in self.capabilities:
            self.capabilities[key] = _probe(key)
        return self.capabilities[key]


class _Partition:
    """This machine's shard of a partitioned selection (`vigil run --partition`). vigil dealt
    files whole (`files`: relative path -> shard) and the tests of files it split one by one
    (`tests`: node id -> shard; a split file's other tests go by `files`). Anything else goes
    by the hash vigil computes for it too, so every shard decides alike."""

    def __init__(self, raw):
        self.index = int(raw["index"])
        self.total = max(1, int(raw["total"]))
        self.tests = raw.get("tests") or {}
        self.files = raw.get("files") or {}

    def owns(self, nodeid):
        nodeid = _as_vigil_sees(nodeid)
        shard = self.tests.get(nodeid)
        if shard is None:
            shard = self.files.get(nodeid.split("::", 1)[0])
        if shard is None:
            digest = hashlib.sha256(nodeid.encode("utf-8")).digest()
            shard = int.from_bytes(digest[:8], "big") % self.total
        return shard == self.index


class _Breaker:
    """Capabilities vigil's circuit breaker has opened during the run: vigil writes
    {key: reason} to a file; a test that requires one of them is skipped as blocked instead
    of failing slowly against a service that is down."""

    def __init__(self, path):
        self.path = path
        self.stamp = None
        self.open = {}

    def blocked(self, keys):
        if not self.path:
            return None
        self._reload()
        for key in keys:
            if key in self.open:
                return self.open[key]
        return None

    def _reload(self):
        try:
            stamp = os.stat(self.path).st_mtime_ns
        except OSError:
            return
        if stamp != self.stamp:
            try:
                with open(self.path, encoding="utf-8") as f:
                    self.open = json.load(f)
                self.stamp = stamp
            except (OSError, ValueError):
                pass  # vigil is replacing it: read it at the next test


class _LogWatch:
    """The log files of `[diagnose] logs`: where each ended when a test started, so the error
    lines written while it ran (in this worker) can be attached to its failure."""

    MAX_BYTES = 256 * 1024
    MAX_LINES = 50
    # What logging, tracing and panics write on an error line.
    ERROR = re.compile(r"\b(ERROR|CRITICAL|FATAL|Error|Exception|Traceback|panicked|error|fatal)\b")

    def __init__(self, patterns):
        self.patterns = list(patterns)
        self.offsets = {}

    def files(self):
        found = set()
        for pattern in self.patterns:
            found.update(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
        return sorted(found)

    def mark(self):
        if self.patterns:
            self.offsets = {path: _size(path) for path in self.files()}

    def errors_since_mark(self, rootdir):
        """[title, text] sections of the error lines written since `mark`, one per file."""
        sections = []
        for path in self.files():
            start = self.offsets.get(path, 0)
            if _size(path) < start:
                start = 0  # rotated or truncated: everything in it is new
            lines = self._error_lines(path, start)
            if lines:
                shown = os.path.relpath(path, rootdir) if rootdir else path
                sections.append(["vigil log %s" % shown, "\n".join(lines) + "\n"])
        return sections

    def _error_lines(self, path, start):
        try:
            with open(path, "rb") as f:
                f.seek(start)
                data = f.read(self.MAX_BYTES)
        except OSError:
            return []
        text = data.decode("utf-8", "replace")
        hits = [line[:500] for line in text.splitlines() if self.ERROR.search(line)]
        return hits[: self.MAX_LINES]


def _size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _probe(key):
    kind, _, what = key.partition(":")
    if kind == "env":
        return None if os.environ.get(what) else "requires env %s (not set)" % what
    if kind == "bin":
        return None if shutil.which(what) else "requires bin %s (not on PATH)" % what
    if kind == "service":
        host, _, port = what.rpartition(":")
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=2).close()
            return None
        except (OSError, ValueError) as exc:
            return "requires service %s (%s)" % (what, exc)
    return "requires %s (not a capability in vigil's config)" % what


class VigilPlugin:
    def __init__(self, stream, assignment):
        self.stream = stream
        self.assignment = assignment
        self.cap = assignment["capture_cap"] if assignment else 1 << 20
        self.spool = assignment["capture_spool"] if assignment else None
        self.phases = {}
        self.tiers = {}
        self.planned_skips = {}
        self.deps = None
        self.rootdir = None

    # -- keeping to the assigned files ------------------------------------------------------

    def _owns(self, path):
        a = self.assignment
        path = _as_vigil_sees(path)
        if a is None or path in a["mine"]:
            return True
        if path in a["others"]:
            return False
        return a["claim_unknown"]

    def pytest_ignore_collect(self, collection_path, config):
        # Ignoring here (not deselecting later) means another worker's files are never imported.
        path = _as_vigil_sees(str(collection_path))
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
        self._keep_own(config, items)
        plan = self.assignment["plan"] if self.assignment else None
        if plan is not None:
            self._apply_tiers(plan, config, items)
            self._apply_partition(plan, config, items)
            self._apply_skips(plan, items)
        self.deps = _Dependencies(items)
        items[:] = self.deps.order(items)
        if self.deps.cycle:
            # vigil finds cycles in the source first; this one was built at run time.
            self.stream.emit(ev="usage_error", message=self.deps.cycle)
            raise pytest.UsageError(self.deps.cycle)

    def _keep_own(self, config, items):
        a = self.assignment
        if a is None or (not a["others"] and not a["exclude"] and a["claim_unknown"]):
            return  # this worker runs everything pytest selected
        keep, drop = [], []
        owns = {}
        for item in items:
            path = item.path
            if path not in owns:
                owns[path] = self._owns(str(path))
            if not owns[path] or _as_vigil_sees(item.nodeid) in a["exclude"]:
                drop.append(item)
            else:
                keep.append(item)
        _deselect(config, items, keep, drop)

    def _apply_tiers(self, plan, config, items):
        self.tiers = {item.nodeid: plan.tier(item) for item in items}
        if plan.run_tiers is None:
            return
        wanted = frozenset(plan.run_tiers)
        keep = [i for i in items if self.tiers[i.nodeid] in wanted]
        drop = [i for i in items if self.tiers[i.nodeid] not in wanted]
        _deselect(config, items, keep, drop)

    def _apply_partition(self, plan, config, items):
        if plan.partition is None:
            return
        owned = [plan.partition.owns(i.nodeid) for i in items]
        keep = [i for i, mine in zip(items, owned) if mine]
        drop = [i for i, mine in zip(items, owned) if not mine]
        _deselect(config, items, keep, drop)

    def _apply_skips(self, plan, items):
        """Skip reasons known before anything runs: a failed tier gate, a missing capability.
        A skip marker makes pytest skip the test in setup, before any fixture runs."""
        for item in items:
            reason = plan.gated.get(self.tiers.get(item.nodeid))
            if reason is None:
                reason = next(filter(None, map(plan.missing, plan.requirements(item))), None)
            if reason is not None:
                self.planned_skips[item.nodeid] = reason
                item.add_marker(pytest.mark.skip(reason=reason))

    def pytest_collection_finish(self, session):
        # Batched: one line per chunk of items costs far less than one line per item.
        chunk = []
        size = 0
        deps = getattr(self, "deps", None)
        for item in session.items:
            _, lineno, _ = item.location
            entry = {"nodeid": item.nodeid, "file": str(item.path),
                     "line": None if lineno is None else lineno + 1,
                     "markers": [_marker(m) for m in item.iter_markers()],
                     "tier": self.tiers.get(item.nodeid)}
            if item.nodeid in self.planned_skips:
                entry["skip"] = self.planned_skips[item.nodeid]
            if deps is not None and item.nodeid in deps.prereqs:
                entry["after"] = [name for name, _ in deps.prereqs[item.nodeid]]
            chunk.append(entry)
            # Huge parametrize ids make a chunk big: keep each line far below vigil's limit.
            size += len(item.nodeid) + len(entry["file"])
            if len(chunk) == 500 or size > _CHUNK_CHARS:
                self.stream.emit(ev="collected", items=chunk)
                chunk = []
                size = 0
        if chunk:
            self.stream.emit(ev="collected", items=chunk)
        self.stream.emit(ev="collection_done", count=len(session.items))

    # -- running ----------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        if self.assignment:
            plan = self.assignment["plan"]
            reason = plan.breaker.blocked(plan.requirements(item))
            if reason is not None:
                pytest.skip(reason)
        if self.deps is not None:
            reason = self.deps.blocked(item)
            if reason is not None:
                pytest.skip(reason)

    def pytest_runtest_logstart(self, nodeid, location):
        self.phases[nodeid] = []
        if self.assignment:
            self.assignment["plan"].logs.mark()
        self.stream.emit(ev="test_start", nodeid=nodeid)

    def pytest_runtest_logreport(self, report):
        if self.deps is not None:
            self.deps.record(report)
        self.phases.setdefault(report.nodeid, []).append(self._phase(report))
        if report.when == "teardown":
            # Captured sections accumulate across phases; the last report holds all of them.
            self.sections = [[t, self._cap(c, (report.nodeid, t))] for t, c in report.sections]

    def pytest_runtest_logfinish(self, nodeid, location):
        phases = self.phases.pop(nodeid, [])
        sections = getattr(self, "sections", [])
        self.sections = []
        failed = any(p["outcome"] == "failed" for p in phases)
        if failed and self.assignment:
            sections.extend(self.assignment["plan"].logs.errors_since_mark(self.rootdir))
        self.stream.emit(ev="test_done", nodeid=nodeid, phases=phases, sections=sections)
        if getattr(self, "config", None) is not None and _streams_closed(self.config):
            # Every later test in this process would error in pytest's capture (plain pytest
            # stops with an INTERNALERROR): leave, and vigil restarts a worker for the rest.
            self.stream.emit(ev="notice", message="%s closed the worker's stdout or stderr; the "
                             "tests after it run in a new worker" % nodeid)
            os._exit(0)

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

    def _cap(self, text, spool_as=None):
        """At most `cap` characters of `text`, and a marker saying how many more there were
        (and, with --capture-spool, the file that holds all of them)."""
        if len(text) <= self.cap:
            return text
        cut = len(text) - self.cap
        where = _spool(self.spool, spool_as, text) if self.spool and spool_as else None
        whole = "; all of it is in %s" % where if where else ""
        return text[: self.cap] + "\n[vigil: %d more characters truncated%s]\n" % (cut, whole)


def _spool(directory, key, text):
    """Writes `text` to a file in `directory` named for the test and section; its path, or
    None when it cannot be written (the capped text is still reported)."""
    nodeid, section = key
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", "%s-%s" % (nodeid, section)).strip("_")[:120]
    digest = hashlib.sha256(("%s\0%s" % key).encode("utf-8", "replace")).hexdigest()[:12]
    path = os.path.join(directory, "%s-%s.txt" % (name, digest))
    try:
        os.makedirs(directory, exist_ok=True)
        with open(path, "w", encoding="utf-8", errors="replace") as f:
            f.write(text)
    except OSError:
        return None
    return path


def _deselect(config, items, keep, drop):
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


class _Dependencies:
    """pytest-dependency's marker, honoured across the files of this worker (vigil puts the
    files of one dependency graph in one worker): `depends` names resolve per `scope`
    (session/package: node ids; module: the id within the module; class: within the class;
    or the prerequisite's own `name=`), prerequisites are moved before their dependents, and
    a dependent of a test that did not pass is skipped, saying which and why."""

    def __init__(self, items):
        self.prereqs = {}  # nodeid -> [(name as written, prerequisite nodeid or None)]
        self.status = {}  # nodeid -> "passed" | "failed" | "skipped"
        self.cycle = None
        marked = [(i, i.get_closest_marker("dependency")) for i in items]
        if not any(m is not None and m.kwargs.get("depends") for _, m in marked):
            return
        index = _NameIndex(items)
        for item, mark in marked:
            depends = mark.kwargs.get("depends") if mark is not None else None
            if depends:
                scope = mark.kwargs.get("scope", "module")
                self.prereqs[item.nodeid] = [(n, index.resolve(item, n, scope)) for n in depends]

    def order(self, items):
        """A stable topological order: each item as early as its original place allows."""
        if not self.prereqs:
            return items
        position = {item.nodeid: n for n, item in enumerate(items)}
        waiting = {i.nodeid: {p for _, p in self.prereqs.get(i.nodeid, ()) if p in position}
                   for i in items}
        dependents = {}
        for nodeid, before in waiting.items():
            for p in before:
                dependents.setdefault(p, []).append(nodeid)
        ready = [position[n] for n, before in waiting.items() if not before]
        heapq.heapify(ready)
        ordered = []
        while ready:
            item = items[heapq.heappop(ready)]
            ordered.append(item)
            for d in dependents.get(item.nodeid, ()):
                waiting[d].discard(item.nodeid)
                if not waiting[d]:
                    heapq.heappush(ready, position[d])
        if len(ordered) < len(items):
            stuck = sorted(n for n, before in waiting.items() if before)
            self.cycle = "dependency cycle among: " + ", ".join(stuck)
            return items
        return ordered

    def record(self, report):
        # An expected failure did fail: its dependents must not run, as in pytest-dependency.
        failed = report.failed or (report.skipped and hasattr(report, "wasxfail"))
        if failed:
            self.status[report.nodeid] = "failed"
        elif report.skipped and self.status.get(report.nodeid) != "failed":
            self.status[report.nodeid] = "skipped"
        elif report.when == "call" and report.nodeid not in self.status:
            self.status[report.nodeid] = "passed"

    def blocked(self, item):
        for name, prereq in self.prereqs.get(item.nodeid, ()):
            state = self.status.get(prereq) if prereq else None
            if state == "passed":
                continue
            if state is None:
                return "depends on %s, which did not run" % name
            return "depends on %s, which %s" % (name, "failed" if state == "failed" else "was skipped")
        return None


class _NameIndex:
    """Every name an item answers to in each pytest-dependency scope."""

    def __init__(self, items):
        self.by_scope = {"session": {}, "package": {}, "module": {}, "class": {}}
        for item in items:
            for scope, key in self._keys(item).items():
                if key is not None:
                    self.by_scope[scope][key] = item.nodeid

    @staticmethod
    def _keys(item):
        mark = item.get_closest_marker("dependency")
        custom = mark.kwargs.get("name") if mark is not None else None
        return _NameIndex._scoped(item, custom)

    @staticmethod
    def _scoped(item, name):
        parts = item.nodeid.split("::")
        file = parts[0]
        package = os.path.dirname(file)
        klass = "::".join(parts[:-1]) if len(parts) > 2 else None
        return {
            "session": ("", name or item.nodeid),
            "package": (package, name or item.nodeid),
            "module": (file, name or "::".join(parts[1:])),
            "class": (klass, name or parts[-1]) if klass else None,
        }

    def resolve(self, item, name, scope):
        """The node id `name` means for `item` in `scope`, or None when nothing answers."""
        here = self._scoped(item, name).get(scope)
        if here is None:
            return None
        return self.by_scope.get(scope, {}).get(here)


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


_MARKERS = (
    "dependency(name=None, depends=[], scope='module'): run after the named tests; skip unless they passed",
    "requires_env(*names): skip unless these environment variables are set",
    "requires_bin(*names): skip unless these executables are on PATH",
    "requires_service(*addresses): skip unless host:port accepts a TCP connection",
    "requires(*names): skip unless these capabilities from vigil's config are present",
)


def _register_markers(config, plan):
    """vigil's markers are registered, so --strict-markers projects can use them."""
    lines = list(_MARKERS)
    lines += ["%s: a test of vigil's %s tier" % (m, t["name"]) for t in plan.tiers for m in t.get("markers", ())]
    lines += ["requires_%s: skip unless the %s capability is present" % (n, n) for n in sorted(plan.named)]
    for line in lines:
        config.addinivalue_line("markers", line)


def pytest_configure(config):
    fd = os.environ.get("VIGIL_EVENT_FD")
    if fd is None or getattr(config, "workerinput", None) is not None:
        return
    stream = _Stream(int(fd))
    assignment = _load_assignment()
    _register_markers(config, assignment["plan"] if assignment else _Plan({}))
    plugin = VigilPlugin(stream, assignment)
    plugin.rootdir = str(config.rootpath)
    plugin.config = config
    config.pluginmanager.register(plugin, "vigil-reporter")
    stream.emit(ev="hello", protocol=_PROTOCOL, pid=os.getpid(), pytest=pytest.__version__,
                rootdir=str(config.rootpath), inifile=str(config.inipath) if config.inipath else None)
