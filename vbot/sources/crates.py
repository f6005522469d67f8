"""crates.io: recipe URLs ``crates.io/api/v1/crates/<n>/<v>/download`` and
``static.crates.io/crates/<n>/<n>-<v>.crate``.

``GET {url}/<tier>/<name>`` on the sparse index: one JSON object per line, oldest *published*
first, so the answer is the highest non-yanked, non-pre-release version, not the last line.

Batched lookups: crates.io's API answers up to ``BATCH`` crates in one request
(``GET {api}/api/v1/crates?ids[]=a&ids[]=b&per_page=100``, each crate with its
``max_stable_version``: the highest non-yanked version without a pre-release part). The sweep
tells the source its crates (``prefetch``); the first node of a batch to be checked fetches
the batch, the others take their answer from it. The batched answer is used only where it is
the per-crate answer's pick: a plain ``X.Y.Z`` for a node without ``exclude`` or
``even_odd_versions`` controls (which may need the versions below the highest); otherwise, for
a crate missing from the answer and when a batch fails, the node asks the sparse index. The
API base is ``VBOT_CRATES_API_URL`` or ``[sources.crates] api_url``; by default
``https://crates.io`` when the sparse index is the default one (another index: no batching);
an empty ``api_url`` turns batching off.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlencode, urlsplit

from vbot.errors import UpstreamError
from vbot.httpclient.client import HttpClient
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


BATCH = 100  # crates per API request (the API's largest page)
DEFAULT_API = "https://crates.io"
_PLAIN = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")


@dataclass
class _Batch:
    names: list[str]
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    answers: dict[str, str | None] | None = None  # lower-case name -> max_stable_version
    left: int = 0


def parse_crates(doc: object) -> dict[str, str | None]:
    """lower-case crate name -> ``max_stable_version`` (None: none) of an API answer."""
    crates = doc.get("crates") if isinstance(doc, dict) else None
    if not isinstance(crates, list):
        raise UpstreamError("crates.io API: no 'crates' list in the answer")
    out: dict[str, str | None] = {}
    for entry in crates:
        name = entry.get("name") if isinstance(entry, dict) else None
        if isinstance(name, str):
            best = entry.get("max_stable_version")
            out[name.lower()] = best if isinstance(best, str) and best else None
    return out


class CratesBatches:
    """Batched ``max_stable_version`` lookups for the crates of one sweep."""

    def __init__(self, http: HttpClient, api_url: str, names: Sequence[str],
                 size: int = BATCH) -> None:
        self.http = http
        self.url = api_url.rstrip("/") + "/api/v1/crates"
        unique = list(dict.fromkeys(n.lower() for n in names))
        self._where: dict[str, _Batch] = {}
        for start in range(0, len(unique), size):
            batch = _Batch(unique[start : start + size])
            batch.left = len(batch.names)
            for name in batch.names:
                self._where[name] = batch
        self.requests = 0

    async def _fetch(self, batch: _Batch) -> None:
        query = urlencode([("ids[]", n) for n in batch.names] + [("per_page", str(BATCH))])
        self.requests += 1
        try:
            resp = await self.http.request("GET", f"{self.url}?{query}")
            batch.answers = parse_crates(resp.json())
        except UpstreamError:
            batch.answers = {}  # every crate of the batch asks the sparse index

    async def lookup(self, name: str) -> str | None:
        """The crate's ``max_stable_version`` when the batch had a plain one, else None
        (then the node asks the sparse index). Each answer is handed out once."""
        batch = self._where.pop(name.lower(), None)
        if batch is None:
            return None
        try:
            async with batch.lock:  # the first node of a batch asks; the others wait
                if batch.answers is None:
                    await self._fetch(batch)
                assert batch.answers is not None
                best = batch.answers.pop(name.lower(), None)
        finally:
            batch.left -= 1
            if batch.left <= 0:
                batch.answers = None  # answered: forget it
        return best if best is not None and _PLAIN.match(best) else None


class Crates(Source[str]):
    name = "crates"
    url_env = ("VBOT_CRATES_URL",)
    default_url = "https://index.crates.io"
    options = (("api_url", str),)

    _batched: CratesBatches | None = None

    def api_url(self) -> str | None:
        """The crates.io API base for batched lookups (None: no batching)."""
        config = self.ctx.config
        value = config.env.get("VBOT_CRATES_API_URL")
        if value is None:
            value = config.source_option(self.name, "api_url")
        if value is None:
            return DEFAULT_API if self.base_url_of(config) == self.default_url else None
        if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https"):
            return None
        return value.rstrip("/")

    def batches(self) -> bool:
        return self.api_url() is not None

    def prefetch(self, nodes: Sequence[NodeInfo]) -> None:
        """Plan the batches: every crate whose node could take the batched answer."""
        api = self.api_url()
        self._batched = None
        if api is None:
            return
        names = [name for node in nodes if _batchable(node)
                 for name in [self.match(node)] if name is not None]
        if names:
            self._batched = CratesBatches(self.ctx.http, api, names)

    def match(self, node: NodeInfo) -> str | None:
        return first_match(node.urls, crate_from_url)

    async def versions(self, target: str, node: NodeInfo) -> list[str]:
        if self._batched is not None and _batchable(node):
            best = await self._batched.lookup(target)
            if best is not None:
                return [best]
        resp = await self.ctx.http.get(f"{self.base_url()}/{quote(index_path(target))}")
        return stable_versions(resp.text(), node)


def _batchable(node: NodeInfo) -> bool:
    """Whether the highest stable version is the node's pick (no controls that drop some)."""
    return not node.controls.exclude and not node.controls.even_odd_versions
