"""Why a check found what it found: the record behind ``vbot check NODE``.

:func:`explain` runs the sweep's own ``Checker.check`` on one node, with each source wrapped in
a watcher and the HTTP client in a recorder, so the explanation is the sweep's decision, not a
second implementation of it. Per source it keeps what matched (and from which recipe URL), the
URLs asked, the candidate versions, each one set aside with the reason (from the source: tag
globs, other components' tags, draft/pre-release releases, another numbering scheme; from
:func:`vbot.versioning.policy.sift`: pre-release, exclude, even/odd; then not newer), and
the result.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any

from vbot.check.outcome import FOUND, Outcome
from vbot.errors import UpstreamError
from vbot.repo.nodeinfo import NodeInfo
from vbot.sources import Source
from vbot.sources.rawurl import Probe
from vbot.versioning import order
from vbot.versioning.policy import sift

# what a source's match names, for "pypi: matched project "cox""
KINDS = {"pypi": "project", "npm": "package", "cran": "package", "crates": "crate",
         "github": "repository", "gitlab": "project", "ros": "package",
         "gittags": "git repository", "rawurl": "download URL", "rubygems": "gem",
         "metacpan": "distribution", "nvidia": "redist component"}
# sources whose match is the recipe URL itself (rawurl matches a Probe, described above)
URL_TARGETS = frozenset({"gittags"})


class RecordingHttp:
    """The context's HTTP client, noting every request a source makes: method, URL, the URL
    really asked when ``[http] rewrite`` applies (``via``), status or failure."""

    def __init__(self, http: Any) -> None:
        self._http = http
        self.asked: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._http, name)

    async def _noted(self, method: str, url: str, call: Any, status: int | None = None) -> Any:
        rewrite = getattr(self._http, "rewrite", None)
        via = rewrite(url) if callable(rewrite) else url
        entry: dict[str, Any] = {"method": method, "url": url,
                                 "via": via if via != url else None}
        self.asked.append(entry)
        try:
            answer = await call
        except UpstreamError as exc:
            entry["error"] = exc.reason
            raise
        entry["status"] = getattr(answer, "status", status)
        return answer

    async def get(self, url: str, *args: Any, **kwargs: Any) -> Any:
        return await self._noted("GET", url, self._http.get(url, *args, **kwargs))

    async def get_json(self, url: str, *args: Any, **kwargs: Any) -> Any:
        # get_json answers a 200 only (else it raises): the document has no status of its own
        return await self._noted("GET", url, self._http.get_json(url, *args, **kwargs), 200)

    async def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        return await self._noted(method, url, self._http.request(method, url, *args, **kwargs))


def shown_request(entry: dict[str, Any]) -> str:
    """``GET <url> (via <url>) -> 200`` for the text output."""
    text = f"{entry['method']} {entry['url']}"
    if entry.get("via"):
        text += f" (via {entry['via']})"
    if entry.get("error"):
        return f"{text} -> failed: {entry['error']}"
    return f"{text} -> {entry['status']}" if entry.get("status") is not None else text


@dataclass
class Step:
    """One source's part in a node's check."""

    source: str
    state: str = "not tried"  # matched | no match | not tried | not configured for this node
    matched: str | None = None  # what it matched, and from which URL
    requests: list[dict[str, Any]] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)
    picked: str | None = None
    error: str | None = None

    @property
    def urls(self) -> list[str]:
        return [r["url"] for r in self.requests]

    def to_json(self) -> dict[str, Any]:
        if self.state == "match failed":
            return {"source": self.source, "state": self.state, "error": self.error}
        if self.state != "matched":
            return {"source": self.source, "state": self.state}
        return {"source": self.source, "state": self.state, "matched": self.matched,
                "urls": self.urls, "requests": self.requests, "candidates": self.candidates,
                "dropped": [{"version": v, "why": w} for v, w in self.dropped],
                "picked": self.picked, "error": self.error}


@dataclass
class Explanation:
    """A node's check, explained. ``outcome`` is what the sweep would record."""

    node: str
    version: str | None
    outcome: Outcome
    steps: list[Step] = field(default_factory=list)

    @property
    def deciding(self) -> Step | None:
        """The step of the source the outcome names (the one that answered)."""
        return next((s for s in self.steps if s.source == self.outcome.source), None)

    @property
    def new_version(self) -> str | None:
        return self.outcome.version if self.outcome.status == FOUND else None

    @property
    def update(self) -> bool:
        """Whether the result is newer than the node's version (merge would propose it)."""
        new, cur = self.new_version, self.version
        if new is None:
            return False
        vn, vc = order.parse(new), order.parse(cur) if cur else None
        return vn is not None and (vc is None or vn > vc)

    def to_json(self) -> dict[str, Any]:
        step = self.deciding
        return {
            "node": self.node, "version": self.version, "status": self.outcome.status,
            "source": self.outcome.source, "matched": step.matched if step else None,
            "urls": [u for s in self.steps for u in s.urls],
            "candidates": step.candidates if step else [],
            "dropped": [{"version": v, "why": w} for v, w in (step.dropped if step else [])],
            "new_version": self.new_version, "update": self.update,
            "reason": self.outcome.reason,
            "errors": [{"source": s.source, "error": s.error} for s in self.steps if s.error],
            "sources": [s.to_json() for s in self.steps],
        }


