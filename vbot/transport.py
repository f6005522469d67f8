"""A lean keep-alive HTTP/1.1 client on asyncio streams, under ``vbot/http.py``.

Why not a client library: a sweep is bound by per-request CPU on a 2-core machine. Measured
against the fake upstream (benchmarks/RESULTS.md), one keep-alive GET of a ~5 KB JSON document
costs about 1.5 ms of CPU through ``requests`` in a thread, 0.65-0.8 ms through ``aiohttp``
and about 0.25-0.35 ms here (uvloop / plain asyncio). Redirects, retries, credentials, rate
limits, the body cap policy and the deadline stay in ``vbot/http.py``; this module only speaks
the protocol:

- one pool of idle connections per (scheme, host, port), used by one event loop (a pool made
  under another loop, e.g. by an earlier ``asyncio.run``, is dropped, not reused);
- a reused connection that turns out to be closed by the server is reopened once (GET/HEAD and
  GraphQL queries only);
- ``Content-Length``, chunked and read-to-close bodies; ``gzip``/``deflate`` decoded;
- the connect timeout while connecting, the read timeout for the head and between body reads;
- no proxies, no cookies, nothing from the environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

REDIRECTS = frozenset({301, 302, 303, 307, 308})
_IDEMPOTENT = frozenset({"GET", "HEAD"})
_READ = 65536
_MAX_HEAD = 65536
_MAX_IDLE = 64  # idle connections kept per origin
_UNSAFE = re.compile(r"[\x00-\x20\x7f]")


class TransportError(Exception):
    """The exchange failed on the network (refused, reset, truncated, garbled): transient."""


class TransportTimeout(TransportError):
    """Connecting or reading took longer than its timeout."""


class InvalidURL(Exception):
    """The URL cannot be sent (no host, another scheme, control characters)."""


class BodyTooLarge(Exception):
    """The body is (or says it is) larger than the cap; ``declared`` is its Content-Length."""

    def __init__(self, declared: str | None = None) -> None:
        super().__init__(declared)
        self.declared = declared


class Headers(dict[str, str]):
    """Response headers: keys kept as sent, looked up without regard to case."""

    def __init__(self) -> None:
        super().__init__()
        self._lower: dict[str, str] = {}

    def add(self, key: str, value: str) -> None:
        """Repeated headers are joined with ``, `` (as RFC 9110 allows)."""
        known = self._lower.get(key.lower())
        if known is not None:
            dict.__setitem__(self, known, f"{dict.__getitem__(self, known)}, {value}")
            return
        self._lower[key.lower()] = key
        dict.__setitem__(self, key, value)

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        known = self._lower.get(key.lower())
        return default if known is None else dict.__getitem__(self, known)

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._lower


@dataclass
class Answer:
    """One response: status, headers and the (decoded) body; HEAD and redirects have none."""

    status: int
    headers: Headers
    body: bytes

    @property
    def is_redirect(self) -> bool:
        return self.status in REDIRECTS and "Location" in self.headers


def _ssl_context() -> ssl.SSLContext:
    try:
        import certifi

        return ssl.create_default_context(cafile=certifi.where())
    except ImportError:  # pragma: no cover - certifi is a dependency
        return ssl.create_default_context()


def _is_query(url: str) -> bool:
    """GraphQL queries are POSTs without side effects: safe to resend on a stale connection."""
    return urlsplit(url).path.endswith("/graphql")


def _head_of(raw: bytes) -> tuple[int, Headers]:
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise TransportError(f"malformed status line {lines[0][:60]!r}")
    headers = Headers()
    for line in lines[1:]:
        if not line:
            continue
        key, sep, value = line.partition(":")
        if not sep or not key or key != key.strip():
            raise TransportError(f"malformed header line {line[:60]!r}")
        headers.add(key, value.strip())
    return int(parts[1]), headers


class _Conn:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):  # its loop is gone already
            self.writer.close()


class _Exchange:
    """Reading one response from a connection, every wait bounded by the read timeout."""

    def __init__(self, conn: _Conn, timer: asyncio.Timeout, read_timeout: float,
                 max_bytes: int, end: float | None) -> None:
        self.conn, self.timer, self.read_timeout = conn, timer, read_timeout
        self.max_bytes, self.end = max_bytes, end
        self.loop = asyncio.get_running_loop()
        self.size = 0
        self.keep = True  # the connection can carry another request afterwards

    def _tick(self) -> None:
        """Another read may take ``read_timeout`` again, but never past ``end``."""
        when = self.loop.time() + self.read_timeout
        self.timer.reschedule(when if self.end is None else min(when, self.end))

    def _count(self, n: int) -> None:
        self.size += n
        if self.size > self.max_bytes:
            raise BodyTooLarge()

    async def head(self) -> tuple[int, Headers]:
        try:
            raw = await self.conn.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            raise TransportError("connection closed before the answer" if not exc.partial
                                 else "truncated response head") from None
        except asyncio.LimitOverrunError:
            raise TransportError("response head too large") from None
        return _head_of(raw[:-4])

    async def body(self, headers: Headers) -> bytes:
        reader = self.conn.reader
        chunks: list[bytes] = []
        if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
            while True:
                self._tick()
                line = await reader.readline()
                size_text = line.split(b";", 1)[0].strip()
                try:
                    size = int(size_text, 16)
                except ValueError:
                    raise TransportError("malformed chunked body") from None
                if size == 0:
                    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                self._count(size)
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
            return b"".join(chunks)
        declared = headers.get("Content-Length")
        if declared is not None:
            if not declared.isdigit():
                raise TransportError(f"malformed Content-Length {declared[:20]!r}")
            left = int(declared)
            if left > self.max_bytes:
                raise BodyTooLarge(declared)
            while left:
                self._tick()
                chunk = await reader.read(min(_READ, left))
                if not chunk:
                    raise TransportError("body shorter than its Content-Length")
                left -= len(chunk)
                chunks.append(chunk)
            return b"".join(chunks)
        self.keep = False  # read to close
        while True:
            self._tick()
            chunk = await reader.read(_READ)
            if not chunk:
                return b"".join(chunks)
            self._count(len(chunk))
            chunks.append(chunk)


def _decode(body: bytes, coding: str, max_bytes: int) -> bytes:
    if coding not in ("gzip", "deflate") or not body:
        return body
    inflate = zlib.decompressobj(zlib.MAX_WBITS | 32)
    try:
        out = inflate.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise TransportError(f"cannot decode the {coding} body ({exc})") from None
    if len(out) > max_bytes:
        raise BodyTooLarge()
    return out


class Transport:
    """Connections of one event loop, pooled per origin. Not shared between loops."""

    def __init__(self, headers: Mapping[str, str] | None = None) -> None:
        self.headers = {"Accept-Encoding": "gzip, deflate", "Accept": "*/*", **(headers or {})}
        self._idle: dict[tuple[str, str, int], list[_Conn]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._context: ssl.SSLContext | None = None

    def _pool(self, key: tuple[str, str, int]) -> list[_Conn]:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # connections of another (finished) loop are useless
            self._idle = {}
            self._loop = loop
        return self._idle.setdefault(key, [])

    async def _open(self, scheme: str, host: str, port: int, connect_timeout: float) -> _Conn:
        context = None
        if scheme == "https":
            context = self._context = self._context or _ssl_context()
        try:
            async with asyncio.timeout(connect_timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=context, limit=_MAX_HEAD,
                    server_hostname=host if context else None)
        except TimeoutError:
            raise TransportTimeout(f"connecting to {host} timed out") from None
        except (OSError, ssl.SSLError) as exc:
            raise TransportError(f"cannot connect: {type(exc).__name__}") from None
        return _Conn(reader, writer)

    async def request(self, method: str, url: str, headers: Mapping[str, str] | None = None,
                      timeout: tuple[float, float] = (5.0, 20.0), data: bytes | None = None,
                      max_bytes: int = 32 << 20, within: float | None = None,
                      parts: SplitResult | None = None) -> Answer:
        """Send one request and read the answer; redirects are returned, not followed.

        ``within``: seconds the whole exchange may take at most (a sweep deadline), however
        steadily a slow body keeps arriving. ``parts``: ``urlsplit(url)`` when the caller has it.
        """
        if _UNSAFE.search(url):  # urlsplit would silently drop CR/LF/TAB: refuse instead
            raise InvalidURL("control characters or spaces in the URL")
        parts = parts or urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidURL(f"cannot send to {url!r}")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise InvalidURL("invalid port") from None
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sent = {**self.headers, **(headers or {}), "Host": parts.netloc.rpartition("@")[2]}
        if data is not None:
            sent["Content-Length"] = str(len(data))
        lines = [f"{method} {target} HTTP/1.1", *(f"{k}: {v}" for k, v in sent.items())]
        text = "\r\n".join(lines)
        breaks = len(lines) - 1  # CR and LF only where this code put them (no header injection)
        if text.count("\n") != breaks or text.count("\r") != breaks or "\x00" in text:
            raise InvalidURL("control characters in the request")
        try:
            wire = text.encode("latin-1") + b"\r\n\r\n" + (data or b"")
        except UnicodeEncodeError:
            raise InvalidURL("non-Latin-1 characters in the request") from None
        key = (parts.scheme, parts.hostname, port)
        pool = self._pool(key)
        connect_timeout, read_timeout = timeout
        for attempt in (0, 1):
            reused = bool(pool)
            conn = pool.pop() if pool else await self._open(*key, connect_timeout)
            try:
                end = None if within is None else asyncio.get_running_loop().time() + within
                return await self._exchange(conn, pool, method, wire, read_timeout,
                                            max_bytes, end)
            except TransportError:
                conn.close()
                retry = reused and attempt == 0 and (
                    method in _IDEMPOTENT or (method == "POST" and _is_query(url)))
                if not retry:
                    raise
                # the server closed the idle connection: once more, fresh
            except BaseException:
                conn.close()
                raise
        raise TransportError("connection closed")  # pragma: no cover

    async def _exchange(self, conn: _Conn, pool: list[_Conn], method: str, wire: bytes,
                        read_timeout: float, max_bytes: int, end: float | None) -> Answer:
        try:
            async with asyncio.timeout(read_timeout) as timer:
                conn.writer.write(wire)
                exchange = _Exchange(conn, timer, read_timeout, max_bytes, end)
                status, headers = await exchange.head()
                while 100 <= status < 200:  # interim answers
                    status, headers = await exchange.head()
                if method == "HEAD" or status in (204, 304):
                    body, keep = b"", method != "HEAD"  # a wrong body after HEAD: do not reuse
                elif status in REDIRECTS:
                    body, keep = b"", False  # the body of a redirect is not read
                else:
                    body = await exchange.body(headers)
                    keep = exchange.keep
        except TimeoutError:
            raise TransportTimeout("read timed out") from None
        except asyncio.IncompleteReadError:
            raise TransportError("connection closed mid-body") from None
        except (OSError, asyncio.LimitOverrunError, ValueError) as exc:
            raise TransportError(type(exc).__name__) from None
        if "close" in (headers.get("Connection") or "").lower():
            keep = False
        if keep and len(pool) < _MAX_IDLE:
            pool.append(conn)
        else:
            conn.close()
        coding = (headers.get("Content-Encoding") or "").strip().lower()
        return Answer(status, headers, _decode(body, coding, max_bytes))

    def close(self) -> None:
        for pool in self._idle.values():
            for conn in pool:
                conn.close()
        self._idle = {}
