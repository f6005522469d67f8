"""A persistent HTTP cache for conditional requests, and same-URL dedup within a sweep.

The entries live in one SQLite database, ``<cache dir>/cache.sqlite3`` (stdlib ``sqlite3``, WAL
mode): per cached GET a row with JSON metadata (URL, status, ``ETag``, ``Last-Modified``, content
type, ``Link``, body length) and the body. SQLite makes every write atomic, lets several vbot
processes on one machine (``--executor process``, shard jobs) share the cache, and costs a
fraction of a file per entry (benchmarks/RESULTS.md). A database that cannot be read is moved
aside and started afresh; an entry whose body length does not match its metadata is a miss.
Bodies live on disk only: a hit reads the row when the caller asks for it. Which keys the
database holds is read once, when it is opened, so a miss makes no query: every query gives up
the GIL, and on the event loop's thread, with a hundred HTTP threads running, getting it back
cost about a millisecond per request (benchmarks/RESULTS.md). An entry another process stores
after that is not seen by this sweep (its request goes out unconditionally).

- Across sweeps: a stored entry's validators are sent as ``If-None-Match`` /
  ``If-Modified-Since``; a ``304`` answer is served from the file.
- Within a sweep: a URL is fetched once; later requests for it (also concurrent ones, which wait
  for the first) are served from the file without a request.

Used from one event loop: one asyncio lock per URL being fetched.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import sqlite3
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

# statuses worth remembering (a 404 "no release" is an answer too); errors never are
CACHEABLE = frozenset({200, 203, 404, 410})
# request headers that change the answer, so they are part of the key (never credentials)
_VARY = ("Accept",)
DB_NAME = "cache.sqlite3"
FLUSH_ROWS = 256
FLUSH_BYTES = 8 << 20
_SCHEMA = ("CREATE TABLE IF NOT EXISTS entries "
           "(key TEXT PRIMARY KEY, meta TEXT NOT NULL, body BLOB NOT NULL)")


def default_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """``VBOT_CACHE_DIR``, else ``http`` under the user cache dir."""
    chosen = (os.environ if env is None else env).get("VBOT_CACHE_DIR")
    if chosen:
        return Path(chosen).expanduser()
    return Path(platformdirs.user_cache_dir("vbot")) / "http"


@dataclass(frozen=True)
class CachedMeta:
    url: str
    status: int
    etag: str | None
    last_modified: str | None
    content_type: str | None
    length: int
    link: str | None = None  # pagination (GitHub's Link header) survives a 304

    def validators(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


@dataclass(frozen=True)
class Fetched:
    """What the cache hands back: the HTTP client turns it into its own Response."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes


Send = Callable[[dict[str, str]], Awaitable[Fetched]]


@dataclass(frozen=True)
class Digest:
    """What a caller keeps of a fresh ``200`` answer: ``apply(answer) -> bytes``.

    The cache stores (and serves) the digest instead of the body, so a 304 costs a small read
    and no re-parsing of a large document. ``name`` is part of the cache key: change it
    whenever ``apply`` changes what it keeps.
    """

    name: str
    apply: Callable[[Fetched], bytes]


def _meta(raw: dict[str, Any]) -> CachedMeta:
    return CachedMeta(url=raw["url"], status=int(raw["status"]), etag=raw.get("etag"),
                      last_modified=raw.get("last_modified"),
                      content_type=raw.get("content_type"), length=int(raw["length"]),
                      link=raw.get("link"))


