"""The HTTP layer every source uses: pooled sessions, timeouts, retries, limits, secrets.

- requests is the HTTP library: each exchange is a request prepared by requests'
  ``PreparedRequest`` steps and sent with ``Session.send`` (one session per client, its
  connection pools sized to the concurrency) in a thread of a bounded pool
  (``vbot/httpclient/session.py``); the checks themselves run on one asyncio event loop, which only
  waits: retries, backoff and pauses never hold a thread;
- the environment's proxy, CA and ``.netrc`` settings apply as requests applies them;
- connect/read timeouts on every request, a cap on the body size;
- retries with exponential backoff and full jitter on connection errors, resets, 5xx and 429,
  honouring ``Retry-After`` up to a cap (beyond the cap: a rate-limited failure, no waiting);
- GitHub-style rate limits (403/429 with ``X-RateLimit-Remaining: 0``) pause only the rate-limit
  *scope* of the URL (the configured API base it is under, else its origin) until
  ``X-RateLimit-Reset``; when that is further away than ``max_rate_limit_wait`` every later
  request to the scope fails at once as rate-limited (transient) instead of hanging;
- an optional sweep deadline: timeouts and sleeps are clamped to the time left, and after the
  deadline requests fail at once as transient;
- a per-host concurrency limit on top of the worker count; requests that had to wait for it are
  counted per host (``held_back``) so the run summary can say which limit held a sweep back;
- credentials are attached only to URLs under the base URL they belong to, and never follow
  a redirect elsewhere (redirects are followed by hand, credentials re-decided per hop, caller
  headers that carry secrets dropped when a hop changes origin);
- configured URL prefix rewrites (mirrors, test servers) apply to every request; only http and
  https are ever fetched, before and after rewriting.

Failure classification (see docs/failure-behaviour.md): network errors, timeouts, 5xx, 429, rate
limits and the deadline are *transient*; other 4xx, oversized and malformed bodies are permanent.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit

from vbot.config import HttpSettings
from vbot.errors import UpstreamError
from vbot.httpclient.cache import Digest, Fetched, HttpCache
from vbot.httpclient.session import (
    BodyTooLarge,
    ExchangeError,
    ExchangeTimeout,
    InvalidURL,
    exchange,
    new_session,
)
from vbot.redact import redact

MAX_REDIRECTS = 5
USER_AGENT = "vbot/0.1 (+version bot for package graphs)"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
# caller-supplied headers that must not cross to another origin on a redirect
SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "private-token"})
MIN_TIMEOUT = 0.05
MAX_THREADS = 256  # threads doing blocking exchanges, per client (one client per process)


@dataclass(frozen=True)
class Response(Fetched):
    """An answer (url, status, headers, body), with the parsing helpers sources use."""

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
            raise UpstreamError(f"{what} from {redact(self.url)} (starts {snippet!r})") from None

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
            raise UpstreamError(f"{exc.reason} (from {redact(answer.url)})") from None
        return json.dumps(kept, separators=(",", ":")).encode()


def origin(url: str | SplitResult) -> str:
    """``scheme://host[:port]`` of a URL (or of its ``urlsplit``), lower case, no credentials."""
    parts = urlsplit(url) if isinstance(url, str) else url
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}".lower()


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def rate_limit_reset(resp: Response) -> float | None:
    """Seconds until the rate limit resets when ``resp`` says it is exhausted, else None.

    A refusal (403/429) says so, and so does the last allowed answer (``Remaining: 0``).
    """
    if resp.headers.get("X-RateLimit-Remaining") != "0":
        return None
    try:
        reset = float(resp.headers.get("X-RateLimit-Reset", ""))
    except ValueError:
        return float("inf")  # exhausted with no usable reset time: do not wait for it
    return max(0.0, reset - time.time())


