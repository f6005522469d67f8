"""NVIDIA redist: recipe URLs ``…/compute/<subdir>/redist/<json_name>/…`` (conda-forge's NVIDIA).

``bot.version_updates.nvidia.compute_subdir`` and ``json_name`` in the node's
``conda-forge.yml`` win over what the URL says (with both set, any URL on an NVIDIA host is
enough). The redist index ``{url}/compute/<subdir>/redist/`` (an HTML directory listing) names
``redistrib_<X.Y.Z>.json`` manifests; the newest by conda order is fetched
(``{url}/compute/<subdir>/redist/redistrib_<X.Y.Z>.json``) and the ``version`` of its
``<json_name>`` entry is the candidate. When the newest manifest lacks ``<json_name>``, or its
version is one the node's controls drop (``exclude``, ``even_odd_versions``, a pre-release),
older manifests are read, at most ``MAX_MANIFESTS`` of them. Index and manifests are fetched once
per sweep. The base URL is ``VBOT_NVIDIA_URL`` or ``[sources.nvidia] url``, by default
``https://developer.download.nvidia.com``.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

from vbot.errors import UpstreamError
from vbot.httpclient.client import JsonDigest
from vbot.repo.nodeinfo import NodeInfo
from vbot.sources.base import Source
from vbot.versioning import order
from vbot.versioning.policy import pick

MAX_MANIFESTS = 4
NVIDIA_HOSTS = ("nvidia.com",)
_SEGMENT = r"[A-Za-z0-9][A-Za-z0-9._+-]*"
_REDIST = re.compile(rf"/compute/(?P<subdir>{_SEGMENT})/redist/(?:(?P<json>{_SEGMENT})/.)?")
_MANIFEST = re.compile(r"""href\s*=\s*["']?(?:[^"'>\s]*/)?redistrib_(?P<ver>[0-9][A-Za-z0-9._-]*)"""
                       r"""\.json["'>\s]""", re.IGNORECASE)
_NAME = re.compile(rf"^{_SEGMENT}$")


def redist_from_url(url: str) -> tuple[str, str | None] | None:
    """``(subdir, json_name)`` of a redist download URL (``json_name`` None when the file sits
    right under ``redist/``), else None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return None
    match = _REDIST.search(unquote(parts.path))
    return (match.group("subdir"), match.group("json")) if match else None


def _on_nvidia(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(host == h or host.endswith("." + h) for h in NVIDIA_HOSTS)


def manifests(html: str) -> list[str]:
    """The ``X.Y.Z`` of every ``redistrib_X.Y.Z.json`` a redist index links to, newest first."""
    found = {m.group("ver") for m in _MANIFEST.finditer(html)}
    return sorted((v for v in found if order.parse(v) is not None), key=order.key,
                  reverse=True)


class Nvidia(Source[tuple[str, str]]):
    name = "nvidia"
    url_env = ("VBOT_NVIDIA_URL",)
    default_url = "https://developer.download.nvidia.com"

    def match(self, node: NodeInfo) -> tuple[str, str] | None:
        subdir, json_name = node.controls.nvidia_compute_subdir, node.controls.nvidia_json_name
        for url in node.urls:
            found = redist_from_url(url)
            if found:
                subdir, json_name = subdir or found[0], json_name or found[1]
                break
        else:
            if not (subdir and json_name and any(_on_nvidia(u) for u in node.urls)):
                return None
        if not (subdir and json_name and _NAME.match(subdir) and _NAME.match(json_name)):
            return None
        return subdir, json_name

    def _redist(self, subdir: str) -> str:
        return f"{self.base_url()}/compute/{quote(subdir, safe='')}/redist/"

    async def index(self, subdir: str) -> list[str]:
        url = self._redist(subdir)

        async def load() -> list[str]:
            return manifests((await self.ctx.http.get(url)).text())

        return await self.ctx.cache.once(f"nvidia:{url}", load)

    async def manifest(self, subdir: str, release: str) -> dict[str, str]:
        url = f"{self._redist(subdir)}redistrib_{quote(release, safe='')}.json"

        async def load() -> dict[str, str]:
            found = await self.ctx.http.get_json(url, keep=COMPONENTS)
            if not isinstance(found, dict):  # only a damaged cache entry can be anything else
                raise UpstreamError(f"unexpected answer from {url}: not an object")
            return found

        return await self.ctx.cache.once(f"nvidia:{url}", load)

    async def versions(self, target: tuple[str, str], node: NodeInfo) -> list[str]:

        subdir, json_name = target
        releases = await self.index(subdir)
        if not releases:
            raise UpstreamError(f"no redistrib_*.json listed in {self._redist(subdir)}")
        found: list[str] = []
        for release in releases[:MAX_MANIFESTS]:
            version = (await self.manifest(subdir, release)).get(json_name)
            if isinstance(version, str):
                found.append(version)
                if pick(found, node) is not None:
                    break
        if not found:
            newest = ", ".join(f"redistrib_{r}.json" for r in releases[:MAX_MANIFESTS])
            raise UpstreamError(f"{json_name} is not in {subdir}'s {newest}")
        return found


def _components(doc: object) -> dict[str, str]:
    """component -> version, of a ``redistrib_*.json`` manifest (all a check needs of it)."""
    if not isinstance(doc, dict):
        raise UpstreamError("unexpected answer from NVIDIA: the manifest is not an object")
    return {str(k): v["version"] for k, v in doc.items()
            if isinstance(v, dict) and isinstance(v.get("version"), str)}


COMPONENTS = JsonDigest("nvidia-components-1", _components)
