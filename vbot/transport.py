"""A lean keep-alive HTTP/1.1 transport on ``http.client``, used per worker thread.

It stands in for ``requests.Session`` under ``vbot/http.py`` (same ``request(...)`` call, a
response with ``status_code``, ``headers``, ``is_redirect``, ``iter_content`` and ``close``, and
``requests`` exception types), because a sweep is bound by per-request CPU: measured on the
benchmark machine, a keep-alive GET through ``requests`` costs about 1.5 ms of CPU, through
``http.client`` about 0.3 ms. Redirects, retries, credentials and limits stay in ``vbot/http.py``.

- one connection per (scheme, host, port), kept alive; a reused connection that turns out to be
  closed by the server is reopened once (GET/HEAD only);
- connect timeout while connecting, read timeout afterwards;
- ``Accept-Encoding: gzip, deflate``; bodies are decoded while streaming;
- no proxies, no cookies, no environment: the same as the session it replaces.
"""

from __future__ import annotations

import http.client
import ssl
import zlib
from collections.abc import Iterator, Mapping
from urllib.parse import urlsplit

import requests
from requests.structures import CaseInsensitiveDict

REDIRECTS = frozenset({301, 302, 303, 307, 308})
_IDEMPOTENT = frozenset({"GET", "HEAD"})


def _ssl_context() -> ssl.SSLContext:
    try:
        import certifi

        return ssl.create_default_context(cafile=certifi.where())
    except ImportError:  # pragma: no cover - requests depends on certifi
        return ssl.create_default_context()


def _is_query(url: str) -> bool:
    """GraphQL queries are POSTs without side effects: safe to resend on a stale connection."""
    return urlsplit(url).path.endswith("/graphql")


class TransportResponse:
    """The parts of ``requests.Response`` that ``vbot/http.py`` uses, streaming."""

    def __init__(self, raw: http.client.HTTPResponse, conn: _Conn, method: str) -> None:
        self._raw = raw
        self._conn = conn
        self.status_code = raw.status
        self.headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
        for key, value in raw.getheaders():  # repeated headers are joined, as requests does
            self.headers[key] = f"{self.headers[key]}, {value}" if key in self.headers else value
        self._head = method == "HEAD"
        self._done = self._head
        self._coding = self.headers.get("Content-Encoding", "").strip().lower()
        self._inflate: zlib._Decompress | None = None

    @property
    def is_redirect(self) -> bool:
        return self.status_code in REDIRECTS and "Location" in self.headers

    @property
    def raw(self) -> TransportResponse:
        """What ``requests.Response.raw`` offers ``vbot/http.py``: ``read1``."""
        return self

    def read1(self, amt: int = 65536, decode_content: bool = True) -> bytes:
        """The (decoded) bytes of at most one socket read; b"" at the end of the body."""
        if self._inflate is None and decode_content and self._coding in ("gzip", "deflate"):
            self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 32)
        try:
            while True:
                chunk = self._raw.read1(amt)
                if not chunk:
                    self._done = True
                    return self._inflate.flush() if self._inflate is not None else b""
                if self._inflate is None:
                    return chunk
                chunk = self._inflate.decompress(chunk)
                if chunk:
                    return chunk
        except zlib.error as exc:
            self._conn.drop()
            raise requests.exceptions.ContentDecodingError(str(exc)) from None
        except TimeoutError:
            self._conn.drop()
            raise requests.ReadTimeout("read timed out") from None
        except (OSError, http.client.HTTPException) as exc:
            self._conn.drop()
            raise requests.exceptions.ChunkedEncodingError(type(exc).__name__) from None

    def iter_content(self, chunk_size: int = 65536) -> Iterator[bytes]:
        while True:
            chunk = self.read1(chunk_size)
            if not chunk:
                if self._done:
                    return
                continue
            yield chunk

    def close(self) -> None:
        """Release the connection; one whose body was not read to the end is closed, and so
        is one that answered a HEAD (a server that wrongly sends a body there would otherwise
        leave it in front of the next answer)."""
        if not self._done or self._head:
            self._conn.drop()
        self._raw.close()


class _Conn:
    def __init__(self, scheme: str, host: str, port: int, context: ssl.SSLContext | None) -> None:
        self.scheme, self.host, self.port, self.context = scheme, host, port, context
        self.http: http.client.HTTPConnection | None = None

    def open(self, connect_timeout: float, read_timeout: float) -> http.client.HTTPConnection:
        if self.scheme == "https":
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                self.host, self.port, timeout=connect_timeout, context=self.context)
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=connect_timeout)
        conn.connect()
        assert conn.sock is not None
        conn.sock.settimeout(read_timeout)
        self.http = conn
        return conn

    def drop(self) -> None:
        if self.http is not None:
            self.http.close()
            self.http = None


class Transport:
    """One thread's connections. Not thread-safe: ``vbot/http.py`` keeps one per thread."""

    def __init__(self, headers: Mapping[str, str] | None = None) -> None:
        self.headers = dict(headers or {})
        self._conns: dict[tuple[str, str, int], _Conn] = {}
        self._context: ssl.SSLContext | None = None

    def _conn(self, scheme: str, host: str, port: int) -> _Conn:
        key = (scheme, host, port)
        conn = self._conns.get(key)
        if conn is None:
            if scheme == "https" and self._context is None:
                self._context = _ssl_context()
            conn = self._conns[key] = _Conn(scheme, host, port,
                                            self._context if scheme == "https" else None)
        return conn

    def request(self, method: str, url: str, headers: Mapping[str, str] | None = None,
                timeout: tuple[float, float] | float = 30.0, stream: bool = True,
                allow_redirects: bool = False, data: bytes | None = None) -> TransportResponse:
        """Send one request; never follows redirects (``vbot/http.py`` does, by hand)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise requests.exceptions.InvalidURL(f"cannot send to {url!r}")
        connect_timeout, read_timeout = timeout if isinstance(timeout, tuple) else (timeout,) * 2
        port = parts.port or (443 if parts.scheme == "https" else 80)
        conn = self._conn(parts.scheme, parts.hostname, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sent = {"Accept-Encoding": "gzip, deflate", "Accept": "*/*", **self.headers,
                **dict(headers or {})}
        for attempt in (0, 1):
            if conn.http is not None and conn.http.sock is None:  # closed after the last answer
                conn.drop()
            reused = conn.http is not None
            try:
                client = conn.http or conn.open(connect_timeout, read_timeout)
            except TimeoutError:
                conn.drop()
                raise requests.ConnectTimeout(f"connecting to {parts.hostname} timed out") \
                    from None
            except (OSError, http.client.HTTPException) as exc:
                conn.drop()
                raise requests.ConnectionError(f"cannot connect: {type(exc).__name__}") from None
            try:
                client.request(method, target, body=data, headers=sent)
                raw = client.getresponse()
            except TimeoutError:
                conn.drop()
                raise requests.ReadTimeout("read timed out") from None
            except (http.client.InvalidURL, ValueError) as exc:
                conn.drop()
                raise requests.exceptions.InvalidURL(str(exc)) from None
            except (OSError, http.client.HTTPException) as exc:
                conn.drop()
                if reused and attempt == 0 and (method in _IDEMPOTENT or data is not None
                                                and method == "POST" and _is_query(url)):
                    continue  # the server closed the idle connection: once more, fresh
                raise requests.ConnectionError(type(exc).__name__) from None
            return TransportResponse(raw, conn, method)
        raise requests.ConnectionError("connection closed")  # pragma: no cover

    def close(self) -> None:
        for conn in self._conns.values():
            conn.drop()
        self._conns.clear()
