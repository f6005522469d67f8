"""Building a sweep's checker: its HTTP client and a picklable recipe for worker processes."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from vbot.check.checker import Checker
from vbot.config import Config
from vbot.httpclient.cache import HttpCache
from vbot.httpclient.client import HttpClient
from vbot.sources import REGISTRY, Context


def make_http(config: Config, workers: int, cache: HttpCache | None = None) -> HttpClient:
    """The HTTP client of a sweep or ``vbot check``: every source's credentials, each source's
    API base its own rate-limit scope."""
    credentials: dict[str, dict[str, str]] = {}
    for cls in REGISTRY.values():
        for org, headers in cls.credentials(config).items():
            credentials.setdefault(org, {}).update(headers)
    # each source's API base is its own rate-limit scope (a pause for one never stalls another)
    scopes = [url for cls in REGISTRY.values() if (url := cls.base_url_of(config))]
    return HttpClient(config.http, credentials, scopes=scopes, cache=cache, concurrency=workers)


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

    def __call__(self) -> Checker:
        cache = HttpCache(Path(self.cache_dir)) if self.cache_dir else None
        http = make_http(self.config, self.workers, cache)
        if self.deadline_wall is not None:
            http.set_deadline(time.monotonic() + (self.deadline_wall - time.time()))
        return Checker(Context(config=self.config, http=http))
