"""One blocking HTTP exchange through ``requests``, under ``vbot/httpclient/client.py``.

``client.py`` keeps vbot's policy (retries, redirects, credentials, rate limits, the deadline)
on the event loop and hands each single exchange to a thread of a bounded pool; this module is
what runs in that thread:

- one ``requests.Session`` per client, shared by the pool's threads (its ``HTTPAdapter`` pools
  keep-alive connections per host, sized to the concurrency); cookies are never stored or sent;
- ``trust_env`` stays on: ``HTTP(S)_PROXY``/``ALL_PROXY``/``NO_PROXY``, ``REQUESTS_CA_BUNDLE``/
  ``CURL_CA_BUNDLE``, ``.netrc`` are honoured exactly as requests honours them; requests' own
  ``merge_environment_settings`` works out the proxy and CA settings, once per origin and session
  (it scans the whole environment twice per call: most of requests' extra cost per request);
- redirects are returned, not followed (``vbot/httpclient/client.py`` follows them by hand);
- the body is streamed (``stream=True``) and read in bounded pieces: a declared length over the
  cap is refused before reading, a decoded body over the cap (gzip bombs included) is cut off;
- the read timeout bounds each wait for data, and ``end`` (a ``time.monotonic()`` value) bounds
  the whole body however steadily a slow one keeps arriving.

urllib3's ``Retry`` does one thing here: a GET or HEAD sent on a kept-alive connection that the
server closed without answering is resent once, at once (``ResendOnce``). Every other retry is
vbot's (``client.py``): there the backoff waits on the event loop, not in a pool thread, and
obeys the sweep deadline, ``Retry-After`` caps and the rate-limit scopes.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.adapters
import requests.cookies
import requests.structures
import requests.utils
import urllib3.exceptions
from urllib3.util.retry import Retry

REDIRECTS = frozenset({301, 302, 303, 307, 308})
_READ = 65536
_UNSAFE = re.compile(r"[\x00-\x20\x7f]")
_POOLED_HOSTS = 64  # hosts whose connection pools an adapter keeps


class ExchangeError(Exception):
    """The exchange failed on the network (refused, reset, truncated, garbled): transient."""


class ExchangeTimeout(ExchangeError):
    """Connecting or reading took longer than its timeout (or ran past ``end``)."""


class InvalidURL(Exception):
    """The URL or a header cannot be sent (no host, bad port, control characters)."""


class BodyTooLarge(Exception):
    """The body is (or says it is) larger than the cap; ``declared`` is its Content-Length."""

    def __init__(self, declared: str | None = None) -> None:
        super().__init__(declared)
        self.declared = declared


@dataclass(frozen=True)
class Answer:
    """One response: status, headers (case-insensitive) and the decoded body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def is_redirect(self) -> bool:
        return self.status in REDIRECTS and "Location" in self.headers


_NETWORK = (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError, urllib3.exceptions.HTTPError,
            http.client.HTTPException, OSError)
_UNSENDABLE = (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
               requests.exceptions.MissingSchema, requests.exceptions.InvalidHeader,
               requests.exceptions.URLRequired, urllib3.exceptions.LocationParseError,
               http.client.InvalidURL, UnicodeError)


class ResendOnce(Retry):
    """``Retry(total=1)`` for a connection that broke before any answer (``ProtocolError``) on
    an idempotent method; a read timeout is raised as it is (the caller's retry decides)."""

    def __init__(self, **kwargs: object) -> None:
        kwargs = {"total": 1, "connect": 0, "read": 1, "status": 0, "other": 0,
                  "redirect": False, "raise_on_status": False, **kwargs}
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def increment(self, *args: object, **kwargs: object) -> Retry:  # type: ignore[override]
        error = kwargs.get("error", args[3] if len(args) > 3 else None)
        if isinstance(error, urllib3.exceptions.ReadTimeoutError):
            return Retry(0, read=False).increment(*args, **kwargs)  # re-raises the timeout
        return super().increment(*args, **kwargs)  # type: ignore[arg-type]


