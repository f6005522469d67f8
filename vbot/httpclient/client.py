"""The HTTP client every source uses: requests underneath, vbot's limits and redaction on top.

What requests and urllib3 do (``vbot/httpclient/session.py``): pooled keep-alive connections
(``HTTPAdapter(pool_maxsize=…, pool_block=True)``), retries with exponential backoff and full
jitter on connection errors, resets, 5xx and 429, honouring ``Retry-After`` up to
``max_retry_after`` (``urllib3.util.Retry``), redirects (with per-prefix credentials re-decided
on every hop by ``Session.rebuild_auth``), the environment's proxy, CA and ``.netrc`` settings.

What this module adds, because requests does not do it:

- a **time limit per request** (``[http] request_timeout``, default 60 s, 0 = none): connecting,
  every retry and redirect, and the whole body, however slowly it trickles in; a request that
  runs out of it fails as transient;
- an optional **sweep deadline**: timeouts are clamped to the time left, and after the deadline
  requests fail at once as transient;
- a cap on the body size (``max_body_bytes``): larger bodies are a permanent failure;
- a **per-host concurrency limit** on top of the worker count; requests that had to wait for it
  are counted per host (``held_back``) so the run summary can say which limit held a sweep back;
- **redaction**: every failure reason is built from URLs shown without userinfo, without the
  values of token-like query parameters and without any credential value (``show``);
- the conditional-request cache and the digests of answers (``vbot/httpclient/cache.py``);
- configured URL prefix rewrites (mirrors, test servers); only http and https are ever fetched,
  before and after rewriting.

Credentials belong to a URL prefix and go only to URLs under it (where a rewrite sends that
prefix's requests, they go there). **A credential never goes over plain http except to a
loopback host** (127.0.0.0/8, ::1, ``localhost``): a credential whose prefix is a plain-http
URL of another host is left out (listed in ``refused_credentials``; ``vbot/check/factory.py``
says so once per run) and the session strips any credential header from such a request.

Rate limits that are not ``Retry-After`` (GitHub's ``X-RateLimit-Remaining: 0`` with its reset
time) are the GitHub sources' (``vbot/sources/github_ratelimit.py``): here such a refusal is a
transient, rate-limited failure, never retried blindly.

Failure classification (see docs/failure-behaviour.md): network errors, timeouts, 5xx, 429, rate
limits and the deadline are *transient*; other 4xx, oversized and malformed bodies are permanent.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

from vbot.config import HttpSettings
from vbot.errors import UpstreamError
from vbot.httpclient.cache import Digest, Fetched, HttpCache
from vbot.httpclient.session import (
    RETRY_STATUS,
    BodyTooLarge,
    ExchangeError,
    ExchangeTimeout,
    InvalidURL,
    RefusedScheme,
    TooManyRedirects,
    exchange,
    may_carry_credentials,
    new_session,
    origin,
    prefix_of,
    retries_for,
    retry_after,
    rewrite,
    under,
)
from vbot.redact import redact

__all__ = ["HttpClient", "JsonDigest", "Response", "origin", "rate_limit_reset", "retry_after",
           "show"]

USER_AGENT = "vbot/0.1 (+version bot for package graphs)"
MIN_TIMEOUT = 0.05
MAX_THREADS = 256  # threads doing blocking exchanges, per client (one client per process)
# query parameters whose values are secrets (``?access_token=…``, ``&api_key=…``, signatures)
_SECRET_QUERY = re.compile(
    r"(?i)([?&;][^=&;#\s'\"<>]*(?:token|key|secret|sig|signature|password|passwd|auth|"
    r"credential|session)[^=&;#\s'\"<>]*=)[^&;#\s'\"<>]*")


def show(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` (a URL, or a message holding URLs) fit for messages: URL userinfo, the values of
    token-like query parameters and the given secrets replaced by ``***``."""
    return redact(_SECRET_QUERY.sub(r"\1***", text), secrets)


