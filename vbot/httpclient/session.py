"""One blocking HTTP exchange through ``requests``, under ``vbot/httpclient/client.py``.

``client.py`` keeps what requests does not do (the time limits, per-host concurrency, redaction,
the cache) on the event loop and hands each exchange to a thread of a bounded pool; this module
is what runs in that thread, on requests' and urllib3's own machinery:

- one ``Session`` per client, shared by the pool's threads; its ``HTTPAdapter`` keeps
  keep-alive connections per host (``pool_maxsize`` = the client's concurrency,
  ``pool_block=True``: never more connections to a host than that) and retries through
  urllib3's ``Retry`` (``Retries``: connection errors, read errors, 429 and 5xx, with
  exponential backoff, full jitter and ``Retry-After``); cookies are never stored or sent;
- what requests' ``trust_env`` gives is kept: ``HTTP(S)_PROXY``/``ALL_PROXY``/``NO_PROXY``,
  ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` and ``.netrc`` are honoured as requests honours them,
  on the first hop and on redirect hops, but read once per session (``Environment``) instead of
  on every request (``trust_env`` itself is off);
- requests follows redirects (at most ``MAX_REDIRECTS``); ``[http] rewrite`` applies to every
  hop (``get_redirect_target``), and ``rebuild_auth`` re-decides credentials per hop:
- **credentials**: each belongs to a URL prefix (scheme, host, port, path) and is attached only
  to requests under it, on the first hop (``prepare_request``) and on every redirect hop
  (``rebuild_auth``: vbot's own credentials are removed, then re-applied when the new URL is
  under their prefix; ``Authorization``/``Cookie``/``Private-Token`` headers a caller set are
  dropped when a hop changes origin). **No credential goes over plain http except to
  loopback** (127.0.0.0/8, ::1, ``localhost``): on such a request ``Authorization``,
  ``Private-Token`` and vbot's credential headers are removed, whoever set them (a ``.netrc``
  entry included). ``client.py`` leaves such a credential out from the start and the sweep says
  so once (``vbot/check/factory.py``); this module is the last line;
- the body is streamed and read in bounded pieces, redirect bodies included: a declared length
  over the cap is refused before reading, a decoded body over the cap (gzip bombs included) is
  cut off;
- ``end`` (a ``time.monotonic()`` value: the request's time limit or the sweep deadline,
  whichever comes first) bounds the exchange: no retry waits past it, and every read from the
  socket (status line, headers and body alike) waits at most until it (``_LimitedResponse``,
  the response class of the adapter's connections), so an answer trickling in byte by byte is
  cut off there.

urllib3's ``Retry`` objects are shared by every request of the adapter, so the limits of the
exchange running in a thread (``end``, the body cap) live in a thread-local (``_running``) that
``exchange`` sets and the retry and redirect hooks read.
"""

from __future__ import annotations

import email.utils
import http.client
import http.cookiejar
import io
import ipaddress
import os
import random
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit

import requests
import requests.adapters
import requests.auth
import requests.cookies
import requests.utils
import urllib3.connection
import urllib3.connectionpool
import urllib3.exceptions
import urllib3.poolmanager
from urllib3.util.retry import Retry

MAX_REDIRECTS = 5
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
# headers that carry a secret: dropped from a redirect hop that changes origin
SECRET_HEADERS = ("Authorization", "Cookie", "Private-Token")
# headers that carry a credential: never sent over plain http except to loopback
CREDENTIAL_HEADERS = frozenset({"authorization", "private-token"})
_READ = 65536
_UNSAFE = re.compile(r"[\x00-\x20\x7f]")
_POOLED_HOSTS = 64  # hosts whose connection pools an adapter keeps
_running = threading.local()  # ``end`` and ``max_bytes`` of the exchange running in a thread


class ExchangeError(Exception):
    """The exchange failed on the network (refused, reset, truncated, garbled): transient."""


class ExchangeTimeout(ExchangeError):
    """Connecting or reading took longer than its timeout (or ran past ``end``)."""


