"""crates.io: recipe URLs ``crates.io/api/v1/crates/<n>/<v>/download`` and
``static.crates.io/crates/<n>/<n>-<v>.crate``.

``GET {url}/<tier>/<name>`` on the sparse index: one JSON object per line, oldest *published*
first, so the answer is the highest non-yanked, non-pre-release version, not the last line.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, unquote, urlsplit

from vbot.errors import UpstreamError
from vbot.repo.nodeinfo import NodeInfo
from vbot.sources.base import Source, first_match

_NAME = r"[A-Za-z0-9_-]+"
_API = re.compile(rf"/api/v1/crates/(?P<name>{_NAME})/(?P<ver>[^/]+)/download$")
_STATIC = re.compile(rf"/crates/(?P<name>{_NAME})/(?P=name)-(?P<ver>[0-9][^/]*)\.crate$")


def crate_from_url(url: str) -> str | None:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not (host == "crates.io"
                                                    or host.endswith(".crates.io")):
        return None
    path = unquote(parts.path)
    match = _API.search(path) or _STATIC.search(path)
    return match.group("name") if match else None


def index_path(name: str) -> str:
    """The sparse index path: ``1/a``, ``2/ab``, ``3/a/abc``, ``se/rd/serde``."""
    low = name.lower()
    if len(low) <= 2:
        return f"{len(low)}/{low}"
    if len(low) == 3:
        return f"3/{low[0]}/{low}"
    return f"{low[:2]}/{low[2:4]}/{low}"


def stable_versions(text: str, node: NodeInfo | None = None) -> list[str]:
    """The versions of a sparse index file that are neither yanked nor semver pre-releases;
    the others are noted on ``node`` (``vbot check`` shows why they were set aside)."""
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            raise UpstreamError("malformed line in the crates index") from None
        vers = entry.get("vers") if isinstance(entry, dict) else None
        if not isinstance(vers, str):
            continue
        if entry.get("yanked"):
            if node is not None:
                node.note(vers, "yanked on crates.io")
            continue
        if "-" in vers.split("+", 1)[0]:  # semver pre-release: 1.0.0-rc.1
            if node is not None:
                node.note(vers, "pre-release: a semver pre-release")
            continue
        out.append(vers)
    return out


class Crates(Source[str]):
    name = "crates"
    url_env = ("VBOT_CRATES_URL",)
    default_url = "https://index.crates.io"

    def match(self, node: NodeInfo) -> str | None:
        return first_match(node.urls, crate_from_url)

    async def versions(self, target: str, node: NodeInfo) -> list[str]:
        resp = await self.ctx.http.get(f"{self.base_url()}/{quote(index_path(target))}")
        return stable_versions(resp.text(), node)