@dataclass(frozen=True)
class Response(Fetched):
    """An answer (url, status, headers, body), with the parsing helpers sources use.
    ``attempts``: the requests it took (retries and redirect hops included)."""

    attempts: int = 1

    def json(self) -> Any:
        """The parsed body; malformed bodies are a permanent per-node failure with a reason."""
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):
            snippet = self.body[:40].decode("utf-8", "replace").strip()
            ctype = self.headers.get("Content-Type", "")
            if "html" in ctype.lower() or snippet[:1] == "<":
                what = "an HTML page instead of JSON"
            elif not self.body.strip():
                what = "an empty body instead of JSON"
            else:
                what = "malformed JSON"
            raise UpstreamError(show(f"{what} from {self.url} (starts {snippet!r})")) from None

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class JsonDigest:
    """Keep only part of a JSON answer: ``extract(parsed) -> JSON-able`` (``name`` versions
    it in the cache). Malformed bodies fail as ``Response.json`` does, and ``extract`` may
    raise ``UpstreamError`` for a wrong shape; then nothing is cached."""

    def __init__(self, name: str, extract: Callable[[Any], Any]) -> None:
        self.extract = extract
        self.digest = Digest(name, self._apply)

    def _apply(self, answer: Fetched) -> bytes:
        parsed = Response(answer.url, answer.status, answer.headers, answer.body).json()
        try:
            kept = self.extract(parsed)
        except UpstreamError as exc:
            raise UpstreamError(show(f"{exc.reason} (from {answer.url})")) from None
        return json.dumps(kept, separators=(",", ":")).encode()


def rate_limit_reset(resp: Fetched) -> float | None:
    """Seconds until the rate limit resets when ``resp`` says it is exhausted
    (``X-RateLimit-Remaining: 0``), else None; ``inf`` when it gives no usable reset time."""
    if resp.headers.get("X-RateLimit-Remaining") != "0":
        return None
    try:
        reset = float(resp.headers.get("X-RateLimit-Reset", ""))
    except ValueError:
        return float("inf")
    return max(0.0, reset - time.time())


def _place(credentials: list[tuple[str, dict[str, str]]],
           rules: tuple[tuple[str, str], ...]) -> tuple[list[tuple[str, dict[str, str]]],
                                                        list[str]]:
    """Where each credential goes: its prefix, or where the rewrites send the prefix's
    requests; a place that is plain http to a non-loopback host is refused."""
    placed: list[tuple[str, dict[str, str]]] = []
    refused: list[str] = []
    for prefix, headers in credentials:
        places = {prefix_of(rewrite(prefix, rules))}
        places |= {prefix_of(new) for old, new in rules if old.startswith(prefix)}
        for place in sorted(places):
            if may_carry_credentials(place):
                placed.append((place, headers))
            else:
                refused.append(place)
    return placed, refused