class InvalidURL(Exception):
    """The URL or a header cannot be sent (no host, bad port, control characters)."""


class RefusedScheme(InvalidURL):
    """A redirect led to a URL that is not http(s)."""

    def __init__(self, scheme: str) -> None:
        super().__init__(scheme)
        self.scheme = scheme


class TooManyRedirects(Exception):
    """More than ``MAX_REDIRECTS`` redirects."""


class BodyTooLarge(Exception):
    """The body is (or says it is) larger than the cap; ``declared`` is its Content-Length."""

    def __init__(self, declared: str | None = None) -> None:
        super().__init__(declared)
        self.declared = declared


@dataclass(frozen=True)
class Answer:
    """One response: status, headers (case-insensitive), the decoded body, the URL that
    answered (after redirects) and how many requests it took (retries and hops)."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str = ""
    attempts: int = 1


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


def rewrite(url: str, rules: Iterable[tuple[str, str]]) -> str:
    """``url`` with the first matching ``(old prefix, new prefix)`` rule applied."""
    for old, new in rules:
        if url.startswith(old):
            return new + url[len(old):]
    return url


def origin(url: str | SplitResult) -> str:
    """``scheme://host[:port]`` of a URL (or of its ``urlsplit``), lower case, no credentials."""
    parts = urlsplit(url) if isinstance(url, str) else url
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}".lower()


def prefix_of(url: str) -> str:
    """``url`` as a credential prefix: lower-case origin, path ending in ``/``."""
    parts = urlsplit(url)
    return origin(parts) + parts.path.rstrip("/") + "/"


def under(url: str, prefix: str) -> bool:
    """Whether ``url`` is at or below ``prefix`` (a ``prefix_of`` value): same scheme, host and
    port, and a path that is the prefix's or continues it after a ``/``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return (origin(parts) + parts.path.rstrip("/") + "/").startswith(prefix)


def is_loopback(host: str | None) -> bool:
    """127.0.0.0/8, ::1 (also IPv4-mapped) and the name ``localhost``."""
    if not host:
        return False
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def may_carry_credentials(url: str) -> bool:
    """A credential may go to ``url``: https, or plain http to a loopback host."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    if parts.scheme.lower() == "https":
        return True
    return parts.scheme.lower() == "http" and is_loopback(host)


class Retries(Retry):
    """urllib3's ``Retry`` with vbot's rules on top.

    - a 403 carrying ``Retry-After`` (a secondary rate limit) is retried like a 429;
    - a refusal whose ``Retry-After`` is beyond ``max_retry_after``, or that says the rate limit
      is exhausted (``X-RateLimit-Remaining: 0``), is not retried: it goes back to the caller
      at once (the client fails it as rate-limited; the GitHub sources pause their scope);
    - backoff: full jitter, uniform in [0, ``backoff_factor`` * 2^(n-1)], n the retry number;
    - no wait runs past the running exchange's ``end``: then the last answer (or error) stands.
    """

    max_retry_after: float = 60.0
    _wait: float = 0.0

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code == 403 and has_retry_after and self.total \
                and self._is_method_retryable(method):
            return True
        return super().is_retry(method, status_code, has_retry_after)

    def increment(self, method: str | None = None, url: str | None = None,
                  response: Any = None, error: Exception | None = None,
                  _pool: Any = None, _stacktrace: Any = None) -> Retry:
        wait = None
        if response is not None:
            wait = retry_after(response.headers.get("Retry-After"))
            if (wait is not None and wait > self.max_retry_after) \
                    or response.headers.get("X-RateLimit-Remaining") == "0":
                raise urllib3.exceptions.MaxRetryError(_pool, url or "", None)  # the caller's
        new = super().increment(method, url, response, error, _pool, _stacktrace)
        assert isinstance(new, Retries)
        new.max_retry_after = self.max_retry_after
        if wait is None:
            ceiling = self.backoff_factor * (2 ** (len(new.history) - 1))
            wait = random.uniform(0, min(self.backoff_max, ceiling))
        end = getattr(_running, "end", None)
        if end is not None and time.monotonic() + wait >= end:  # no time left to wait for
            raise urllib3.exceptions.MaxRetryError(_pool, url or "", error)
        new._wait = wait
        return new

    def sleep(self, response: Any = None) -> None:
        if self._wait > 0:
            time.sleep(self._wait)


