"""Source-wide failures: an outage or a wrong setting is not an answer about the nodes.

When a registry is down, a captive proxy answers every request with an HTML page, or its base
URL is wrong by one path segment, every node of that source fails the same way in one run:
all ``HTTP 404``, all "an HTML page instead of JSON", all connection errors. Written as
``bad`` (or ``transient``) results, such failures would replace every good result of the
source with a statement about the registry, not about the nodes. So a sweep holds back the
failures of each source until every node has been checked, then decides per source:

- **outage**: at least ``MIN_NODES`` nodes of the source were checked in this run, and at
  least ``SHARE`` (80 %) of them failed with the *same kind* of error (see :func:`kind_of`).
  None of the held failures of the source is written: every versions file of the source
  keeps its previous content (a node with no file yet gets none). The answers of the
  source's other nodes (found, none) are recorded as usual. The run report names the
  source, the kind of failure, the setting that chooses the source's base URL (e.g.
  ``VBOT_PYPI_URL`` or ``[sources.pypi] url``) and one sample URL (credentials redacted),
  and ``vbot sweep`` exits 1 so CI notices; the rest of the sweep is still committed and
  pushed (nothing good is lost).
- **not an outage**: the held failures are recorded as they would have been (a few real
  404s among many good answers still become ``bad``).

What does not count: failures the sweep's own ``--deadline`` caused and rate limits (a
rate-limited node keeps its result anyway, and the report counts them); nodes whose outcome
is not an upstream answer (skipped, invalid, internal). Sources with fewer than
``MIN_NODES`` checked nodes are never judged (two 404s out of two say little).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from vbot.check.outcome import BAD, FOUND, NONE, TRANSIENT, Outcome
from vbot.redact import redact
from vbot.run.report import RunReport
from vbot.sources import REGISTRY

MIN_NODES = 5  # checked nodes of a source before its failures can be an outage
SHARE = 0.8  # share of those that failed with the same kind of error

_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\")]+")
_KINDS = (  # (kind, pattern), the first match wins; the reason texts of vbot/httpclient
    ("deadline", re.compile(r"sweep deadline reached")),
    ("an HTML page instead of JSON", re.compile(r"HTML page instead of JSON")),
    ("an empty body instead of JSON", re.compile(r"empty body instead of JSON")),
    ("malformed JSON", re.compile(r"malformed JSON")),
    ("connection failed", re.compile(r"connection failed")),
    ("timed out", re.compile(r"timed out")),
    ("too many redirects", re.compile(r"too many redirects")),
)
_HTTP = re.compile(r"\bHTTP (\d{3})\b")


def kind_of(reason: str | None) -> str:
    """The kind of an upstream failure, from its reason: ``HTTP 404``, ``connection failed``,
    ``an HTML page instead of JSON``, … (any other text: the text without its URLs, quoted
    parts and numbers, so that one message about different nodes is one kind)."""
    text = reason or ""
    for kind, pattern in _KINDS:
        if pattern.search(text):
            return kind
    status = _HTTP.search(text)
    if status:
        return f"HTTP {status.group(1)}"
    text = _URL.sub("<url>", text)
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "…", text)
    return re.sub(r"\d+", "N", text)[:120]


def setting_of(source: str) -> str | None:
    """The settings that choose ``source``'s base URL, e.g. ``VBOT_PYPI_URL or
    [sources.pypi] url``; None for sources without one (git tags, raw URLs)."""
    cls = REGISTRY.get(source)
    if cls is None or (not cls.url_env and cls.default_url is None):
        return None
    return " or ".join((*cls.url_env, f"[sources.{source}] url"))


@dataclass(frozen=True)
class SourceOutage:
    """One source judged down or misconfigured in this run."""

    source: str
    kind: str  # the kind of error most of its nodes failed with
    failed: int  # nodes of the source that failed with that kind
    checked: int  # nodes of the source checked in this run
    setting: str | None
    sample_url: str | None  # one URL that failed (redacted)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


class OutageGuard:
    """Holds back each source's failures until the sweep knows whether the source is down.

    ``hold(outcome)`` for every outcome as it arrives: True when the guard keeps it (a
    failure), False when the caller records it now (every other outcome, counted).
    ``settle()`` after the last check: the outages found, and ``release()`` the held
    outcomes to record after all (those of the sources that are not down).
    """

    def __init__(self, min_nodes: int = MIN_NODES, share: float = SHARE) -> None:
        self.min_nodes = min_nodes
        self.share = share
        self._answered: Counter[str] = Counter()  # source -> nodes checked (judged) this run
        self._held: dict[str, list[Outcome]] = defaultdict(list)
        self._down: dict[str, SourceOutage] = {}
        self._settled = False

    def hold(self, outcome: Outcome) -> bool:
        source = outcome.source
        if source is None:
            return False
        status = outcome.status
        if status in (FOUND, NONE):
            self._answered[source] += 1
            return False
        if status != BAD and status != TRANSIENT:
            return False
        if outcome.rate_limited or "sweep deadline reached" in (outcome.reason or ""):
            return False  # not the upstream's answer: recorded as always, never judged
        self._answered[source] += 1
        self._held[source].append(outcome)
        return True

    def settle(self) -> list[SourceOutage]:
        """Decide every source with held failures; the outages, by source name."""
        if not self._settled:
            self._settled = True
            for source, held in sorted(self._held.items()):
                checked = self._answered[source]
                if checked < self.min_nodes:
                    continue
                kinds = Counter(kind_of(o.reason) for o in held)
                kind, failed = kinds.most_common(1)[0]
                if failed >= self.share * checked:
                    sample = next((o for o in held if kind_of(o.reason) == kind), held[0])
                    url = _URL.search(sample.reason or "")
                    self._down[source] = SourceOutage(
                        source, kind, failed, checked, setting_of(source),
                        redact(url.group(0)) if url else None)
        return list(self._down.values())

    def release(self) -> Iterator[Outcome]:
        """The held outcomes of the sources that are not down, to be recorded now."""
        self.settle()
        for source, held in sorted(self._held.items()):
            if source not in self._down:
                yield from held

    def kept(self) -> Iterator[Outcome]:
        """The held outcomes of the sources that are down: reported, never written."""
        self.settle()
        for source in sorted(self._down):
            yield from self._held[source]


def settle(guard: OutageGuard, report: RunReport, store: Callable[[Outcome], None]) -> None:
    """After the last check: ``store`` (the sweep's recording of one outcome) the held
    failures of the sources that are not down; report those of the sources that are down
    as kept (no file written) and name the outages in ``report.extra["outages"]``."""
    for outcome in guard.release():
        store(outcome)
    for outcome in guard.kept():
        report.add(outcome, "kept")
    down = guard.settle()
    if down:
        report.extra["outages"] = [o.as_dict() for o in down]
