"""MetaCPAN: CPAN recipe URLs ``…/authors/id/<A>/<AB>/<AUTHOR>/[<dir>/]<Dist>-<ver>.tar.gz``.

Any host (cpan.metacpan.org, www.cpan.org and mirrors, also under a ``/CPAN/`` or
``/pub/CPAN/`` prefix) whose path has CPAN's author layout. ``GET {url}/v1/release/<Dist>``
answers the distribution's latest release document; its ``version`` (a leading ``v``
dropped) is the candidate only when ``maturity`` is ``released`` (a ``developer`` release
yields nothing). The API base URL is ``VBOT_METACPAN_URL`` or ``[sources.metacpan] url``, by
default ``https://fastapi.metacpan.org``.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from vbot.errors import UpstreamError
from vbot.httpclient.client import JsonDigest
from vbot.redact import redact
from vbot.repo.nodeinfo import NodeInfo
from vbot.sources.base import Changes, Source, first_match
from vbot.sources.feedutil import server_id
from vbot.versioning import order

_AUTHOR_FILE = re.compile(
    r"/authors/id/(?P<a>[A-Za-z0-9])/(?P<ab>[A-Za-z0-9-]{2})/(?P<author>[A-Za-z0-9-]+)/"
    r"(?:[^/]+/)*(?P<file>[^/]+?)\.(?:tar\.gz|tgz|tar\.bz2|tar\.xz|zip)$"
)
# <Dist>-<version>: the name ends at the last "-" before a version (``v1.2.3`` or ``0.016``)
_VERSION_START = re.compile(r"-v?[0-9]")
_DIST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


def dist_from_file(stem: str, version: str | None) -> str | None:
    """``Test-Fatal-0.016`` -> ``Test-Fatal``; the recipe's version, when given, decides."""
    for spelled in (version, f"v{version}") if version else ():
        if stem.endswith(f"-{spelled}") and _DIST.match(stem[: -len(spelled) - 1]):
            return stem[: -len(spelled) - 1]
    last = max((m.start() for m in _VERSION_START.finditer(stem)), default=-1)
    if last <= 0:
        return None
    dist = stem[:last]
    return dist if _DIST.match(dist) else None