class HttpCache:
    """Disk-backed conditional-request cache shared by the checks of one sweep."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._db: sqlite3.Connection | None = None  # opened on first use
        self._pending: dict[str, tuple[str, bytes]] = {}  # written, not yet flushed
        self._held: set[str] = set()  # keys the database holds (read when it is opened)
        self._pending_bytes = 0
        self._broken = False  # the cache could not be opened: requests go out unconditionally
        self._inflight: dict[str, tuple[asyncio.Lock, int]] = {}
        self._fresh: set[str] = set()  # keys fetched or revalidated during this sweep
        self.not_modified = 0  # 304 answers served from disk
        self.deduplicated = 0  # requests saved because the URL was fetched earlier this sweep
        self.stored = 0

    # -- the database --------------------------------------------------------------------
    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        """The database at ``path`` (autocommit, WAL, no fsync per entry: it is a cache),
        its table created."""
        db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(_SCHEMA)
        except BaseException:
            db.close()
            raise
        return db

    def _conn(self) -> sqlite3.Connection | None:
        if self._db is not None or self._broken:
            return self._db
        path = self.root / DB_NAME
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            try:
                self._db = self._connect(path)
            except sqlite3.DatabaseError:  # damaged: keep it aside for a look, start again
                for suffix in ("", "-wal", "-shm"):
                    with contextlib.suppress(FileNotFoundError):
                        os.replace(f"{path}{suffix}", f"{path}.broken{suffix}")
                self._db = self._connect(path)
            self._held = {row[0] for row in self._db.execute("SELECT key FROM entries")}
        except (OSError, sqlite3.Error):
            self._broken = True
            if self._db is not None:
                self._db.close()
                self._db = None
        return self._db

    def flush(self) -> None:
        """Store the entries written since the last flush (one short transaction)."""
        if not self._pending or self._db is None:
            self._pending.clear()
            self._pending_bytes = 0
            return
        rows = [(key, meta, body) for key, (meta, body) in self._pending.items()]
        self._pending.clear()
        self._pending_bytes = 0
        try:
            with self._db:  # BEGIN ... COMMIT: the write lock is held for this insert only
                self._db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?)", rows)
            self._held.update(key for key, _, _ in rows)
        except sqlite3.Error:  # full disk, a lock held too long: the next sweep fetches again
            self.stored -= len(rows)

    def close(self) -> None:
        self.flush()
        if self._db is not None:
            self._db.close()
            self._db = None

    # -- keys and files ------------------------------------------------------------------
    @staticmethod
    def key(url: str, headers: Mapping[str, str], digest: str = "") -> str:
        vary = "\n".join(f"{h}:{headers.get(h, '')}" for h in _VARY)
        return hashlib.sha256(f"GET {url}\n{vary}\n{digest}".encode()).hexdigest()

    def _read(self, key: str) -> tuple[CachedMeta, bytes] | None:
        db = self._conn()
        if db is None:
            return None
        try:
            row = self._pending.get(key)
            if row is None and key in self._held:
                row = db.execute("SELECT meta, body FROM entries WHERE key = ?",
                                 (key,)).fetchone()
            if row is None:
                return None
            meta = _meta(json.loads(row[0]))
        except (sqlite3.Error, ValueError, KeyError, TypeError):
            return None
        body = bytes(row[1])
        return (meta, body) if meta.length == len(body) else None

    def _write(self, key: str, url: str, status: int, headers: Mapping[str, str],
               body: bytes) -> None:
        db = self._conn()
        if db is None:
            return
        meta = {"url": url, "status": status, "etag": headers.get("ETag"),
                "last_modified": headers.get("Last-Modified"),
                "content_type": headers.get("Content-Type"), "length": len(body)}
        if headers.get("Link"):
            meta["link"] = headers.get("Link")
        # batched: one transaction per FLUSH_ROWS entries or FLUSH_BYTES of bodies
        self._pending[key] = (json.dumps(meta, separators=(",", ":")), body)
        self._pending_bytes += len(body)
        self.stored += 1
        if len(self._pending) >= FLUSH_ROWS or self._pending_bytes >= FLUSH_BYTES:
            self.flush()

    def _served(self, key: str, found: tuple[CachedMeta, bytes] | None = None
                ) -> Fetched | None:
        found = found or self._read(key)
        if found is None:
            return None
        meta, body = found
        headers: dict[str, Any] = {"X-Vbot-Cache": "hit"}
        if meta.content_type:
            headers["Content-Type"] = meta.content_type
        if meta.etag:
            headers["ETag"] = meta.etag
        if meta.link:
            headers["Link"] = meta.link
        return Fetched(url=meta.url, status=meta.status, headers=headers, body=body)

    # -- the hook ------------------------------------------------------------------------
    def _lock_for(self, key: str) -> asyncio.Lock:
        lock, users = self._inflight.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._inflight[key] = (lock, users + 1)
        return lock

    def _release(self, key: str) -> None:
        lock, users = self._inflight[key]
        if users <= 1:
            del self._inflight[key]
        else:
            self._inflight[key] = (lock, users - 1)

    async def get(self, url: str, headers: Mapping[str, str], send: Send,
                  digest: Digest | None = None) -> Fetched:
        """Answer a GET of ``url``: from this sweep's copy, by revalidating, or by fetching.

        ``send(extra_headers)`` makes the real request (it must accept a 304 answer). With a
        ``digest``, a fresh 200 answer is digested before it is stored and returned (an error
        raised by the digest is raised here, and nothing is stored).
        """
        key = self.key(url, headers, digest.name if digest else "")
        lock = self._lock_for(key)
        try:
            async with lock:
                if key in self._fresh:
                    served = self._served(key)
                    if served is not None:
                        self.deduplicated += 1
                        return served
                # one read of the entry: most answers of a repeat sweep are 304s
                found = self._read(key)
                resp = await send(found[0].validators() if found else {})
                if resp.status == 304:
                    served = self._served(key, found) if found else None
                    if served is not None:
                        self.not_modified += 1
                        self._fresh.add(key)
                        return served
                    # a 304 to an unconditional request: ask again, unconditionally
                    resp = await send({})
                if digest is not None and resp.status == 200:
                    resp = Fetched(resp.url, resp.status, resp.headers, digest.apply(resp))
                if resp.status in CACHEABLE:
                    self._write(key, resp.url, resp.status, resp.headers, resp.body)
                    self._fresh.add(key)
                return resp
        finally:
            self._release(key)

    def stats(self) -> dict[str, int]:
        return {"not_modified": self.not_modified, "deduplicated": self.deduplicated,
                "stored": self.stored}
