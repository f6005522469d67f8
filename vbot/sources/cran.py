"""CRAN: recipe URLs under ``/src/contrib/`` or ``/src/contrib/Archive/<pkg>/``.

``{url}/src/contrib/PACKAGES`` is fetched once per sweep and answers every CRAN node. CRAN
writes ``14.0-0``; conda-forge writes ``14.0_0``, so ``-`` becomes ``_``.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from vbot.errors import UpstreamError
from vbot.repo.nodeinfo import NodeInfo
from vbot.sources.base import Source, first_match

# CRAN package names: letters, digits, dots; start with a letter, no trailing dot
_FILE = re.compile(r"/src/contrib/(?:Archive/(?P<dir>[A-Za-z][A-Za-z0-9.]*)/)?"
                   r"(?P<pkg>[A-Za-z][A-Za-z0-9.]*)_(?P<ver>[0-9][0-9.-]*)\.tar\.gz$")


def package_from_url(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return None
    match = _FILE.search(unquote(parts.path))
    if not match or (match.group("dir") and match.group("dir") != match.group("pkg")):
        return None
    return match.group("pkg")


def parse_packages(text: str) -> dict[str, list[str]]:
    """``PACKAGES`` (stanzas of ``Field: value``) -> package -> versions as CRAN spells them."""
    out: dict[str, list[str]] = {}
    for stanza in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n")):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line[:1] in (" ", "\t") or ":" not in line:
                continue  # continuation lines of long fields
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
        if fields.get("Package") and fields.get("Version"):
            out.setdefault(fields["Package"], []).append(fields["Version"])
    return out


class Cran(Source[str]):
    name = "cran"
    url_env = ("VBOT_CRAN_URL",)
    default_url = "https://cran.r-project.org"

    def match(self, node: NodeInfo) -> str | None:
        return first_match(node.urls, package_from_url)

    async def index(self) -> dict[str, list[str]]:
        url = f"{self.base_url()}/src/contrib/PACKAGES"

        async def load() -> dict[str, list[str]]:
            return parse_packages((await self.ctx.http.get(url)).text())

        return await self.ctx.cache.once(f"cran:{url}", load)

    async def versions(self, target: str, node: NodeInfo) -> list[str]:
        found = (await self.index()).get(target)
        if found is None:
            raise UpstreamError(f"{target} is not in CRAN's PACKAGES")
        return [v.replace("-", "_") for v in found]
