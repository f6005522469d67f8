"""PyPI: recipe URLs shaped ``/packages/source/<c>/<name>/<file>`` or hashed file URLs.

``GET {url}/pypi/<name>/json``; every release with at least one non-yanked file is a candidate
(the others are set aside, and ``vbot check`` says why).
The API base URL has no built-in default: ``VBOT_PYPI_URL`` or ``[sources.pypi] url``.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

from vbot.errors import UpstreamError
from vbot.httpclient.client import JsonDigest
from vbot.repo.nodeinfo import NodeInfo
from vbot.sources.base import Source

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

    def match(self, node: NodeInfo) -> str | None:
        for url in node.urls:
            parts = urlsplit(url)
            if parts.scheme in ("http", "https"):
                found = package_from_url(url, node.version, parts.path)
                if found:
                    return found
        return None

    async def versions(self, target: str, node: NodeInfo) -> list[str]:
        found = await self.ctx.http.get_json(f"{self.base_url()}/pypi/{quote(target)}/json",
                                             keep=RELEASED)
        if not isinstance(found, dict) or not isinstance(found.get("versions"), list):
            # only a damaged cache entry can be anything else
            raise UpstreamError(f"unexpected answer for {target}: no 'releases' mapping")
        for key, why in DROPS.items():
            for version in found.get(key) or ():
                node.note(str(version), why)
        return [str(v) for v in found["versions"]]


# the releases a check sets aside, by digest key, and why
DROPS = {"yanked": "yanked on PyPI (every file)", "no_files": "no files on PyPI"}


def _released(doc: object) -> dict[str, list[str]]:
    """``versions``: every release with at least one non-yanked file (all a check needs of a
    document that can be large); ``yanked`` and ``no_files``: the others, kept so that
    ``vbot check`` can say why they were set aside."""
    releases = doc.get("releases") if isinstance(doc, dict) else None
    if not isinstance(releases, dict):
        raise UpstreamError("unexpected answer from PyPI: no 'releases' mapping")
    out: dict[str, list[str]] = {"versions": [], "yanked": [], "no_files": []}
    for version, files in releases.items():
        entries = [f for f in files if isinstance(f, dict)] if isinstance(files, list) else []
        if any(not f.get("yanked", False) for f in entries):
            out["versions"].append(version)
        else:
            out["yanked" if entries else "no_files"].append(version)
    return out


RELEASED = JsonDigest("pypi-released-3", _released)
