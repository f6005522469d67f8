"""The HTTP layer every source uses: pooled sessions, timeouts, retries, limits, secrets.

- one ``requests.Session`` per worker thread, connection pools kept alive;
- connect/read timeouts on every request, a cap on the body size;
- retries with exponential backoff and full jitter on connection errors, 5xx and 429,
  honouring ``Retry-After`` up to a cap;
- a per-host concurrency limit on top of the worker count;
- credentials are attached only to URLs under the base URL they belong to, and never follow
  a redirect elsewhere (redirects are followed by hand, credentials re-decided per hop);
- configured URL prefix rewrites (mirrors, test servers) apply to every request.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from vbot.config import HttpSettings
from vbot.errors import UpstreamError
from vbot.httpcache import HttpCache
from vbot.transport import Transport

MAX_REDIRECTS = 5
USER_AGENT = "vbot/0.1 (+version bot for package graphs)"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Response:
    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            snippet = self.body[:40].decode("utf-8", "replace").strip()
            raise UpstreamError(f"malformed JSON from {self.url} (starts {snippet!r})") from None

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}".lower()


class HttpClient:
    """Thread-safe HTTP client shared by every source of a sweep."""

    def __init__(
        self,
        settings: HttpSettings,
        credentials: Mapping[str, Mapping[str, str]] | None = None,
        pool_size: int = 16,
        cache: HttpCache | None = None,
    ) -> None:
        self.settings = settings
        self.cache = cache  # conditional requests + same-URL dedup (vbot/httpcache.py)
        # credentials belong to a base URL (scheme, host, port and path prefix), nothing else
        self._credentials = [(k.rstrip("/") + "/", dict(v)) for k, v in (credentials or {}).items()]
        self._pool_size = pool_size
        self._local = threading.local()
        self._host_limits: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()
        self.requests_made = 0

    # -- plumbing ------------------------------------------------------------------------
    def _session(self) -> Transport:
        # a lean http.client transport in place of requests.Session: same call, same
        # exceptions, a fifth of the CPU per request (vbot/transport.py, benchmarks/RESULTS.md)
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = Transport({"User-Agent": USER_AGENT})
        return session

    def _host_limit(self, url: str) -> threading.BoundedSemaphore:
        host = origin(url)
        with self._lock:
            sem = self._host_limits.get(host)
            if sem is None:
                sem = self._host_limits[host] = threading.BoundedSemaphore(self.settings.per_host)
            return sem

    def rewrite(self, url: str) -> str:
        for old, new in self.settings.rewrite:
            if url.startswith(old):
                return new + url[len(old) :]
        return url

    def _once(self, method: str, url: str, headers: dict[str, str],
              body: bytes | None = None) -> Response:
        """One request (following redirects by hand), no retries."""
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            scheme = urlsplit(current).scheme
            if scheme not in ("http", "https"):
                raise UpstreamError(f"refusing {scheme or 'schemeless'} URL {current}")
            sent = dict(headers)
            for prefix, creds in self._credentials:
                if (current.rstrip("/") + "/").startswith(prefix):
                    sent.update(creds)
            target = self.rewrite(current)
            timeout = (self.settings.connect_timeout, self.settings.read_timeout)
            with self._host_limit(target):
                with self._lock:
                    self.requests_made += 1
                resp = self._session().request(
                    method, target, headers=sent, timeout=timeout, stream=True,
                    allow_redirects=False, data=body,
                )
                try:
                    if resp.is_redirect and resp.headers.get("Location"):
                        current = urljoin(current, resp.headers["Location"])
                        continue
                    body = self._read_capped(resp, current) if method != "HEAD" else b""
                finally:
                    resp.close()
            return Response(url=current, status=resp.status_code, headers=resp.headers, body=body)
        raise UpstreamError(f"too many redirects from {url}")

    def _read_capped(self, resp: Any, url: str) -> bytes:
        cap = self.settings.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        for chunk in resp.iter_content(chunk_size=65536):
            size += len(chunk)
            if size > cap:
                raise UpstreamError(f"response from {url} larger than {cap} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _delay(self, attempt: int, resp: Response | None) -> float:
        cap = self.settings.max_retry_after
        if resp is not None and resp.headers.get("Retry-After"):
            try:
                return min(cap, max(0.0, float(resp.headers["Retry-After"])))
            except ValueError:
                pass
        return random.uniform(0, min(cap, self.settings.backoff * (2**attempt)))

    # -- public --------------------------------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
        body: bytes | None = None,
    ) -> Response:
        """Send with retries; return a response whose status is in ``ok``.

        Other statuses raise UpstreamError: transient for 5xx/429/network failures (after the
        retries), permanent otherwise (404 and friends).
        """
        hdrs = dict(headers or {})
        last: Response | None = None
        problem = ""
        for attempt in range(self.settings.retries + 1):
            if attempt:
                time.sleep(self._delay(attempt - 1, last))
            try:
                last = self._once(method, url, hdrs, body)
            except requests.Timeout:
                last, problem = None, "timed out"
                continue
            except requests.ConnectionError as exc:
                last, problem = None, f"connection failed ({type(exc).__name__})"
                continue
            except requests.RequestException as exc:
                raise UpstreamError(f"{url}: {type(exc).__name__}") from None
            if last.status in ok:
                return last
            if last.status not in RETRY_STATUS:
                raise UpstreamError(f"HTTP {last.status} from {url}")
            problem = f"HTTP {last.status}"
        raise UpstreamError(f"{problem} from {url} after {self.settings.retries + 1} attempts",
                            transient=True, rate_limited=bool(last and last.status == 429))

    def get(self, url: str, headers: Mapping[str, str] | None = None,
            ok: tuple[int, ...] = (200,)) -> Response:
        if self.cache is not None:
            return self._cached_get(url, dict(headers or {}), ok)
        return self.request("GET", url, headers, ok)

    # -- httpcache hook (vbot/httpcache.py): the only cache-aware code in this module --------
    def _cached_get(self, url: str, headers: dict[str, str], ok: tuple[int, ...]) -> Response:
        assert self.cache is not None
        got = self.cache.get(url, headers, lambda extra: self.request(
            "GET", url, {**headers, **extra}, (*ok, 304) if extra else ok))
        if got.status not in ok:
            raise UpstreamError(f"HTTP {got.status} from {url}")
        return Response(url=got.url, status=got.status, headers=got.headers, body=got.body)
    # -- end of httpcache hook -----------------------------------------------------------------

    def get_json(self, url: str, headers: Mapping[str, str] | None = None) -> Any:
        return self.get(url, headers).json()

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