def dist_from_url(url: str, version: str | None = None) -> str | None:
    """The distribution of a CPAN download URL, else None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ftp"):
        return None
    match = _AUTHOR_FILE.search(unquote(parts.path))
    if not match:
        return None
    author = match.group("author").upper()
    if match.group("a").upper() != author[:1] or match.group("ab").upper() != author[:2]:
        return None  # not CPAN's A/AB/AUTHOR layout
    return dist_from_file(match.group("file"), version)


# -- the change feed: releases by date -------------------------------------------------------
PAGE = 5000  # releases one search answers; more since the cursor: every node is checked
# releases dated up to this long before the cursor are asked again: a release is indexed some
# time after its date, so a release dated before the newest one seen may show up later
OVERLAP = timedelta(days=1)
_FIELDS = ["distribution", "date"]


def _when(text: object) -> datetime | None:
    """A MetaCPAN date (``2024-05-01T12:00:00``, UTC; ``Z`` or an offset also read)."""
    if not isinstance(text, str) or not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _spelled(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def search_hits(doc: object) -> tuple[list[tuple[str, datetime]], int]:
    """(distribution, date) of every hit of an Elasticsearch answer, and the total it says
    matched (``hits.total``: a number, or ``{"value", "relation"}``; a lower bound counts one
    more, so that it is never taken as complete)."""
    hits = doc.get("hits") if isinstance(doc, dict) else None
    if not isinstance(hits, dict) or not isinstance(hits.get("hits"), list):
        raise UpstreamError("MetaCPAN release search: no 'hits' in the answer")
    out = []
    for hit in hits["hits"]:
        src = hit.get("_source") if isinstance(hit, dict) else None
        if not isinstance(src, dict):
            src = hit.get("fields") if isinstance(hit, dict) else None  # older servers
        if not isinstance(src, dict):
            raise UpstreamError("MetaCPAN release search: a hit without fields")
        dist, date = src.get("distribution"), src.get("date")
        dist = dist[0] if isinstance(dist, list) and dist else dist
        date = date[0] if isinstance(date, list) and date else date
        when = _when(date)
        if not isinstance(dist, str) or when is None:
            raise UpstreamError("MetaCPAN release search: a hit without distribution and date")
        out.append((dist, when))
    total = hits.get("total")
    if isinstance(total, dict):
        value = total.get("value")
        total = (value + 1 if total.get("relation") == "gte" else value) if isinstance(
            value, int) else None
    if not isinstance(total, int) or isinstance(total, bool):
        total = len(out)
    return out, total


class MetaCpan(Source[str]):
    """Change feed: ``POST {url}/v1/release/_search``, the releases dated since the cursor
    (minus ``OVERLAP``), newest first, up to ``PAGE``; their distributions changed. The
    cursor ``{"date", "server"}`` is the newest release date seen (the server's clock, never
    ours). More releases than one page since the cursor: every node is checked once."""

    name = "metacpan"
    url_env = ("VBOT_METACPAN_URL",)
    default_url = "https://fastapi.metacpan.org"

    def match(self, node: NodeInfo) -> str | None:
        return first_match(node.urls, lambda url: dist_from_url(url, node.version))

    def feed_key(self, target: str) -> str | None:
        return target

    async def changes(self, cursor: Any) -> Changes | None:
        try:
            base = self.base_url()
        except Exception:  # noqa: BLE001 - a missing setting: the checks will say so
            return Changes(None, None, "metacpan: not configured, no change feed")
        url, server = f"{base}/v1/release/_search", server_id(base)
        since = (_when(cursor.get("date")) if isinstance(cursor, dict)
                 and cursor.get("server") == server else None)
        query: dict[str, Any]
        if since is None:
            query = {"query": {"match_all": {}}, "size": 1}
        else:
            query = {"query": {"range": {"date": {"gte": _spelled(since - OVERLAP)}}},
                     "size": PAGE}
        query.update({"sort": [{"date": {"order": "desc"}}], "_source": _FIELDS})
        try:
            resp = await self.ctx.http.request(
                "POST", url, {"Content-Type": "application/json"}, ok=(200, 404, 405),
                body=json.dumps(query).encode())
            if resp.status != 200:
                return Changes(None, None, f"metacpan: the server has no release search "
                                           f"(HTTP {resp.status} from {redact(url)})")
            hits, total = search_hits(resp.json())
        except UpstreamError as err:
            return Changes(cursor, None, f"metacpan: the change feed failed ({err.reason})")
        newest = max([when for _, when in hits] + ([since] if since else []), default=None)
        moved = {"date": _spelled(newest), "server": server} if newest else None
        if since is None:
            note = ("metacpan: no earlier cursor" if cursor is None
                    else "metacpan: the cursor is unknown (another server, or not a date)")
            return Changes(moved, None, note)
        if total > len(hits):
            return Changes(moved, None, f"metacpan: more than {len(hits)} releases since "
                                        f"{_spelled(since)}")
        return Changes(moved, frozenset(dist for dist, _ in hits))

    async def versions(self, target: str, node: NodeInfo) -> list[str]:
        doc = await self.ctx.http.get_json(
            f"{self.base_url()}/v1/release/{quote(target, safe='')}", keep=RELEASE)
        if not isinstance(doc, dict):  # only a damaged cache entry can be anything else
            raise UpstreamError(f"unexpected answer for {target}: not a release document")
        version = doc.get("version")
        if not isinstance(version, str) or not version:
            return []
        if doc.get("maturity") != "released":  # a developer release: nothing stable to propose
            node.note(version.strip(), f"pre-release: MetaCPAN maturity {doc.get('maturity')!r}")
            return []
        return [order.strip_v(version.strip())]


def _release(doc: object) -> dict[str, object]:
    """What a check needs of a release document: its version and maturity."""
    if not isinstance(doc, dict) or "version" not in doc:
        raise UpstreamError("unexpected answer from MetaCPAN: not a release document")
    return {"version": doc.get("version"), "maturity": doc.get("maturity")}


RELEASE = JsonDigest("metacpan-release-1", _release)