def describe(source: Source, target: Any, node: NodeInfo) -> str:
    """``project "cox" from url https://…``: the target and the recipe URL it came from."""
    if isinstance(target, Probe):  # rawurl: the recipe URL, rendered from its template or not
        how = "from the recipe's template" if target.template else "by substituting the version"
        return f"{KINDS['rawurl']} {target.url} (candidates {how})"
    if isinstance(target, tuple):
        shown = "/".join(str(t) for t in target if "://" not in str(t)) or str(target[-1])
    else:
        shown = str(target)
    kind = KINDS.get(source.name, "target")
    for url in node.urls + node.git_urls:
        single = dataclasses.replace(node, urls=(url,) if url in node.urls else (),
                                     git_urls=(url,) if url in node.git_urls else (), notes=None)
        try:
            if source.match(single) != target:
                continue
        except Exception:  # noqa: BLE001 - only a nicer explanation is lost
            continue
        if source.name in URL_TARGETS:
            return f"{kind} {url}"
        return f'{kind} "{shown}" from url {url}'
    return f'{kind} "{shown}"'


class _Watched:
    """A source as the checker sees it, noting what it matches and answers into a Step."""

    def __init__(self, source: Source, step: Step, http: RecordingHttp) -> None:
        self._source = source
        self._step = step
        self._http = http

    def __getattr__(self, name: str) -> Any:
        return getattr(self._source, name)

    def match(self, node: NodeInfo) -> Any:
        try:
            target = self._source.match(node)
        except Exception as exc:
            self._step.state = "match failed"
            self._step.error = f"internal error: {type(exc).__name__}: {exc}"
            raise
        if target is None:
            self._step.state = "no match"
        else:
            self._step.state = "matched"
            self._step.matched = describe(self._source, target, node)
        return target

    async def versions(self, target: Any, node: NodeInfo) -> list[str]:
        step = self._step
        asked, noted = len(self._http.asked), len(node.notes or ())
        if self._source.name == "gittags":  # git, not HTTP: asked by ``git ls-remote``
            step.requests.append({"method": "git ls-remote --tags", "url": str(target),
                                  "via": None})
        try:
            found = await self._source.versions(target, node)
        except UpstreamError as exc:
            step.error = exc.reason
            raise
        except Exception as exc:
            step.error = f"internal error: {type(exc).__name__}: {exc}"
            raise
        finally:
            step.requests += self._http.asked[asked:]
            step.dropped += (node.notes or [])[noted:]
        step.candidates = [str(v).strip() for v in found]
        kept, dropped = sift(found, node)
        step.dropped += dropped
        step.picked = order.highest(kept)
        if step.picked is not None:  # the rest of the stable candidates: not newer
            best = order.parse(step.picked)
            current = order.parse(node.version) if node.version else None
            for text in kept:
                if text == step.picked:
                    continue
                parsed = order.parse(text)
                if current is not None and parsed is not None and parsed <= current:
                    step.dropped.append((text, f"not newer than the node's version "
                                               f"{node.version}"))
                elif parsed is not None and parsed <= best:
                    step.dropped.append((text, f"not newer than {step.picked}"))
        return found


async def explain(checker: Any, http: RecordingHttp, node: NodeInfo) -> Explanation:
    """Check ``node`` with ``checker`` (whose context's HTTP client is ``http``), explained."""
    node = dataclasses.replace(node, notes=[])
    order = checker.order(node)
    steps = {name: Step(name) for name in order}
    view = copy.copy(checker)  # the same checker, its sources watched for this node
    view.sources = {name: _Watched(checker.sources[name], steps[name], http) for name in order}
    outcome = await view.check(node)
    found = list(steps.values())
    for name in checker.sources:
        if name not in steps:
            found.append(Step(name, state="not in bot.version_updates.sources"))
    return Explanation(node.name, node.version, outcome, found)
