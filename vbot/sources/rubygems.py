"""RubyGems: recipe URLs ``/downloads/<gem>-<ver>.gem`` (or ``/gems/…``) on rubygems.org.

``GET {url}/api/v1/versions/<gem>.json``: a list of version objects, newest first; every
``number`` whose ``prerelease`` is false is a candidate (platform builds repeat a number,
which is harmless); the numbers RubyGems flags ``prerelease`` are set aside, and ``vbot check``
shows them with that reason. The API base URL is ``VBOT_RUBYGEMS_URL`` or
``[sources.rubygems] url``, by default ``https://rubygems.org``.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

from vbot.errors import UpstreamError
from vbot.httpclient.client import JsonDigest
from vbot.repo.nodeinfo import NodeInfo
from vbot.sources.base import Source, first_match

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


class RubyGems(Source[str]):
    name = "rubygems"
    url_env = ("VBOT_RUBYGEMS_URL",)
    default_url = "https://rubygems.org"

    def match(self, node: NodeInfo) -> str | None:
        return first_match(node.urls, lambda url: gem_from_url(url, node.version))

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