def retries_for(retries: int, backoff: float, max_retry_after: float) -> Retries:
    """The adapter's retry policy: ``retries`` more attempts after connection errors, read
    errors (reset, timed out before the answer) and 429/5xx answers, for every method."""
    policy = Retries(total=retries, connect=retries, read=retries, status=retries, other=0,
                     redirect=False, allowed_methods=None, status_forcelist=RETRY_STATUS,
                     backoff_factor=backoff, backoff_max=max(max_retry_after, backoff),
                     raise_on_status=False, raise_on_redirect=False,
                     respect_retry_after_header=True)
    policy.max_retry_after = max_retry_after
    return policy


_UNSET = object()
_MEMO = 4096  # hosts an ``Environment`` remembers its answers for (then it starts over)


class Environment:
    """What requests' ``trust_env`` takes from the environment, read once instead of on every
    request: ``HTTP(S)_PROXY``/``ALL_PROXY`` (and the platform's proxy settings) with
    ``NO_PROXY``, ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``, and the ``.netrc`` entries
    (``NETRC`` or the home directory's file).

    The environment is operator input, set before the run and not changed during it. The CA
    bundle is read when the session is built; the answers for a host (its proxies, its
    ``.netrc`` login) are requests' own (``get_environ_proxies``, ``get_netrc_auth``), asked the
    first time the session meets the host and remembered for the session's life.
    """

    def __init__(self) -> None:
        self.ca_bundle = (os.environ.get("REQUESTS_CA_BUNDLE")
                          or os.environ.get("CURL_CA_BUNDLE") or None)
        self._proxies: dict[tuple[str, str], dict[str, str]] = {}
        self._netrc: dict[str, Any] = {}

    def proxies_for(self, url: str) -> dict[str, str]:
        """The environment's proxies for ``url`` (``{}`` when NO_PROXY covers its host)."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return {}
        key = (parts.scheme.lower(), parts.netloc.lower())
        found = self._proxies.get(key)
        if found is None:
            found = requests.utils.get_environ_proxies(url)
            if len(self._proxies) >= _MEMO:
                self._proxies.clear()
            self._proxies[key] = found
        return found

    def netrc_auth(self, url: str) -> tuple[str, str] | None:
        """The ``.netrc`` login for ``url``'s host, if any."""
        try:
            key = urlsplit(url).netloc.lower()
        except ValueError:
            return None
        found = self._netrc.get(key, _UNSET)
        if found is _UNSET:
            found = requests.utils.get_netrc_auth(url)
            if len(self._netrc) >= _MEMO:
                self._netrc.clear()
            self._netrc[key] = found
        return found  # type: ignore[return-value]



