"""The change feeds of the fake upstream, in the real services' shapes, driven by world changes.

Every ``FakeUpstream.set_world`` is compared with the world before it, per service; each
project, gem or distribution whose entry changed (or appeared, or went away) is a change:

- **PyPI**: each event of a change (a release added, a project updated or removed) gets the
  next *serial* (one counter for the whole index, as PyPI's journal). ``POST /pypi`` answers
  the XML-RPC mirroring calls ``changelog_last_serial()`` and ``changelog_since_serial(serial)``
  (a ``methodResponse``; rows ``[name, version, timestamp, action, serial]``, oldest first,
  at most ``page`` rows a call);
  ``GET /simple/`` with ``Accept: application/vnd.pypi.simple.v1+json`` is the PEP 691
  project list (``meta._last-serial`` and every project's ``_last-serial``); the JSON API's
  ``last_serial`` and ``X-PyPI-Last-Serial`` header carry the project's serial.
- **RubyGems**: the compact index ``GET /rubygems/versions`` (``created_at:``, ``---``, then
  one ``name v1,v2,-v3 md5`` line per gem, and one more line appended per change, as the real
  file grows between its monthly rebuilds), with ``ETag``, ``If-None-Match`` (304),
  ``Range: bytes=a-`` / ``bytes=-n`` (206 with ``Content-Range``; 416 past the end) and
  ``If-Range``. ``FakeUpstream.rebuild_versions()`` compacts the file as the monthly rebuild.
- **MetaCPAN**: ``POST /metacpan/v1/release/_search`` with a ``range`` query on ``date``
  (``gte``), ``sort`` by date descending and ``size``: Elasticsearch's ``hits`` shape with
  ``_source`` ``distribution`` and ``date``. Each change is a release dated two days after
  the one before, or at the entry's ``date`` (a release indexed late).

World key ``feed`` (a table) bends the feeds for tests: ``off`` (a list of ``pypi_xmlrpc``,
``pypi_simple``, ``rubygems_range``, ``rubygems``, ``metacpan``: that endpoint answers as a
server without it does), ``page`` (rows per ``changelog_since_serial`` call, default 50000),
``journal_from`` (serials below it are gone: a cursor older than that is a fault, as a
trimmed journal), ``cpan_max`` (the most hits ``_search`` returns, default 10000). A PyPI
world entry with ``"stale": true`` is served from a stale copy: its JSON answer's serial is
below the feed's.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import xmlrpc.client
from datetime import datetime, timedelta, timezone
from typing import Any

Rendered = tuple[int, str, bytes, dict[str, str]]
CPAN_EPOCH = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
PYPI_EPOCH = 1_714_564_800  # the timestamp of serial 0
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


def _snapshot(table: Any) -> dict[str, str]:
    """name -> canonical JSON of the entry (so in-place edits of a world are seen as changes)."""
    if not isinstance(table, dict):
        return {}
    return {str(k): json.dumps(v, sort_keys=True, default=str) for k, v in table.items()}


def _pypi_versions(entry: Any) -> list[str]:
    return [str(v) for v in entry.get("versions", [])] if isinstance(entry, dict) else []


def _gem_numbers(entry: Any) -> list[str]:
    """The compact index's spelling of a gem's versions: ``1.0`` or ``1.0-java``."""
    out = []
    for e in entry if isinstance(entry, list) else []:
        if isinstance(e, dict) and "number" in e:
            platform = str(e.get("platform", "ruby"))
            out.append(str(e["number"]) + ("" if platform == "ruby" else f"-{platform}"))
    return out


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


class Feeds:
    """The feeds' state; ``update(world)`` records the changes of a new world."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.serial = 0
        self.journal: list[tuple[str, str, int, str, int]] = []  # PyPI changelog rows
        self.pypi_serials: dict[str, int] = {}  # project (as in the world) -> last serial
        self.pypi_names: dict[str, str] = {}  # normalised -> as in the world
        self.gem_lines: list[bytes] = []
        self.gem_versions: dict[str, list[str]] = {}
        self.created_at = "2024-05-01T00:00:00Z"
        self.cpan: list[tuple[str, str]] = []  # (date, distribution), oldest first
        self._seen: dict[str, dict[str, str]] = {"pypi": {}, "rubygems": {}, "metacpan": {}}
        self._ticks = 0

    def __deepcopy__(self, memo: dict[int, Any]) -> Feeds:
        return self  # the server's one state: a copied world still refers to it

    # -- world changes -----------------------------------------------------------------------
    def update(self, world: dict[str, Any]) -> None:
        with self.lock:
            self._pypi(world.get("pypi", {}))
            self._rubygems(world.get("rubygems", {}))
            self._metacpan(world.get("metacpan", {}))

    def _changed(self, service: str, table: Any) -> list[str]:
        now = _snapshot(table)
        before = self._seen[service]
        self._seen[service] = now
        return sorted(k for k in before.keys() | now.keys() if before.get(k) != now.get(k))

    def _pypi(self, table: Any) -> None:
        before = {k: json.loads(v) for k, v in self._seen["pypi"].items()}
        for name in self._changed("pypi", table):
            now = table.get(name) if isinstance(table, dict) else None
            old = set(_pypi_versions(before.get(name)))
            added = [v for v in _pypi_versions(now) if v not in old]
            if now is None:
                events = [("", "remove project")]
            elif added:
                events = [(v, "new release") for v in added]
            else:
                events = [("", "update")]
            for version, action in events:  # one journal entry, one serial, per event
                self.serial += 1
                self.journal.append((name, version, PYPI_EPOCH + self.serial, action,
                                     self.serial))
            self.pypi_serials[name] = self.serial
            self.pypi_names[normalise(name)] = name

    def _rubygems(self, table: Any) -> None:
        for gem in self._changed("rubygems", table):
            now = _gem_numbers(table.get(gem)) if isinstance(table, dict) else []
            old = self.gem_versions.get(gem, [])
            spelled = [v for v in now if v not in old] + [f"-{v}" for v in old if v not in now]
            if not spelled:  # changed flags only: the real index lists the versions again
                spelled = now or ["0"]
            self.gem_versions[gem] = now
            self.gem_lines.append(self._gem_line(gem, spelled))

    def _gem_line(self, gem: str, spelled: list[str]) -> bytes:
        md5 = hashlib.md5(f"{gem}:{','.join(spelled)}:{len(self.gem_lines)}".encode())  # noqa: S324
        return f"{gem} {','.join(spelled)} {md5.hexdigest()}\n".encode()

    def _metacpan(self, table: Any) -> None:
        for dist in self._changed("metacpan", table):
            self._ticks += 1
            entry = table.get(dist) if isinstance(table, dict) else None
            date = entry.get("date") if isinstance(entry, dict) else None
            if not isinstance(date, str):  # a release (or deletion) two days after the last
                date = (CPAN_EPOCH + timedelta(days=2 * self._ticks)).strftime(
                    "%Y-%m-%dT%H:%M:%S")
            self.cpan.append((date, dist))

    def rebuild_versions(self) -> None:
        """The monthly rebuild of RubyGems' ``versions``: one line per gem, a new date."""
        with self.lock:
            self._ticks += 1
            self.created_at = (CPAN_EPOCH + timedelta(days=31 * self._ticks)).strftime(
                "%Y-%m-%dT%H:%M:%SZ")
            self.gem_lines = [self._gem_line(g, v) for g, v in sorted(self.gem_versions.items())
                              if v]

    # -- PyPI --------------------------------------------------------------------------------
    def xmlrpc(self, world: dict[str, Any], body: bytes) -> Rendered:
        feed = world.get("feed", {})
        if "pypi_xmlrpc" in feed.get("off", []):
            return 404, "text/html", b"<html><body><h1>404 Not Found</h1></body></html>", {}
        try:
            params, method = xmlrpc.client.loads(body)
        except Exception:  # noqa: BLE001 - any unparseable request
            return 400, "text/plain", b"bad request", {}
        with self.lock:
            if method == "changelog_last_serial":
                return _xml((self.serial,))
            if method == "changelog_since_serial" and params and isinstance(params[0], int):
                since = params[0]
                if since < int(feed.get("journal_from", 0)):
                    return _xml(xmlrpc.client.Fault(
                        1, f"serial {since} is older than the journal kept"))
                page = int(feed.get("page", 50000))
                rows = [list(r) for r in self.journal if r[4] > since][:page]
                return _xml((rows,))
        return _xml(xmlrpc.client.Fault(1, f"method {method!r} is not supported"))

    def simple(self, world: dict[str, Any], accept: str) -> Rendered:
        if "pypi_simple" in world.get("feed", {}).get("off", []) or SIMPLE_JSON not in accept:
            with self.lock:
                links = "".join(f'<a href="/simple/{normalise(n)}/">{n}</a>\n'
                                for n in sorted(self.pypi_serials))
            page = f"<!DOCTYPE html><html><body>\n{links}</body></html>"
            return 200, "text/html", page.encode(), {}
        with self.lock:
            doc = {"meta": {"api-version": "1.1", "_last-serial": self.serial},
                   "projects": [{"name": n, "_last-serial": s}
                                for n, s in sorted(self.pypi_serials.items())]}
        return 200, SIMPLE_JSON, json.dumps(doc).encode(), {}

    def project_serial(self, name: str, stale: bool) -> int:
        with self.lock:
            serial = self.pypi_serials.get(name, 1)
        return max(0, serial - 1) if stale else serial

    # -- RubyGems ----------------------------------------------------------------------------
    def versions_file(self) -> bytes:
        with self.lock:
            return (f"created_at: {self.created_at}\n---\n".encode() + b"".join(self.gem_lines))

    def rubygems_versions(self, world: dict[str, Any], headers: Any, head: bool) -> Rendered:
        off = world.get("feed", {}).get("off", [])
        if "rubygems" in off:
            return 404, "text/plain", b"Not Found", {}
        body = self.versions_file()
        etag = '"' + hashlib.md5(body).hexdigest() + '"'  # noqa: S324 - an ETag
        base = {"ETag": etag, "Accept-Ranges": "bytes"}
        if headers.get("If-None-Match") == etag:
            return 304, "text/plain", b"", base
        wanted = headers.get("Range")
        if_range = headers.get("If-Range")
        if not wanted or "rubygems_range" in off or (if_range and if_range != etag):
            return 200, "text/plain", body, base
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", wanted.strip())
        if not match or not (match.group(1) or match.group(2)):
            return 200, "text/plain", body, base
        size = len(body)
        if match.group(1):
            start = int(match.group(1))
            end = min(size - 1, int(match.group(2))) if match.group(2) else size - 1
        else:
            start, end = max(0, size - int(match.group(2))), size - 1
        if start >= size or start > end:
            return 416, "text/plain", b"", {**base, "Content-Range": f"bytes */{size}"}
        return 206, "text/plain", body[start : end + 1], {
            **base, "Content-Range": f"bytes {start}-{end}/{size}"}

    # -- MetaCPAN ----------------------------------------------------------------------------
    def cpan_search(self, world: dict[str, Any], body: bytes) -> Rendered:
        feed = world.get("feed", {})
        if "metacpan" in feed.get("off", []):
            return 404, "application/json", b'{"code":404,"message":"Not found"}', {}
        try:
            query = json.loads(body or b"{}")
        except ValueError:
            return 400, "application/json", b'{"error":"bad query"}', {}
        gte = _find_gte(query) or ""
        size = min(int(query.get("size", 10)), int(feed.get("cpan_max", 10000)))
        with self.lock:
            found = sorted((r for r in self.cpan if r[0] >= gte), reverse=True)
        hits = [{"_index": "cpan_v1_01", "_type": "release", "_id": hashlib.sha1(
                    f"{d}{n}".encode()).hexdigest()[:27], "_score": None,
                 "_source": {"distribution": n, "date": d},
                 "sort": [int(datetime.fromisoformat(d + "+00:00").timestamp() * 1000)]}
                for d, n in found[:size]]
        doc = {"took": 2, "timed_out": False,
               "_shards": {"total": 3, "successful": 3, "skipped": 0, "failed": 0},
               "hits": {"total": len(found), "max_score": None, "hits": hits}}
        return 200, "application/json", json.dumps(doc).encode(), {}


def _find_gte(query: Any) -> str | None:
    """The ``gte`` of the first ``range`` on ``date`` anywhere in an Elasticsearch query."""
    if isinstance(query, dict):
        rng = query.get("range")
        if isinstance(rng, dict) and isinstance(rng.get("date"), dict):
            gte = rng["date"].get("gte")
            return str(gte) if gte is not None else None
        for value in query.values():
            found = _find_gte(value)
            if found is not None:
                return found
    elif isinstance(query, list):
        for value in query:
            found = _find_gte(value)
            if found is not None:
                return found
    return None


def _xml(result: Any) -> Rendered:
    if isinstance(result, xmlrpc.client.Fault):
        text = xmlrpc.client.dumps(result, methodresponse=True)
    else:
        text = xmlrpc.client.dumps(result, methodresponse=True, allow_none=True)
    return 200, "text/xml", text.encode(), {}
