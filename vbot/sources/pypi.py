"""PyPI: recipe URLs shaped ``/packages/source/<c>/<name>/<file>`` or hashed file URLs.

``GET {url}/pypi/<name>/json``; every release with at least one non-yanked file is a candidate
(the others are set aside, and ``vbot check`` says why).
The API base URL has no built-in default: ``VBOT_PYPI_URL`` or ``[sources.pypi] url``.

Change feed (``changes``): PyPI numbers every change of the index with a *serial*. The cursor
is ``{"serial": N, "server": <hash of the base URL>}`` (a cursor of another server is
unknown). The current serial comes from the XML-RPC mirroring call ``changelog_last_serial``
(``POST {url}/pypi``), the changed projects from ``changelog_since_serial(cursor)``, paged by
the last serial seen (a call answers a bounded number of rows) until caught up with the serial
taken first. A server without XML-RPC falls back to the PEP 691 JSON index
(``GET {url}/simple/``: every project with its ``_last-serial``); a server with neither has
no feed (every node is checked). Names are compared normalised (PEP 503).

Stale copies: a CDN can serve an old copy of a project's JSON document. Its ``last_serial``
(or ``X-PyPI-Last-Serial``) below the serial the feed gave the project means the copy predates
the change: the check fails as transient (the earlier result is kept, the node is checked
again). The serials come from this source instance's ``changes`` call (``feed_serials``).
"""

from __future__ import annotations

import re
import xmlrpc.client
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from vbot.errors import UpstreamError
from vbot.httpclient.client import JsonDigest
from vbot.redact import redact
from vbot.repo.nodeinfo import NodeInfo
from vbot.sources.base import Changes, Source
from vbot.sources.feedutil import server_id, whole

_SOURCE_PATH = re.compile(r"/packages/source/[^/]/(?P<name>[^/]+)/[^/]+$")
_HASHED_PATH = re.compile(r"/packages/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{20,}/(?P<file>[^/]+)$")
_SDIST_EXT = re.compile(r"\.(tar\.gz|tar\.bz2|tar\.xz|zip|tgz)$")


def name_from_file(filename: str, version: str | None) -> str | None:
    if filename.endswith(".whl"):
        return filename.split("-", 1)[0]
    stem = _SDIST_EXT.sub("", filename)
    if version and stem.endswith(f"-{version}"):
        return stem[: -len(version) - 1]
    match = re.match(r"^(?P<name>.+?)-[0-9]", stem)
    return match.group("name") if match else None


def package_from_url(url: str, version: str | None, path: str | None = None) -> str | None:
    """The PyPI project of a recipe URL (``path``: its path, when the caller split it)."""
    path = unquote(urlsplit(url).path if path is None else path)
    match = _SOURCE_PATH.search(path)
    if match:
        return match.group("name")
    match = _HASHED_PATH.search(path)
    if match:
        return name_from_file(match.group("file"), version)
    return None