class HttpClient:
    """The HTTP client every source of a sweep shares, on one event loop."""

    def __init__(
        self,
        settings: HttpSettings,
        credentials: Mapping[str, Mapping[str, str]] | None = None,
        cache: HttpCache | None = None,
        concurrency: int = 64,
    ) -> None:
        """``credentials``: URL prefix -> headers to send to URLs under it. ``concurrency``:
        requests in flight at most (the sweep's ``--workers``); it sizes the thread pool and
        the connection pools."""
        self.settings = settings
        self.cache = cache  # conditional requests + same-URL dedup (vbot/httpclient/cache.py)
        configured = [(prefix_of(k), dict(v)) for k, v in (credentials or {}).items()]
        # the header values and their last word (the token of "Bearer <token>")
        self._secrets = [w for _, c in configured for v in c.values()
                         for w in (v, v.split()[-1] if v.split() else v)]
        placed, refused = _place(configured, settings.rewrite)
        self._placed = tuple(prefix for prefix, _ in placed)
        self._prefixes = tuple(dict.fromkeys([p for p, _ in configured] + list(self._placed)))
        self.refused_credentials = tuple(refused)  # plain-http, non-loopback: never sent
        self._threads = max(1, min(MAX_THREADS, concurrency))
        self._session = new_session(
            {"User-Agent": USER_AGENT}, pool_size=self._threads,
            retries=retries_for(settings.retries, settings.backoff, settings.max_retry_after),
            credentials=placed, rewrites=settings.rewrite)
        self._pool: ThreadPoolExecutor | None = None  # started on the first request
        self._pool_lock = threading.Lock()
        self.held_back: Counter[str] = Counter()  # origin -> requests the per-host limit delayed
        self._loop: asyncio.AbstractEventLoop | None = None
        self._host_limits: dict[str, asyncio.Semaphore] = {}
        self._deadline: float | None = None  # monotonic time after which nothing is fetched
        self.requests_made = 0

    # -- plumbing ------------------------------------------------------------------------
    def _host_limit(self, parts: SplitResult) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # semaphores belong to the loop that first used them
            self._host_limits, self._loop = {}, loop
        host = origin(parts)
        sem = self._host_limits.get(host)
        if sem is None:
            sem = self._host_limits[host] = asyncio.Semaphore(self.settings.per_host)
        if sem.locked():  # this request waits for the per-host limit, not for --workers
            self.held_back[host] += 1
        return sem

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="vbot-http")
            return self._pool

    def rewrite(self, url: str) -> str:
        """``url`` after the configured ``[http] rewrite`` prefixes."""
        return rewrite(url, self.settings.rewrite)

    def credentialed_prefixes(self) -> tuple[str, ...]:
        """The URL prefixes (ending in ``/``) that credentials belong to, and the places the
        rewrites send them to."""
        return self._prefixes

    def credentialed(self, url: str) -> bool:
        """Whether a request for ``url`` carries a credential of this client."""
        target = self.rewrite(url)
        return any(under(target, prefix) for prefix in self._placed)

    def secrets(self) -> list[str]:
        """Every credential value this client may send (for redaction elsewhere)."""
        return list(self._secrets)

    def _show(self, text: str) -> str:
        """A URL (or a message) as it may appear in messages: credentials and tokens removed."""
        return show(text, self._secrets)

    # -- time limits ---------------------------------------------------------------------
    def set_deadline(self, at: float | None) -> None:
        """After ``at`` (a ``time.monotonic()`` value) requests fail at once as transient."""
        self._deadline = at

    def _left(self, url: str) -> float | None:
        """Seconds left before the deadline (None: no deadline); raises once it has passed."""
        if self._deadline is None:
            return None
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise UpstreamError(f"sweep deadline reached before {self._show(url)} answered",
                                transient=True)
        return left

    async def sleep(self, seconds: float, url: str) -> None:
        """Wait on the event loop before asking ``url``; fails at once (transient) when the
        sweep deadline would pass first."""
        left = self._left(url)
        if left is not None and seconds >= left:
            raise UpstreamError(f"sweep deadline reached while waiting to ask {self._show(url)}",
                                transient=True)
        if seconds > 0:
            await asyncio.sleep(seconds)

    # -- one request ---------------------------------------------------------------------
    def _target(self, url: str) -> str:
        """The URL really asked (after rewriting); only http(s), before and after."""
        target = self.rewrite(url)
        for candidate in dict.fromkeys((url, target)):
            scheme = urlsplit(candidate).scheme
            if scheme not in ("http", "https"):
                raise UpstreamError(
                    f"refusing {scheme or 'schemeless'} URL {self._show(candidate)}")
        return target

    async def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
        body: bytes | None = None,
    ) -> Response:
        """Send (with the session's retries and redirects); return a response whose status is
        in ``ok``.

        Other statuses raise UpstreamError (``failure``): transient for 5xx/429/network
        failures (after the retries), rate limits, the request's time limit and the deadline;
        permanent otherwise (404 and friends).
        """
        target = self._target(url)
        left = self._left(url)
        limit = self.settings.request_timeout or None
        budget = min((x for x in (left, limit) if x is not None), default=None)
        connect, read = self.settings.connect_timeout, self.settings.read_timeout
        if budget is not None:
            connect, read = min(connect, budget), min(read, budget)
        timeout = (max(MIN_TIMEOUT, connect), max(MIN_TIMEOUT, read))
        async with self._host_limit(urlsplit(target)):
            end = None if budget is None else time.monotonic() + budget
            call = functools.partial(exchange, self._session, method, target,
                                     dict(headers or {}), timeout, body,
                                     self.settings.max_body_bytes, end)
            try:
                answer = await asyncio.get_running_loop().run_in_executor(self._executor(), call)
            except (ExchangeError, InvalidURL, TooManyRedirects, BodyTooLarge) as exc:
                self.requests_made += 1
                raise self._failed(url, exc, end, limit) from None
            self.requests_made += answer.attempts
        resp = Response(url=url if answer.url in ("", target) else answer.url,
                        status=answer.status, headers=answer.headers, body=answer.body,
                        attempts=answer.attempts)
        if resp.status in ok:
            return resp
        raise self.failure(url, resp)

    def _failed(self, url: str, exc: Exception, end: float | None,
                limit: float | None) -> UpstreamError:
        """The failure an exchange that got no usable answer is."""
        shown = self._show(url)
        if isinstance(exc, BodyTooLarge):
            cap = self.settings.max_body_bytes
            declared = f" (Content-Length {exc.declared})" if exc.declared else ""
            return UpstreamError(f"response from {shown} larger than {cap} bytes{declared}")
        if isinstance(exc, RefusedScheme):
            return UpstreamError(f"refusing {exc.scheme} URL a redirect from {shown} led to")
        if isinstance(exc, InvalidURL):
            return UpstreamError(self._show(f"{url}: InvalidURL ({exc})"))
        if isinstance(exc, TooManyRedirects):
            return UpstreamError(f"too many redirects from {shown}")
        if isinstance(exc, ExchangeTimeout):
            self._left(url)  # the sweep deadline, not the server, cut it short
            if limit is not None and end is not None and time.monotonic() >= end - 0.1:
                return UpstreamError(f"timed out: no complete answer from {shown} within "
                                     f"{limit:g}s (request_timeout)", transient=True)
            return UpstreamError(f"timed out from {shown}", transient=True)
        return UpstreamError(self._show(f"connection failed ({exc}) from {url}"),
                             transient=True)

    def failure(self, url: str, resp: Fetched) -> UpstreamError:
        """The failure an answer outside ``ok`` is: transient (and rate-limited) for 429, 5xx
        and exhausted rate limits, permanent otherwise."""
        status, shown = resp.status, self._show(url)
        wait = retry_after(resp.headers.get("Retry-After"))
        limited = status in (403, 429)
        if wait is not None and wait > self.settings.max_retry_after:
            return UpstreamError(f"HTTP {status} from {shown} with Retry-After {wait:.0f}s, "
                                 "more than max_retry_after", transient=True,
                                 rate_limited=limited)
        if limited and (wait is not None or rate_limit_reset(resp) is not None):
            return UpstreamError(f"HTTP {status} from {shown} (rate limited)", rate_limited=True)
        if status in RETRY_STATUS:
            attempts = getattr(resp, "attempts", 1)
            tries = f" after {attempts} attempts" if attempts > 1 else ""
            return UpstreamError(f"HTTP {status} from {shown}{tries}", transient=True,
                                 rate_limited=status == 429)
        return UpstreamError(f"HTTP {status} from {shown}")

    # -- public --------------------------------------------------------------------------
    async def get(self, url: str, headers: Mapping[str, str] | None = None,
                  ok: tuple[int, ...] = (200,), digest: Digest | None = None) -> Response:
        """GET (see ``request``). ``digest``: the body of a 200 answer is what
        ``digest.apply`` keeps of it, and that is also what the cache stores."""
        if self.cache is not None:
            return await self._cached_get(url, dict(headers or {}), ok, digest)
        resp = await self.request("GET", url, headers, ok)
        if digest is not None and resp.status == 200:
            return Response(resp.url, resp.status, resp.headers, digest.apply(resp),
                            resp.attempts)
        return resp

    # -- cache hook (vbot/httpclient/cache.py): the only cache-aware code in this module ---
    async def _cached_get(self, url: str, headers: dict[str, str], ok: tuple[int, ...],
                          digest: Digest | None) -> Response:
        assert self.cache is not None
        got = await self.cache.get(url, headers, lambda extra: self.request(
            "GET", url, {**headers, **extra}, (*ok, 304) if extra else ok), digest)
        if got.status not in ok:
            raise self.failure(url, got)
        return Response(url=got.url, status=got.status, headers=got.headers, body=got.body)
    # -- end of httpcache hook -----------------------------------------------------------

    async def get_json(self, url: str, headers: Mapping[str, str] | None = None,
                       keep: JsonDigest | None = None) -> Any:
        """The parsed answer, or with ``keep`` only what ``keep`` extracts from it."""
        return (await self.get(url, headers, digest=keep.digest if keep else None)).json()

    def close(self) -> None:
        """Stop the threads and close the pooled connections (the client is done)."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        self._session.close()
