"""MetaCPAN: CPAN recipe URLs ``…/authors/id/<A>/<AB>/<AUTHOR>/[<dir>/]<Dist>-<ver>.tar.gz``.

Any host (cpan.metacpan.org, www.cpan.org and mirrors, also under a ``/CPAN/`` or
``/pub/CPAN/`` prefix) whose path has CPAN's author layout. ``GET {url}/v1/release/<Dist>``
answers the distribution's latest release document; its ``version`` (a leading ``v``
dropped) is the candidate only when ``maturity`` is ``released`` (a ``developer`` release
yields nothing). The API base URL is ``VBOT_METACPAN_URL`` or ``[sources.metacpan] url``, by
default ``https://fastapi.metacpan.org``.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

from vbot.errors import UpstreamError
from vbot.httpclient.client import JsonDigest
from vbot.repo.nodeinfo import NodeInfo
from vbot.sources.base import Source, first_match
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


class MetaCpan(Source[str]):
    name = "metacpan"
    url_env = ("VBOT_METACPAN_URL",)
    default_url = "https://fastapi.metacpan.org"

    def match(self, node: NodeInfo) -> str | None:
        return first_match(node.urls, lambda url: dist_from_url(url, node.version))

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