class PyPI(Source[str]):
    name = "pypi"
    url_env = ("VBOT_PYPI_URL",)
    default_url = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # normalised project -> the highest serial the change feed gave it this sweep
        self.feed_serials: dict[str, int] = {}

    def match(self, node: NodeInfo) -> str | None:
        for url in node.urls:
            parts = urlsplit(url)
            if parts.scheme in ("http", "https"):
                found = package_from_url(url, node.version, parts.path)
                if found:
                    return found
        return None

    async def versions(self, target: str, node: NodeInfo) -> list[str]:
        resp = await self.ctx.http.get(f"{self.base_url()}/pypi/{quote(target)}/json",
                                       digest=RELEASED.digest)
        found = resp.json()
        if not isinstance(found, dict) or not isinstance(found.get("versions"), list):
            # only a damaged cache entry can be anything else
            raise UpstreamError(f"unexpected answer for {target}: no 'releases' mapping")
        expected = self.feed_serials.get(normalise(target))
        if expected is not None:
            serial = whole(found.get("serial"))
            if serial is None:
                serial = whole(resp.headers.get("X-PyPI-Last-Serial"))
            if serial is not None and serial < expected:
                raise UpstreamError(f"stale copy of {target}: serial {serial} below the "
                                    f"feed's {expected}", transient=True)
        for key, why in DROPS.items():
            for version in found.get(key) or ():
                node.note(str(version), why)
        return [str(v) for v in found["versions"]]

    def feed_key(self, target: str) -> str | None:
        return normalise(target)

    def feed_state(self) -> dict[str, int] | None:
        """The feed's serial per changed project: a worker's stale-copy check needs them."""
        return dict(self.feed_serials) or None

    def adopt_feed_state(self, state: Any) -> None:
        self.feed_serials = dict(state)

    async def changes(self, cursor: Any) -> Changes | None:
        self.feed_serials = {}
        try:
            base = self.base_url()
        except Exception:  # noqa: BLE001 - a missing setting: the checks will say so
            return Changes(None, None, "pypi: not configured, no change feed")
        server = server_id(base)
        since = None
        if (isinstance(cursor, dict) and cursor.get("server") == server
                and whole(cursor.get("serial")) is not None):
            since = whole(cursor.get("serial"))
        try:
            serial, changed, note = await self._xmlrpc_changes(base, since)
        except _NoFeed as exc:
            try:
                serial, changed, note = await self._simple_changes(base, since)
            except _NoFeed as exc2:
                return Changes(None, None, f"pypi: the server has no changelog feed "
                                           f"({exc.reason}; {exc2.reason})")
            except UpstreamError as err:
                return Changes(None, None, f"pypi: the change feed failed ({err.reason})")
        except UpstreamError as err:
            return Changes(cursor, None, f"pypi: the change feed failed ({err.reason})")
        new_cursor = {"serial": serial, "server": server}
        if cursor is None:
            note = "pypi: no earlier cursor"
        elif since is None:
            note = "pypi: the cursor is unknown (another server, or not a serial)"
        if changed is None:
            return Changes(new_cursor, None, note)
        return Changes(new_cursor, frozenset(changed), note)

    async def _call(self, base: str, method: str, *params: Any) -> Any:
        """One XML-RPC call; a server without the endpoint raises ``_NoFeed``."""
        url = f"{base}/pypi"
        body = xmlrpc.client.dumps(params, method).encode()
        resp = await self.ctx.http.request("POST", url, {"Content-Type": "text/xml"},
                                           ok=(200, 404, 405, 501), body=body)
        if resp.status != 200:
            raise _NoFeed(f"HTTP {resp.status} from {redact(url)}")
        try:
            (result,), _ = xmlrpc.client.loads(resp.body)
        except xmlrpc.client.Fault as fault:
            raise UpstreamError(f"{method}: {str(fault.faultString)[:200]}") from None
        except Exception:  # noqa: BLE001 - HTML or anything else that is not XML-RPC
            raise _NoFeed(f"no XML-RPC answer from {redact(url)}") from None
        return result

    async def _xmlrpc_changes(self, base: str,
                              since: int | None) -> tuple[int, set[str] | None, str]:
        current = whole(await self._call(base, "changelog_last_serial"))
        if current is None:
            raise _NoFeed("changelog_last_serial answered no serial")
        if since is None:
            return current, None, ""
        if since > current:
            return current, None, (f"pypi: the cursor {since} is ahead of the server's "
                                   f"serial {current}")
        try:
            return await self._pages(base, since, current)
        except UpstreamError as err:  # e.g. a cursor older than the journal the server keeps
            return current, None, f"pypi: the change feed failed ({err.reason})"

    async def _pages(self, base: str, since: int,
                     current: int) -> tuple[int, set[str] | None, str]:
        """``changelog_since_serial`` from ``since``, paged by the last serial seen."""
        seen, changed = since, set()
        for _ in range(MAX_PAGES):
            if seen >= current:
                break
            rows = await self._call(base, "changelog_since_serial", seen)
            if not isinstance(rows, list):
                raise UpstreamError("changelog_since_serial answered no list of rows")
            if not rows:
                break  # serials without rows (hidden events): nothing more to learn
            for row in rows:
                if (not isinstance(row, (list, tuple)) or len(row) < 5
                        or not isinstance(row[0], str) or whole(row[4]) is None):
                    raise UpstreamError(f"changelog_since_serial: malformed row {row!r:.80}")
                name, serial = normalise(row[0]), int(row[4])
                changed.add(name)
                seen = max(seen, serial)
                if serial > self.feed_serials.get(name, 0):
                    self.feed_serials[name] = serial
        else:
            return max(seen, current), None, (f"pypi: more than {MAX_PAGES} pages of changes "
                                              f"since serial {since}")
        return max(seen, current), changed, ""

    async def _simple_changes(self, base: str,
                              since: int | None) -> tuple[int, set[str] | None, str]:
        """The PEP 691 JSON index: every project with its ``_last-serial``."""
        url = f"{base}/simple/"
        resp = await self.ctx.http.request("GET", url, {"Accept": SIMPLE_JSON},
                                           ok=(200, 404, 406))
        if resp.status != 200 or "json" not in resp.headers.get("Content-Type", ""):
            raise _NoFeed(f"no PEP 691 JSON index at {redact(url)}")
        doc = resp.json()
        meta = doc.get("meta") if isinstance(doc, dict) else None
        current = whole(meta.get("_last-serial")) if isinstance(meta, dict) else None
        projects = doc.get("projects") if isinstance(doc, dict) else None
        if current is None or not isinstance(projects, list):
            raise _NoFeed(f"the JSON index at {redact(url)} has no serials")
        if since is None:
            return current, None, ""
        if since > current:
            return current, None, (f"pypi: the cursor {since} is ahead of the server's "
                                   f"serial {current}")
        changed = set()
        for entry in projects:
            name = entry.get("name") if isinstance(entry, dict) else None
            serial = whole(entry.get("_last-serial")) if isinstance(entry, dict) else None
            if not isinstance(name, str):
                continue
            if serial is None or serial > since:  # no serial: cannot tell, so changed
                key = normalise(name)
                changed.add(key)
                if serial is not None and serial > self.feed_serials.get(key, 0):
                    self.feed_serials[key] = serial
        return current, changed, ""


