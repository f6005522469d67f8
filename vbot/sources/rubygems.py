"""RubyGems: recipe URLs ``/downloads/<gem>-<ver>.gem`` (or ``/gems/…``) on rubygems.org.

``GET {url}/api/v1/versions/<gem>.json``: a list of version objects, newest first; every
``number`` whose ``prerelease`` is false is a candidate (platform builds repeat a number,
which is harmless); the numbers RubyGems flags ``prerelease`` are set aside, and ``vbot check``
shows them with that reason. The API base URL is ``VBOT_RUBYGEMS_URL`` or
``[sources.rubygems] url``, by default ``https://rubygems.org``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from vbot.errors import UpstreamError
from vbot.httpclient.client import JsonDigest, Response
from vbot.redact import redact
from vbot.repo.nodeinfo import NodeInfo
from vbot.sources.base import Changes, Source, first_match
from vbot.sources.feedutil import server_id, whole

HOSTS = ("rubygems.org",)
# a gem file: <name>-<version>[-<platform>].gem; the name may hold dashes and underscores,
# so it ends at the last "-" followed by a digit
_GEM = re.compile(r"^/(?:downloads|gems)/(?P<file>[^/]+)\.gem$")
_SPLIT = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)-(?P<ver>[0-9][^-/]*)(?:-[A-Za-z][^/]*)?$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _on_rubygems(host: str) -> bool:
    return any(host == h or host.endswith("." + h) for h in HOSTS)


def gem_from_file(stem: str, version: str | None) -> str | None:
    """``net-ssh-6.1.0`` -> ``net-ssh``; the recipe's version, when given, decides the split."""
    if version and stem.endswith(f"-{version}") and _NAME.match(stem[: -len(version) - 1]):
        return stem[: -len(version) - 1]
    match = _SPLIT.match(stem)
    return match.group("name") if match and _NAME.match(match.group("name")) else None


