"""The small typed interface every upstream source implements."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Generic, TypeVar
from urllib.parse import urlsplit

from vbot.config import Config
from vbot.errors import UpstreamError, VbotError
from vbot.httpclient.client import HttpClient
from vbot.repo.nodeinfo import NodeInfo

T = TypeVar("T")
Target = TypeVar("Target")


@dataclass
class SweepCache:
    """Per-sweep memo: a value (e.g. CRAN's PACKAGES index) is computed once and shared."""

    _values: dict[str, Any] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    async def once(self, key: str, compute: Callable[[], Awaitable[T]]) -> T:
        """``await compute()`` the first time ``key`` is asked for; later callers (also
        concurrent ones, which wait for the first) get the same value or the same error."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if key not in self._values:
                try:
                    self._values[key] = await compute()
                except UpstreamError as exc:
                    self._values[key] = exc
            value = self._values[key]
        if isinstance(value, UpstreamError):
            raise UpstreamError(value.reason, value.transient, value.rate_limited)
        return value


@dataclass(frozen=True)
class Changes:
    """What a source's change feed says, asked once before a sweep checks anything.

    ``cursor``: the feed's position now (a JSON value: a serial, a date, a byte offset and
    ETag...), stored in the data repo for the next sweep. ``changed``: the feed keys (see
    ``Source.feed_key``) that changed since the cursor the sweep passed in; over-inclusion is
    safe, omission is a missed release. ``changed is None`` means the feed cannot say (no
    earlier cursor, cursor too old, feed unavailable or unsupported by the configured
    server): every node of the source is checked, and ``note`` says why, in one line.
    """

    cursor: Any
    changed: frozenset[str] | None
    note: str = ""


@dataclass
class Context:
    """What a source may use during a sweep."""

    config: Config
    http: HttpClient
    cache: SweepCache = field(default_factory=SweepCache)


_KIND_NAMES = MappingProxyType({int: "a whole number", float: "a number",
                                list: "a list of strings", dict: "a table", str: "a string"})


def _of_kind(value: Any, kind: type) -> bool:
    if kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return False
        try:
            number = kind(value)
        except ValueError:
            return False
        return number >= 0 and number == number  # not NaN
    if kind is list:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, kind)


def first_match(urls: tuple[str, ...], parse: Callable[[str], T | None]) -> T | None:
    """The first non-empty ``parse(url)`` over a node's recipe URLs."""
    for url in urls:
        found = parse(url)
        if found:
            return found
    return None


class Source(Generic[Target]):
    """One upstream kind. ``match`` finds the upstream of a node, ``versions`` asks it.

    ``versions`` (a coroutine: every request goes through the sweep's one event loop)
    returns candidate versions in conda spelling; the checker then drops
    pre-releases and excluded versions and picks the highest by conda order. What the
    upstream answered but the source sets aside itself (a flag in the answer: yanked,
    pre-release, draft) it records with ``node.note(version, why)``, so ``vbot check`` can
    show every drop.
    """

    name: ClassVar[str] = ""
    url_env: ClassVar[tuple[str, ...]] = ()
    default_url: ClassVar[str | None] = None
    # ``[sources.<name>]`` options and their kinds: int, float (non-negative numbers), list
    # (of strings) or dict; checked before any check (``config_problem``)
    options: ClassVar[tuple[tuple[str, type], ...]] = ()

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @classmethod
    def credentials(cls, config: Config) -> Mapping[str, Mapping[str, str]]:
        """Headers to attach to requests for given origins (e.g. a token for an API)."""
        return {}

    @classmethod
    def base_url_of(cls, config: Config) -> str | None:
        return config.source_url(cls.name, cls.url_env, cls.default_url)

    @classmethod
    def config_problem(cls, config: Config) -> str | None:
        """One line saying what is wrong with this source's settings (None: nothing).

        A source with a base URL (``url_env`` or ``default_url``) needs one that is set and is
        an http(s) URL. A missing or invalid setting is not an upstream answer: the sweep
        stops before checking the nodes that need this source (``vbot/check/preflight.py``).
        Options named in ``options`` must have their kind."""
        table = config.sources.get(cls.name, {})
        for key, kind in cls.options:
            if key in table and not _of_kind(table[key], kind):
                return (f"{cls.name} is not configured: [sources.{cls.name}] {key} must be "
                        f"{_KIND_NAMES[kind]}, not {table[key]!r}")
        if not cls.url_env and cls.default_url is None:
            return None  # no base URL (git tags, raw URLs)
        how = " or ".join((*cls.url_env, f"[sources.{cls.name}] url in vbot.toml"))
        if "url" in table and not (isinstance(table["url"], str) and table["url"]):
            return f"{cls.name} is not configured: [sources.{cls.name}] url must be a URL"
        url = cls.base_url_of(config)
        if not url:
            return f"{cls.name} is not configured (set {how})"
        try:
            parts = urlsplit(url)
            _ = parts.port  # raises ValueError for a port that is not a number
            valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:
            valid = False
        if not valid:
            return f"{cls.name} is not configured: {url!r} is not an http(s) URL (set {how})"
        return None

    def base_url(self) -> str:
        """The base URL; a missing or invalid setting raises VbotError, never UpstreamError:
        a check that runs into it is vbot's failure and leaves the node's file alone."""
        config = self.ctx.config
        problem = self.config_problem(config)
        if problem:
            raise VbotError(problem)
        url = self.base_url_of(config)
        if not url:  # pragma: no cover - a source without a base URL asked for one
            raise VbotError(f"{self.name} has no base URL")
        return url

    def match(self, node: NodeInfo) -> Target | None:  # pragma: no cover - interface
        raise NotImplementedError

    def batches(self) -> bool:
        """True when ``prefetch`` plans batched requests this sweep: the sweep then reads
        every node document before the first check (otherwise it reads them as it goes)."""
        return False

    def prefetch(self, nodes: Sequence[NodeInfo]) -> None:
        """Called once per sweep with every node to check, in check order, before checking.

        Sources that can batch (one request answering many nodes) plan their batches here;
        the default does nothing. Must not raise for a single node's problem.
        """

    def feed_key(self, target: Target) -> str | None:
        """The name under which this source's change feed lists ``target`` (e.g. a
        normalised project name); None when the source has no change feed."""
        return None

    async def changes(self, cursor: Any) -> Changes | None:
        """Ask the change feed what changed since ``cursor`` (None: no earlier cursor).

        None: this source has no change feed (every node is checked). Feed failures are not
        raised: they come back as ``Changes(cursor, None, note)`` so the sweep checks every
        node of the source and says why once."""
        return None

    def feed_state(self) -> Any:
        """What checks need from this sweep's ``changes`` answer (picklable; None: nothing).

        Process and Dask workers build their own sources and never ask the feed: the sweep
        hands them this, and they ``adopt_feed_state`` it before their first check."""
        return None

    def adopt_feed_state(self, state: Any) -> None:
        """Take the ``feed_state`` of the coordinator's instance of this source."""

    async def versions(self, target: Target, node: NodeInfo) -> list[str]:  # pragma: no cover
        raise NotImplementedError
