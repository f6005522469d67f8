"""GitHub's rate limit, kept by the GitHub sources (REST and GraphQL share one per API base).

GitHub says a limit is used up with ``X-RateLimit-Remaining: 0`` and ``X-RateLimit-Reset`` (a
Unix time), on the refusal (403/429) and already on the last allowed answer. The HTTP client
does not retry such a refusal (``vbot/httpclient/session.py``); this module decides:

- reset within ``[http] max_rate_limit_wait``: every later request to the API base waits until
  the reset (on the event loop, bounded by the sweep deadline) and the refused one is asked
  again, at most ``[http] retries`` times;
- reset further away (or unknown): every later request to the API base fails at once as
  rate-limited (transient) instead of hanging, until the reset.

Other sources and other hosts never wait for GitHub's limit. ``Retry-After`` (secondary rate
limits) is the client's: urllib3 waits for it, up to ``max_retry_after``.
"""

from __future__ import annotations

import time

from vbot.errors import UpstreamError
from vbot.httpclient.cache import Digest
from vbot.httpclient.client import HttpClient, Response, rate_limit_reset, show

REFUSED = (403, 429)
SLACK = 0.25  # reset times are whole seconds


class RateLimit:
    """The rate limit of one GitHub API base, for the requests of one event loop."""

    def __init__(self, http: HttpClient, base: str) -> None:
        self.http = http
        self.base = base.rstrip("/")
        self._paused_until = 0.0  # monotonic time the pause ends
        self._exhausted: tuple[float, str] | None = None  # (monotonic end, reason)

    async def get(self, url: str, headers: dict[str, str] | None = None,
                  ok: tuple[int, ...] = (200,), digest: Digest | None = None) -> Response:
        """``HttpClient.get`` under this rate limit."""
        return await self._ask("GET", url, headers, ok, None, digest)

    async def request(self, method: str, url: str, headers: dict[str, str] | None = None,
                      ok: tuple[int, ...] = (200,), body: bytes | None = None) -> Response:
        """``HttpClient.request`` under this rate limit."""
        return await self._ask(method, url, headers, ok, body, None)

    async def _ask(self, method: str, url: str, headers: dict[str, str] | None,
                   ok: tuple[int, ...], body: bytes | None, digest: Digest | None) -> Response:
        asks = self.http.settings.retries + 1
        accepted = tuple(dict.fromkeys((*ok, *REFUSED)))
        for _ in range(asks):
            await self._wait(url)
            if method == "GET":
                resp = await self.http.get(url, headers, ok=accepted, digest=digest)
            else:
                resp = await self.http.request(method, url, headers, accepted, body)
            if resp.status in ok:
                if resp.status < 400:
                    self._observe(resp, refused=False)  # the last allowed answer says so too
                return resp
            if not self._observe(resp, refused=True):
                raise self.http.failure(url, resp)
        raise UpstreamError(f"HTTP {resp.status} (rate limited) from "
                            f"{show(url, self.http.secrets())} after {asks} attempts",
                            rate_limited=True)

    async def _wait(self, url: str) -> None:
        """Wait while the limit is paused; fail at once while it is used up for longer."""
        now = time.monotonic()
        if self._exhausted is not None:
            end, reason = self._exhausted
            if end > now:
                raise UpstreamError(reason, rate_limited=True)
            self._exhausted = None
        if self._paused_until > now:
            await self.http.sleep(self._paused_until - now, url)

    def _observe(self, resp: Response, refused: bool) -> bool:
        """Note a used-up limit: True when it pauses (ask again after the reset); a refusal
        beyond ``max_rate_limit_wait`` raises."""
        wait = rate_limit_reset(resp)
        if wait is None:
            return False
        now = time.monotonic()
        if wait > self.http.settings.max_rate_limit_wait:
            shown = "an unknown time" if wait == float("inf") else f"{wait:.0f}s"
            reason = (f"rate limited by {show(self.base, self.http.secrets())} "
                      f"(HTTP {resp.status}); the limit resets in {shown}, more than "
                      "max_rate_limit_wait")
            self._exhausted = (now + min(wait, 86400.0), reason)
            if refused:
                raise UpstreamError(reason, rate_limited=True)
            return False
        self._paused_until = max(self._paused_until, now + wait + SLACK)
        return True