class HttpClient:
    """The HTTP client every source of a sweep shares, on one event loop."""

    def __init__(
        self,
        settings: HttpSettings,
        credentials: Mapping[str, Mapping[str, str]] | None = None,
        scopes: Iterable[str] = (),
        cache: HttpCache | None = None,
        concurrency: int = 64,
    ) -> None:
        """``concurrency``: requests in flight at most (the sweep's ``--workers``); it sizes the
        thread pool and the connection pools."""
        self.settings = settings
        self.cache = cache  # conditional requests + same-URL dedup (vbot/httpclient/cache.py)
        # credentials belong to a base URL (scheme, host, port and path prefix), nothing else
        self._credentials = [(k.rstrip("/") + "/", dict(v)) for k, v in (credentials or {}).items()]
        # the header values and their last word (the token of "Bearer <token>")
        self._secrets = [w for _, c in self._credentials for v in c.values()
                         for w in (v, v.split()[-1] if v.split() else v)]
        # rate-limit scopes: API bases (longest first); a URL under none is its own origin
        bases = {s.rstrip("/") + "/" for s in scopes} | {k for k, _ in self._credentials}
        self._scopes = sorted(bases, key=len, reverse=True)
        self._threads = max(1, min(MAX_THREADS, concurrency))
        self._session = new_session({"User-Agent": USER_AGENT},
                                    pool_size=min(self._threads, max(settings.per_host, 1)))
        self._pool: ThreadPoolExecutor | None = None  # started on the first request
        self._pool_lock = threading.Lock()
        self.held_back: Counter[str] = Counter()  # origin -> requests the per-host limit delayed
        self._loop: asyncio.AbstractEventLoop | None = None
        self._host_limits: dict[str, asyncio.Semaphore] = {}
        self._paused: dict[str, float] = {}  # scope -> monotonic time the pause ends
        self._exhausted: dict[str, tuple[float, str]] = {}  # scope -> (monotonic end, reason)
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
        for old, new in self.settings.rewrite:
            if url.startswith(old):
                return new + url[len(old) :]
        return url

    def credentialed_prefixes(self) -> tuple[str, ...]:
        """The base URLs (ending in ``/``) this client attaches credentials to."""
        return tuple(prefix for prefix, _ in self._credentials)

    def secrets(self) -> list[str]:
        """Every credential value this client may send (for redaction elsewhere)."""
        return list(self._secrets)

    def _show(self, url: str) -> str:
        """A URL as it may appear in messages: credentials and tokens removed."""
        return redact(url, self._secrets)

    # -- deadline ------------------------------------------------------------------------
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

    async def _sleep(self, seconds: float, url: str) -> None:
        left = self._left(url)
        if left is not None and seconds >= left:
            raise UpstreamError(f"sweep deadline reached while waiting to retry {self._show(url)}",
                                transient=True)
        if seconds > 0:
            await asyncio.sleep(seconds)

    def _timeouts(self, url: str) -> tuple[float, float]:
        left = self._left(url)
        connect, read = self.settings.connect_timeout, self.settings.read_timeout
        if left is not None:
            connect, read = min(connect, left), min(read, left)
        return max(MIN_TIMEOUT, connect), max(MIN_TIMEOUT, read)

    # -- rate limits ---------------------------------------------------------------------
    def scope(self, url: str) -> str:
        """The rate-limit scope of ``url``: the API base it is under, else its origin."""
        probe = url.rstrip("/") + "/"
        for base in self._scopes:
            if probe.startswith(base):
                return base
        return origin(url)

    async def _wait_for_scope(self, url: str) -> None:
        """Wait while the URL's scope is paused; fail at once when it is exhausted."""
        if not self._paused and not self._exhausted:
            return
        scope = self.scope(url)
        now = time.monotonic()
        exhausted = self._exhausted.get(scope)
        paused = self._paused.get(scope, 0.0)
        if exhausted and exhausted[0] > now:
            raise UpstreamError(exhausted[1], rate_limited=True)
        if paused > now:
            await self._sleep(paused - now, url)

    def _rate_limited(self, url: str, resp: Response) -> bool:
        """Handle an exhausted rate limit: pause the scope (True) or mark it exhausted.

        For a refused request an exhausted scope raises; for the last allowed answer
        (a success carrying ``Remaining: 0``) later requests wait or fail instead.
        """
        wait = rate_limit_reset(resp)
        if wait is None:
            return False
        refused = resp.status in (403, 429)
        scope = self.scope(url)
        now = time.monotonic()
        if wait > self.settings.max_rate_limit_wait:
            shown = "an unknown time" if wait == float("inf") else f"{wait:.0f}s"
            reason = (f"rate limited by {self._show(scope)} (HTTP {resp.status}); the limit "
                      f"resets in {shown}, more than max_rate_limit_wait")
            self._exhausted[scope] = (now + min(wait, 86400.0), reason)
            if not refused:
                return False
            raise UpstreamError(reason, rate_limited=True)
        # reset times are whole seconds: add a little slack
        self._paused[scope] = max(self._paused.get(scope, 0.0), now + wait + 0.25)
        return True

    # -- one exchange --------------------------------------------------------------------
    async def _once(self, method: str, url: str, headers: dict[str, str],
                    payload: bytes | None = None) -> Response:
        """One request (following redirects by hand), no retries."""
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            target = self.rewrite(current)
            parts = urlsplit(target)
            schemes = [(parts.scheme, target)]
            if target != current:  # rewritten: the original URL must be http(s) as well
                schemes.insert(0, (urlsplit(current).scheme, current))
            for scheme, candidate in schemes:
                if scheme not in ("http", "https"):
                    raise UpstreamError(
                        f"refusing {scheme or 'schemeless'} URL {self._show(candidate)}")
            sent = dict(headers)
            for prefix, creds in self._credentials:
                if (current.rstrip("/") + "/").startswith(prefix):
                    sent.update(creds)
            timeout = self._timeouts(current)
            async with self._host_limit(parts):
                self.requests_made += 1
                left = self._left(current)
                end = None if left is None else time.monotonic() + left
                call = functools.partial(exchange, self._session, method, target, sent,
                                         timeout, payload, self.settings.max_body_bytes, end)
                try:
                    answer = await asyncio.get_running_loop().run_in_executor(
                        self._executor(), call)
                except BodyTooLarge as exc:
                    cap = self.settings.max_body_bytes
                    declared = f" (Content-Length {exc.declared})" if exc.declared else ""
                    raise UpstreamError(f"response from {self._show(current)} larger than "
                                        f"{cap} bytes{declared}") from None
            if answer.is_redirect:
                nxt = urljoin(current, answer.headers["Location"])
                if origin(nxt) != origin(current):  # never carry secrets elsewhere
                    headers = {k: v for k, v in headers.items()
                               if k.lower() not in SECRET_HEADERS}
                current = nxt
                continue
            return Response(url=current, status=answer.status, headers=answer.headers,
                            body=answer.body)
        raise UpstreamError(f"too many redirects from {self._show(url)}")

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter."""
        return random.uniform(0, min(self.settings.max_retry_after,
                                     self.settings.backoff * (2**attempt)))

    # -- public --------------------------------------------------------------------------
    async def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
        body: bytes | None = None,
    ) -> Response:
        """Send with retries; return a response whose status is in ``ok``.

        Other statuses raise UpstreamError: transient for 5xx/429/network failures (after the
        retries), rate limits and the deadline; permanent otherwise (404 and friends).
        """
        hdrs = dict(headers or {})
        problem = ""
        rate_limited = False
        attempts = self.settings.retries + 1
        delay = 0.0
        for attempt in range(attempts):
            if attempt:
                await self._sleep(delay, url)
            await self._wait_for_scope(url)
            delay = self._backoff(attempt)
            try:
                last = await self._once(method, url, hdrs, body)
            except ExchangeTimeout:
                self._left(url)  # the deadline, not the server, cut it short
                problem = "timed out"
                continue
            except ExchangeError as exc:
                problem = f"connection failed ({exc})"
                continue
            except InvalidURL as exc:
                raise UpstreamError(f"{self._show(url)}: InvalidURL ({exc})") from None
            if last.status in ok:
                if last.status < 400:
                    self._rate_limited(url, last)  # the last allowed answer pauses the scope
                return last
            if last.status in (403, 429) and self._rate_limited(url, last):
                problem, rate_limited, delay = f"HTTP {last.status} (rate limited)", True, 0.0
                continue
            wait = retry_after(last.headers.get("Retry-After"))
            if last.status in RETRY_STATUS or (last.status == 403 and wait is not None):
                rate_limited = last.status in (403, 429)
                problem = f"HTTP {last.status}"
                if wait is not None:
                    if wait > self.settings.max_retry_after:
                        raise UpstreamError(
                            f"HTTP {last.status} from {self._show(url)} with Retry-After "
                            f"{wait:.0f}s, more than max_retry_after", transient=True,
                            rate_limited=rate_limited)
                    delay = wait
                continue
            raise UpstreamError(f"HTTP {last.status} from {self._show(url)}")
        raise UpstreamError(f"{problem} from {self._show(url)} after {attempts} attempts",
                            transient=True, rate_limited=rate_limited)

    async def get(self, url: str, headers: Mapping[str, str] | None = None,
                  ok: tuple[int, ...] = (200,), digest: Digest | None = None) -> Response:
        """GET with retries (see ``request``). ``digest``: the body of a 200 answer is what
        ``digest.apply`` keeps of it, and that is also what the cache stores."""
        if self.cache is not None:
            return await self._cached_get(url, dict(headers or {}), ok, digest)
        resp = await self.request("GET", url, headers, ok)
        if digest is not None and resp.status == 200:
            return Response(resp.url, resp.status, resp.headers, digest.apply(resp))
        return resp

    # -- cache hook (vbot/httpclient/cache.py): the only cache-aware code in this module ---
    async def _cached_get(self, url: str, headers: dict[str, str], ok: tuple[int, ...],
                          digest: Digest | None) -> Response:
        assert self.cache is not None
        got = await self.cache.get(url, headers, lambda extra: self.request(
            "GET", url, {**headers, **extra}, (*ok, 304) if extra else ok), digest)
        if got.status not in ok:
            raise UpstreamError(f"HTTP {got.status} from {url}")
        return Response(url=got.url, status=got.status, headers=got.headers, body=got.body)
    # -- end of httpcache hook -----------------------------------------------------------------

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