class _NoCookies(requests.cookies.RequestsCookieJar):
    """The session's cookie jar: it never stores a cookie (so none is ever sent from it); an
    answer's ``Set-Cookie`` is not even parsed."""

    def __init__(self) -> None:
        super().__init__(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None

    def set_cookie(self, cookie: Any, *args: Any, **kwargs: Any) -> None:
        return None


class Session(requests.Session):
    """``requests.Session`` that attaches per-prefix credentials, applies URL rewrites to
    redirect hops and refuses non-http(s) hops (see the module docstring)."""

    def __init__(self, credentials: Sequence[tuple[str, Mapping[str, str]]] = (),
                 rewrites: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__()
        self.credentials = tuple((prefix, dict(headers)) for prefix, headers in credentials)
        self.rewrites = tuple(rewrites)
        self._own = frozenset((name.lower(), value) for _, headers in self.credentials
                              for name, value in headers.items())
        self._credential_names = CREDENTIAL_HEADERS | {name for name, _ in self._own}
        self.max_redirects = MAX_REDIRECTS
        self.cookies = _NoCookies()
        self.hooks["response"].append(_read_redirect_body)
        self.params = None  # vbot never sets session-wide query parameters
        # the environment, read once (see ``Environment``); requests' own per-request reading
        # of it is off, everything it gave comes from this snapshot instead
        self.environment = Environment()
        self.trust_env = False

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        if not request.auth and not self.auth:  # .netrc, as requests' trust_env does
            request.auth = self.environment.netrc_auth(request.url or "")
        prep = super().prepare_request(request)
        self._authorize(prep)
        return prep

    def merge_environment_settings(self, url: str, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> dict[str, Any]:
        """requests' merge of the environment's proxies and CA bundle into a request's
        settings, from the snapshot (``Environment``) instead of reading the environment."""
        merged = dict(self.proxies or {})
        merged.update(proxies or {})
        for key, value in self.environment.proxies_for(url).items():
            merged.setdefault(key, value)
        merged = {k: v for k, v in merged.items() if v is not None}
        if verify is True or verify is None:
            verify = self.environment.ca_bundle or verify
        return {"proxies": merged, "stream": self.stream if stream is None else stream,
                "verify": self.verify if verify is None else verify,
                "cert": self.cert if cert is None else cert}

    def rebuild_proxies(self, prepared_request: requests.PreparedRequest,
                        proxies: Any) -> dict[str, str]:
        """A redirect hop's proxies, as requests decides them with ``trust_env`` (the
        environment's proxy for the hop's scheme unless NO_PROXY covers its host; a
        ``Proxy-Authorization`` from the proxy URL's userinfo on plain http only), from the
        snapshot."""
        url = prepared_request.url or ""
        scheme = urlsplit(url).scheme
        new = dict(proxies or {})
        found = self.environment.proxies_for(url)
        proxy = found.get(scheme, found.get("all"))
        if proxy:
            new.setdefault(scheme, proxy)
        headers = prepared_request.headers
        headers.pop("Proxy-Authorization", None)
        try:
            user, password = requests.utils.get_auth_from_url(new[scheme])
        except KeyError:
            user, password = "", ""
        if not scheme.startswith("https") and user and password:
            headers["Proxy-Authorization"] = requests.auth._basic_auth_str(user, password)
        return new

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        location = super().get_redirect_target(resp)
        if location is None:
            return None
        try:
            return rewrite(urljoin(resp.url, location), self.rewrites)
        except ValueError:
            return location  # requests refuses it when preparing the hop

    def rebuild_auth(self, prepared_request: requests.PreparedRequest,
                     response: requests.Response) -> None:
        headers = prepared_request.headers
        url = prepared_request.url or ""
        if origin(response.request.url or "") != origin(url):
            for name in SECRET_HEADERS:
                headers.pop(name, None)
        for name, value in list(headers.items()):
            if (name.lower(), value) in self._own:
                del headers[name]
        if "Authorization" not in headers:
            netrc = self.environment.netrc_auth(url)
            if netrc is not None:
                prepared_request.prepare_auth(netrc)
        self._authorize(prepared_request)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        scheme = urlsplit(request.url or "").scheme.lower()
        if scheme not in ("http", "https"):
            raise RefusedScheme(scheme or "schemeless")
        return super().send(request, **kwargs)

    def _authorize(self, prep: requests.PreparedRequest) -> None:
        """This URL's credentials on, and every credential off where none may go."""
        url = prep.url or ""
        for prefix, headers in self.credentials:
            if under(url, prefix):
                prep.headers.update(headers)
        names = [n for n in prep.headers if n.lower() in self._credential_names]
        if names and not may_carry_credentials(url):
            for name in names:
                del prep.headers[name]


class _UntilEnd(io.RawIOBase):
    """The socket's reader for http.client, each read waiting at most until ``end``."""

    def __init__(self, sock: Any, end: float) -> None:
        super().__init__()
        self._sock, self._end = sock, end
        self._raw = sock.makefile("rb", buffering=0)  # keeps the socket open while in use

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        left = self._end - time.monotonic()
        if left <= 0:
            raise TimeoutError("the time limit of the exchange passed")
        timeout = self._sock.gettimeout()
        if timeout is None or timeout > left:
            self._sock.settimeout(left)
            try:
                return self._raw.readinto(buffer)
            finally:
                self._sock.settimeout(timeout)
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _LimitedResponse(http.client.HTTPResponse):
    """http.client's response, reading through ``_UntilEnd`` when the exchange running in
    this thread has an ``end``."""

    def __init__(self, sock: Any, *args: Any, **kwargs: Any) -> None:
        end = getattr(_running, "end", None)
        super().__init__(sock if end is None else _Socket(sock, end), *args, **kwargs)


class _Socket:
    """The one thing ``http.client.HTTPResponse`` asks of its socket, its reader: here one
    whose reads wait at most until ``end`` (built once, not swapped in after a plain one)."""

    __slots__ = ("end", "sock")

    def __init__(self, sock: Any, end: float) -> None:
        self.sock, self.end = sock, end

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_UntilEnd(self.sock, self.end))


class _Connection(urllib3.connection.HTTPConnection):
    response_class = _LimitedResponse


class _TLSConnection(urllib3.connection.HTTPSConnection):
    response_class = _LimitedResponse


class _Pool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _Connection


class _TLSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _TLSConnection


_POOLS = {"http": _Pool, "https": _TLSPool}


class Adapter(requests.adapters.HTTPAdapter):
    """requests' ``HTTPAdapter`` whose connections read under the exchange's ``end``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._keys: dict[tuple[Any, ...], Any] = {}
        super().__init__(*args, **kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def build_connection_pool_key_attributes(self, request: requests.PreparedRequest,
                                             verify: Any, cert: Any = None) -> Any:
        """requests' pool key for the request's origin and TLS settings, worked out (a stat
        of the CA path included) once per origin and settings."""
        parts = urlsplit(request.url or "")
        key = (parts.scheme.lower(), parts.netloc.lower(), verify,
               cert if not isinstance(cert, list) else tuple(cert))
        found = self._keys.get(key)
        if found is None:
            found = super().build_connection_pool_key_attributes(request, verify, cert)
            if len(self._keys) >= _MEMO:
                self._keys.clear()
            self._keys[key] = found
        host_params, pool_kwargs = found
        return dict(host_params), dict(pool_kwargs)

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        """requests' TLS set-up of a connection pool (CA path checked on disk), done again only
        when the pool's settings change, not on every request."""
        settings = (url[:5].lower() == "https", verify,
                    cert if not isinstance(cert, list) else tuple(cert))
        if getattr(conn, "_vbot_tls", None) != settings:
            super().cert_verify(conn, url, verify, cert)
            conn._vbot_tls = settings

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if manager.pool_classes_by_scheme is urllib3.poolmanager.pool_classes_by_scheme:
            manager.pool_classes_by_scheme = _POOLS  # not SOCKS proxies: they have their own
        return manager


def new_session(headers: Mapping[str, str], pool_size: int, retries: Retries | None = None,
                credentials: Sequence[tuple[str, Mapping[str, str]]] = (),
                rewrites: Sequence[tuple[str, str]] = ()) -> Session:
    """A session keeping at most ``pool_size`` connections per host (``pool_block``: a request
    beyond that waits for one), retrying by ``retries`` (default: never)."""
    session = Session(credentials, rewrites)
    session.headers.update(headers)
    adapter = Adapter(
        pool_connections=_POOLED_HOSTS, pool_maxsize=max(1, pool_size), pool_block=True,
        max_retries=retries if retries is not None else retries_for(0, 0.0, 0.0))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


_NETWORK = (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError, urllib3.exceptions.HTTPError,
            http.client.HTTPException, OSError)
_UNSENDABLE = (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
               requests.exceptions.MissingSchema, requests.exceptions.InvalidHeader,
               requests.exceptions.URLRequired, urllib3.exceptions.LocationParseError,
               http.client.InvalidURL, UnicodeError)
_TIMEOUTS = (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)


def exchange(session: requests.Session, method: str, url: str, headers: Mapping[str, str],
             timeout: tuple[float, float], data: bytes | None, max_bytes: int,
             end: float | None) -> Answer:
    """Send one request (retries and redirects as the session does them) and read the answer
    (blocking). ``end``: a ``time.monotonic()`` time by which everything must be over."""
    if _UNSAFE.search(url):  # requests would quote or drop some of these: refuse instead
        raise InvalidURL("control characters or spaces in the URL")
    _running.end, _running.max_bytes = end, max_bytes
    try:
        try:
            resp = session.request(method, url, headers=dict(headers) or None, data=data,
                                   timeout=timeout, stream=True, allow_redirects=True)
        except (InvalidURL, TooManyRedirects, BodyTooLarge, ExchangeError):
            raise
        except requests.exceptions.TooManyRedirects as exc:
            if exc.response is not None:
                exc.response.close()  # its connection goes back to the pool
            raise TooManyRedirects() from None
        except _UNSENDABLE as exc:
            raise InvalidURL(f"{type(exc).__name__}: {exc}") from None
        except ValueError as exc:  # e.g. a header value requests will not send
            raise InvalidURL(str(exc)) from None
        except _NETWORK as exc:
            if _timed_out(exc):
                raise ExchangeTimeout(_why(exc)) from None
            raise ExchangeError(_why(exc)) from None
        try:
            body = b"" if method == "HEAD" else _read_body(resp, max_bytes)
        except BaseException:
            resp.close()  # a half-read connection is not reused
            raise
        resp.raw.release_conn()  # read to the end: the connection goes back to the pool
        attempts = sum(1 + len(getattr(getattr(r.raw, "retries", None), "history", ()) or ())
                       for r in (*resp.history, resp))
        return Answer(resp.status_code, resp.headers, body, resp.url or url, attempts)
    finally:
        _running.end = _running.max_bytes = None


def _read_redirect_body(resp: requests.Response, **_: Any) -> requests.Response:
    """Response hook: read a redirect's body under the cap before requests consumes it
    (requests would read any length)."""
    if resp.is_redirect:
        max_bytes = getattr(_running, "max_bytes", None)
        try:
            _read_body(resp, max_bytes if max_bytes is not None else 1 << 20)
        except BaseException:
            resp.close()
            raise
    return resp


def _read_body(resp: requests.Response, max_bytes: int) -> bytes:
    declared = resp.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge(declared)
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            # read1: one wait for data at most (bounded by ``end``, see ``_UntilEnd``)
            chunk = resp.raw.read1(_READ, decode_content=True)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > max_bytes:
                raise BodyTooLarge()
            chunks.append(chunk)
    except _TIMEOUTS as exc:
        raise ExchangeTimeout(type(exc).__name__) from None
    except _NETWORK as exc:
        raise ExchangeError(_why(exc)) from None


def _timed_out(exc: BaseException) -> bool:
    """Whether a timeout is anywhere in ``exc``'s chain of causes (urllib3 wraps a read
    timeout in ``MaxRetryError`` and requests that in ``ConnectionError``)."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, _TIMEOUTS):
            return True
        nxt = seen.__cause__ or seen.__context__ or getattr(seen, "reason", None)
        if not isinstance(nxt, BaseException) and seen.args \
                and isinstance(seen.args[0], BaseException):
            nxt = seen.args[0]
        seen = nxt if isinstance(nxt, BaseException) and nxt is not seen else None
    return False


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