class _NoFeed(Exception):
    """The server has no such feed (not a failure of one it has)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


MAX_PAGES = 40  # changelog_since_serial calls per sweep (PyPI answers 50,000 rows a call)
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


def normalise(name: str) -> str:
    """PEP 503's normalised project name, the key the feed and the nodes are matched by."""
    return re.sub(r"[-_.]+", "-", name).lower()


# the releases a check sets aside, by digest key, and why
DROPS = {"yanked": "yanked on PyPI (every file)", "no_files": "no files on PyPI"}


def _released(doc: object) -> dict[str, Any]:
    """``versions``: every release with at least one non-yanked file (all a check needs of a
    document that can be large); ``yanked`` and ``no_files``: the others, kept so that
    ``vbot check`` can say why they were set aside; ``serial``: the document's serial (to tell
    a stale copy)."""
    releases = doc.get("releases") if isinstance(doc, dict) else None
    if not isinstance(releases, dict):
        raise UpstreamError("unexpected answer from PyPI: no 'releases' mapping")
    out: dict[str, Any] = {"versions": [], "yanked": [], "no_files": []}
    for version, files in releases.items():
        entries = [f for f in files if isinstance(f, dict)] if isinstance(files, list) else []
        if any(not f.get("yanked", False) for f in entries):
            out["versions"].append(version)
        else:
            out["yanked" if entries else "no_files"].append(version)
    out["serial"] = whole(doc.get("last_serial"))
    return out


RELEASED = JsonDigest("pypi-released-3", _released)