def gem_from_url(url: str, version: str | None = None) -> str | None:
    """The gem of a RubyGems download URL, else None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not _on_rubygems((parts.hostname or "").lower()):
        return None
    match = _GEM.match(unquote(parts.path))
    return gem_from_file(match.group("file"), version) if match else None


# -- the change feed: the compact index's ``versions`` file ----------------------------------
TAIL = 64  # bytes of the file's end kept in the cursor, to recognise the same file next time
_CONTENT_RANGE = re.compile(r"^bytes\s+(?P<first>\d+)-(?P<last>\d+)/(?P<total>\d+|\*)$")


class _Restart(Exception):
    """The file is not the one the cursor saw (rebuilt, replaced): start over."""


def _cursor_of(end: int, data: bytes, etag: str | None, server: str) -> dict[str, Any] | None:
    """The cursor after a read whose ``data`` ended at byte ``end`` of the file: at the end of
    its last whole line (a line still being written is read again next time), with the last
    ``TAIL`` bytes up to there. None when ``data`` holds no line end."""
    cut = data.rfind(b"\n")
    if cut < 0:
        return None
    whole_end = end - (len(data) - cut - 1)
    partial = whole_end != end
    return {"size": whole_end, "tail": data[max(0, cut + 1 - TAIL) : cut + 1].decode("latin-1"),
            "etag": None if partial else etag, "server": server}


def _latin1(text: str) -> bool:
    """Whether ``text`` spells bytes (a tail is stored as latin-1 text)."""
    return all(ord(c) < 256 for c in text)


def changed_gems(appended: bytes) -> set[str]:
    """The gems named by whole lines of the ``versions`` file (``name v1,v2,-v3 md5``)."""
    out = set()
    for line in appended.decode("utf-8", "replace").splitlines():
        name = line.split(" ", 1)[0]
        if name and line != "---" and not line.startswith("created_at:"):
            out.add(name)
    return out


class RubyGems(Source[str]):
    """Change feed: the compact index ``GET {url}/versions`` only grows between its rebuilds
    (about monthly): a line ``name v1,v2,-v3 md5`` is appended for each change of a gem. The
    cursor ``{"size", "tail", "etag", "server"}`` is where the last read ended, the file's last
    bytes up to there and its ETag. The next read asks ``Range: bytes=<size - len(tail)>-``
    with ``If-None-Match`` (as Bundler reads it): a 304 is nothing new; a 206 (or a 200 of
    the whole file) that starts with the same ``tail`` at the same place gives the appended
    lines, whose gems changed; anything else (a rebuilt file: another tail, a 416 for a file
    now shorter) starts over and every gem node is checked once."""

    name = "rubygems"
    url_env = ("VBOT_RUBYGEMS_URL",)
    default_url = "https://rubygems.org"

    def match(self, node: NodeInfo) -> str | None:
        return first_match(node.urls, lambda url: gem_from_url(url, node.version))

    def feed_key(self, target: str) -> str | None:
        return target

    async def changes(self, cursor: Any) -> Changes | None:
        try:
            base = self.base_url()
        except Exception:  # noqa: BLE001 - a missing setting: the checks will say so
            return Changes(None, None, "rubygems: not configured, no change feed")
        url, server = f"{base}/versions", server_id(base)
        valid = (isinstance(cursor, dict) and cursor.get("server") == server
                 and isinstance(cursor.get("tail"), str)
                 and 0 < len(cursor["tail"]) <= (whole(cursor.get("size")) or 0)
                 and cursor["tail"].endswith("\n") and _latin1(cursor["tail"])
                 and isinstance(cursor.get("etag"), (str, type(None))))
        try:
            if valid:
                try:
                    return await self._append(url, server, cursor)
                except _Restart as why:
                    note = f"rubygems: the versions file was rebuilt or replaced ({why})"
            else:
                note = ("rubygems: no earlier cursor" if cursor is None
                        else "rubygems: the cursor is unknown (another server, or malformed)")
            return Changes(await self._probe(url, server), None, note)
        except UpstreamError as err:
            return Changes(cursor if valid else None, None,
                           f"rubygems: the change feed failed ({err.reason})")

    async def _get(self, url: str, headers: dict[str, str]) -> Response:
        # identity: byte offsets are offsets of the file, not of a compressed stream
        return await self.ctx.http.request("GET", url, {**headers, "Accept-Encoding": "identity"},
                                           ok=(200, 206, 304, 416))

    async def _append(self, url: str, server: str, cursor: dict[str, Any]) -> Changes:
        size, tail = whole(cursor["size"]) or 0, cursor["tail"].encode("latin-1")
        start = size - len(tail)
        headers = {"Range": f"bytes={start}-"}
        if cursor.get("etag"):
            headers["If-None-Match"] = cursor["etag"]
        resp = await self._get(url, headers)
        etag = resp.headers.get("ETag")
        if resp.status == 304:
            return Changes(cursor, frozenset())
        if resp.status == 416:
            raise _Restart("HTTP 416: the file is now shorter than the cursor")
        if resp.status == 206:
            found = _CONTENT_RANGE.match(resp.headers.get("Content-Range", "").strip())
            if not found or int(found.group("first")) != start:
                raise _Restart("a 206 for another range")
            data = resp.body
        else:  # a 200: the whole file (a server or proxy that ignores Range)
            data = resp.body[start:]
        if not data.startswith(tail):
            raise _Restart("its bytes at the cursor differ")
        new = data[len(tail) :]
        end = size + len(new)
        moved = _cursor_of(end, tail + new, etag, server) or cursor
        complete = new[: max(0, moved["size"] - size)]
        return Changes(moved, frozenset(changed_gems(complete)))

    async def _probe(self, url: str, server: str) -> dict[str, Any] | None:
        """A cursor at the file's current end: its last ``TAIL`` bytes (a suffix range)."""
        resp = await self._get(url, {"Range": f"bytes=-{TAIL}"})
        if resp.status == 206:
            found = _CONTENT_RANGE.match(resp.headers.get("Content-Range", "").strip())
            if not found:
                raise UpstreamError(f"a 206 without a byte range from {redact(url)}")
            end = int(found.group("last")) + 1
        elif resp.status == 200:
            end = len(resp.body)
        else:
            raise UpstreamError(f"HTTP {resp.status} from {redact(url)}")
        return _cursor_of(end, resp.body[-TAIL:], resp.headers.get("ETag"), server)

    async def versions(self, target: str, node: NodeInfo) -> list[str]:
        found = await self.ctx.http.get_json(
            f"{self.base_url()}/api/v1/versions/{quote(target, safe='')}.json", keep=RELEASED)
        if not (isinstance(found, list) and len(found) == 2
                and all(isinstance(part, list) for part in found)):
            # only a damaged cache entry can be anything else
            raise UpstreamError(f"unexpected answer for {target}: not a list of versions")
        released, flagged = found
        for number in flagged:
            node.note(str(number), "pre-release: RubyGems flags it prerelease")
        return [str(v) for v in released]


def _released(doc: object) -> list[list[str]]:
    """``[released, flagged]``: the distinct ``number`` of every entry not marked
    ``prerelease``, in answer order, and the numbers only ever marked ``prerelease`` (kept so
    that ``vbot check`` can say why they were set aside)."""
    if not isinstance(doc, list) or not all(isinstance(e, dict) for e in doc):
        raise UpstreamError("unexpected answer from RubyGems: not a list of version objects")
    released: dict[str, None] = {}
    flagged: dict[str, None] = {}
    for entry in doc:
        number = entry.get("number")
        if not isinstance(number, str) or not number:
            continue
        (flagged if entry.get("prerelease") else released).setdefault(number)
    return [list(released), [n for n in flagged if n not in released]]


RELEASED = JsonDigest("rubygems-released-2", _released)
