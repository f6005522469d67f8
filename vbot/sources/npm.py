"""npm: recipe URLs shaped ``/<name>/-/<file>-<ver>.tgz`` or ``/@scope/<name>/-/<file>-<ver>.tgz``.

``GET {url}/<name>`` (a scoped name is sent as ``@scope%2fname``); the answer's
``dist-tags.latest`` unless it is a pre-release, else the highest stable entry of ``versions``.
The registry base URL has no built-in default: ``VBOT_NPM_URL`` or ``[sources.npm] url``.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

from vbot.errors import UpstreamError
from vbot.httpclient.client import JsonDigest
from vbot.repo.nodeinfo import NodeInfo
from vbot.sources.base import Source, first_match
from vbot.versioning import order

_TARBALL = re.compile(
    r"^/(?:(?P<scope>@[A-Za-z0-9._~-]+)/)?(?P<name>[A-Za-z0-9._~-]+)/-/"
    r"[^/]*?-(?P<ver>[0-9][^/]*)\.tgz$"
)


def package_from_url(url: str) -> str | None:
    """``@scope/name`` or ``name`` of an npm tarball URL, else None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return None
    match = _TARBALL.search(unquote(parts.path))
    if not match:
        return None
    scope, name = match.group("scope"), match.group("name")
    return f"{scope.lower()}/{name}" if scope else name


def registry_path(name: str) -> str:
    """``@scope/name`` -> ``@scope%2fname``; plain names are quoted as they are."""
    if name.startswith("@") and "/" in name:
        scope, _, rest = name.partition("/")
        return f"{quote(scope, safe='@')}%2f{quote(rest, safe='')}"
    return quote(name, safe="")


class Npm(Source[str]):
    name = "npm"
    url_env = ("VBOT_NPM_URL",)
    default_url = None

    def match(self, node: NodeInfo) -> str | None:
        return first_match(node.urls, package_from_url)

    async def versions(self, target: str, node: NodeInfo) -> list[str]:
        doc = await self.ctx.http.get_json(f"{self.base_url()}/{registry_path(target)}",
                                           keep=LISTED)
        if not isinstance(doc, dict):  # only a damaged cache entry can be anything else
            raise UpstreamError(f"unexpected answer for {target}: not an object")
        listed = [v for v in doc.get("versions") or () if isinstance(v, str)]
        latest = doc.get("latest")
        if not isinstance(latest, str) or order.parse(latest) is None \
                or order.is_prerelease(latest):
            return listed  # the checker takes the highest stable one
        # trust "latest": nothing above it (other dist-tags, mistakes) is proposed; below it
        # is kept so that an excluded "latest" falls back to the one before
        top = order.key(latest)
        kept = []
        for v in listed:
            parsed = order.parse(v)
            if parsed is not None and parsed < top:
                kept.append(v)
            elif v != latest:
                node.note(v, "not a version" if parsed is None
                          else f"not below the registry's latest dist-tag {latest}")
        return kept + [latest]


def _listed(doc: object) -> dict[str, object]:
    """What a version check needs of a packument (which can be megabytes): the version
    names and the ``latest`` dist-tag."""
    if not isinstance(doc, dict):
        raise UpstreamError("unexpected answer from the npm registry: not an object")
    listed = doc.get("versions")
    tags = doc.get("dist-tags")
    return {"versions": [v for v in listed if isinstance(v, str)] if isinstance(listed, dict)
            else [], "latest": tags.get("latest") if isinstance(tags, dict) else None}


LISTED = JsonDigest("npm-listed-1", _listed)
