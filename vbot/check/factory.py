"""Building a sweep's checker: its HTTP client and a picklable recipe for worker processes."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vbot.check.checker import Checker
from vbot.config import Config
from vbot.httpclient.cache import HttpCache
from vbot.httpclient.client import HttpClient, show
from vbot.sources import REGISTRY, Context


def make_http(config: Config, workers: int, cache: HttpCache | None = None,
              warn: bool = True) -> HttpClient:
    """The HTTP client of a sweep or ``vbot check``, with every source's credentials.

    A credential that would go over plain http to a host that is not loopback is never sent;
    with ``warn`` that is said once, on stderr (worker processes build their clients with
    ``warn=False``: the sweep has said it)."""
    credentials: dict[str, dict[str, str]] = {}
    for cls in REGISTRY.values():
        for org, headers in cls.credentials(config).items():
            credentials.setdefault(org, {}).update(headers)
    http = HttpClient(config.http, credentials, cache=cache, concurrency=workers)
    if warn:
        for prefix in http.refused_credentials:
            print(f"vbot: warning: not sending credentials to {show(prefix, http.secrets())}: "
                  "plain http to a host that is not loopback (use https)", file=sys.stderr)
    return http


def deadline_at(deadline: float | None) -> float | None:
    """A ``time.monotonic()`` deadline as wall-clock time, which means the same on any host."""
    return None if deadline is None else time.time() + (deadline - time.monotonic())


@dataclass(frozen=True)
class CheckerFactory:
    """Picklable recipe of a sweep's checker: process and dask workers each build their own."""

    config: Config
    workers: int
    deadline_wall: float | None = None  # the sweep deadline as time.time()
    cache_dir: str | None = None  # the HTTP cache (SQLite: processes on one machine share it)
    # (source, Source.feed_state()) of the coordinator's sources, taken after the feeds
    feed_states: tuple[tuple[str, Any], ...] = ()

    def __call__(self) -> Checker:
        cache = HttpCache(Path(self.cache_dir)) if self.cache_dir else None
        http = make_http(self.config, self.workers, cache, warn=False)
        if self.deadline_wall is not None:
            http.set_deadline(time.monotonic() + (self.deadline_wall - time.time()))
        checker = Checker(Context(config=self.config, http=http))
        for name, state in self.feed_states:
            checker.sources[name].adopt_feed_state(state)
        return checker