class Session(requests.Session):
    """``requests.Session`` remembering per origin what the environment says for it (a sweep's
    environment does not change while it runs): the proxy and CA settings of
    ``merge_environment_settings`` and the ``.netrc`` credentials of ``get_netrc_auth``.

    ``prepared`` builds a request with ``PreparedRequest``'s own ``prepare_*`` steps (URL
    checking and quoting, header validation, body, auth, hooks) without ``prepare_request``'s
    per-request merging of cookie jars and settings dicts: this session never stores or sends
    a cookie (its policy allows no domain) and has no params or auth of its own, so that
    merging never changes the request. ``send`` is requests' own.
    """

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._netrc: dict[tuple[str, str], Any] = {}

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> dict[str, Any]:
        if proxies or not isinstance(url, str):
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc, stream, verify, cert)
        found = self._environment.get(key)
        if found is None:
            found = super().merge_environment_settings(url, proxies, stream, verify, cert)
            self._environment[key] = found
        return {**found, "proxies": dict(found["proxies"])}

    def netrc_auth(self, url: str) -> Any:
        """``requests.utils.get_netrc_auth(url)``, asked once per origin (it reads the file)."""
        if not self.trust_env:
            return None
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        if key not in self._netrc:
            self._netrc[key] = requests.utils.get_netrc_auth(url)
        return self._netrc[key]

    def prepared(self, method: str, url: str, headers: Mapping[str, str],
                 data: bytes | None = None, auth: Any = None) -> requests.PreparedRequest:
        """What ``prepare_request(Request(method, url, headers=headers, data=data, auth=auth))``
        gives for this session: its headers under the request's, ``.netrc`` credentials when
        the request brings no auth, no cookies."""
        if self.cookies or self.auth or self.params:  # not this module's session: no shortcut
            return self.prepare_request(requests.Request(method, url, headers=dict(headers),
                                                         data=data, auth=auth))
        merged = requests.structures.CaseInsensitiveDict(self.headers)
        merged.update(headers)
        prep = requests.PreparedRequest()
        prep.prepare_method(method)
        prep.prepare_url(url, None)
        prep.prepare_headers({k: v for k, v in merged.items() if v is not None})
        prep.prepare_cookies(requests.cookies.RequestsCookieJar())
        prep.prepare_body(data, None, None)
        prep.prepare_auth(auth if auth else self.netrc_auth(url), url)
        prep.prepare_hooks(self.hooks)
        return prep

    def exchange(self, method: str, url: str, headers: Mapping[str, str],
                 data: bytes | None, timeout: tuple[float, float],
                 auth: Any = None) -> requests.Response:
        """``request(method, url, headers=..., data=..., timeout=..., stream=True,
        allow_redirects=False, auth=auth)``, through ``prepared`` and requests' ``send``."""
        prep = self.prepared(method, url, headers, data, auth)
        assert prep.url is not None
        settings = self.merge_environment_settings(prep.url, {}, True, None, None)
        return self.send(prep, timeout=timeout, allow_redirects=False, **settings)


def new_session(headers: Mapping[str, str], pool_size: int) -> requests.Session:
    """A session whose connection pool per host holds ``pool_size`` connections."""
    session = Session()
    session.headers.update(headers)
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    adapter = requests.adapters.HTTPAdapter(
        pool_connections=_POOLED_HOSTS, pool_maxsize=max(1, pool_size),
        max_retries=ResendOnce())
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def exchange(session: requests.Session, method: str, url: str, headers: Mapping[str, str],
             timeout: tuple[float, float], data: bytes | None, max_bytes: int,
             end: float | None) -> Answer:
    """Send one request and read the answer (blocking); redirects are returned."""
    if _UNSAFE.search(url):  # requests would quote or drop some of these: refuse instead
        raise InvalidURL("control characters or spaces in the URL")
    sent = dict(headers)
    # vbot's own Authorization wins: requests would otherwise let a ~/.netrc entry replace it
    own = _as_is if any(k.lower() == "authorization" for k in sent) else None
    try:
        if isinstance(session, Session):
            resp = session.exchange(method, url, sent, data, timeout, auth=own)
        else:
            resp = session.request(method, url, headers=sent, data=data, timeout=timeout,
                                   stream=True, allow_redirects=False, auth=own)
    except requests.exceptions.Timeout as exc:
        raise ExchangeTimeout(type(exc).__name__) from None
    except _UNSENDABLE as exc:
        raise InvalidURL(f"{type(exc).__name__}: {exc}") from None
    except ValueError as exc:  # e.g. a header value requests will not send
        raise InvalidURL(str(exc)) from None
    except _NETWORK as exc:
        raise ExchangeError(_why(exc)) from None
    try:
        body = b"" if method == "HEAD" else _read_body(resp, max_bytes, end)
    except BaseException:
        resp.close()  # a half-read connection is not reused
        raise
    resp.raw.release_conn()  # read to the end: the connection goes back to the pool
    return Answer(resp.status_code, resp.headers, body)


def _as_is(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """An auth hook that changes nothing (the request carries its own Authorization)."""
    return request


def _read_body(resp: requests.Response, max_bytes: int, end: float | None) -> bytes:
    declared = resp.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge(declared)
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            # read1: one wait for data at most, so a trickling body cannot outlive ``end``
            chunk = resp.raw.read1(_READ, decode_content=True)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > max_bytes:
                raise BodyTooLarge()
            chunks.append(chunk)
            if end is not None and time.monotonic() >= end:
                raise ExchangeTimeout("the body was still arriving at the deadline")
    except (urllib3.exceptions.ReadTimeoutError, TimeoutError) as exc:
        raise ExchangeTimeout(type(exc).__name__) from None
    except _NETWORK as exc:
        raise ExchangeError(_why(exc)) from None


def _why(exc: BaseException) -> str:
    """A short reason: the exception's type and its innermost cause's (no URLs: they may
    carry secrets)."""
    inner = exc
    for _ in range(8):
        nxt = inner.__cause__ or inner.__context__ or getattr(inner, "reason", None)
        if not isinstance(nxt, BaseException) and inner.args:
            nxt = inner.args[0]
        if not isinstance(nxt, BaseException) or nxt is inner:
            break
        inner = nxt
    name = type(exc).__name__
    return name if inner is exc else f"{name}: {type(inner).__name__}"
