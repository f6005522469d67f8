"""A persistent HTTP cache for conditional requests, and same-URL dedup within a sweep.

One file per cached GET under ``<cache dir>/<key[:2]>/<key>``: a first line of JSON metadata
(URL, status, ``ETag``, ``Last-Modified``, content type, body length) then the body bytes. Files
are written to a temp file and renamed into place, so a crash leaves either the old entry or the
new one; an entry whose body length does not match its metadata is treated as missing. Bodies
live on disk only: a hit reads the file when the caller asks for it.

- Across sweeps: a stored entry's validators are sent as ``If-None-Match`` /
  ``If-Modified-Since``; a ``304`` answer is served from the file.
- Within a sweep: a URL is fetched once; later requests for it (also concurrent ones, which wait
  for the first) are served from the file without a request.

Thread-safe: one lock per URL being fetched, a lock around the shared bookkeeping.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

# statuses worth remembering (a 404 "no release" is an answer too); errors never are
CACHEABLE = frozenset({200, 203, 404, 410})
# request headers that change the answer, so they are part of the key (never credentials)
_VARY = ("Accept",)


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


Send = Callable[[dict[str, str]], Fetched]


class HttpCache:
    """Disk-backed conditional-request cache shared by the worker threads of one sweep."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._guard = threading.Lock()
        self._inflight: dict[str, tuple[threading.Lock, int]] = {}
        self._fresh: set[str] = set()  # keys fetched or revalidated during this sweep
        self.not_modified = 0  # 304 answers served from disk
        self.deduplicated = 0  # requests saved because the URL was fetched earlier this sweep
        self.stored = 0

    # -- keys and files ------------------------------------------------------------------
    @staticmethod
    def key(url: str, headers: Mapping[str, str]) -> str:
        vary = "\n".join(f"{h}:{headers.get(h, '')}" for h in _VARY)
        return hashlib.sha256(f"GET {url}\n{vary}".encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / key

    def read_meta(self, key: str) -> CachedMeta | None:
        try:
            with open(self._path(key), "rb") as fh:
                meta = json.loads(fh.readline())
                size = os.fstat(fh.fileno()).st_size - fh.tell()
            entry = CachedMeta(url=meta["url"], status=int(meta["status"]),
                               etag=meta.get("etag"), last_modified=meta.get("last_modified"),
                               content_type=meta.get("content_type"), length=int(meta["length"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return entry if entry.length == size else None

    def _read(self, key: str) -> tuple[CachedMeta, bytes] | None:
        try:
            with open(self._path(key), "rb") as fh:
                raw = json.loads(fh.readline())
                body = fh.read()
            meta = CachedMeta(url=raw["url"], status=int(raw["status"]), etag=raw.get("etag"),
                              last_modified=raw.get("last_modified"),
                              content_type=raw.get("content_type"), length=int(raw["length"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return (meta, body) if meta.length == len(body) else None

    def _write(self, key: str, url: str, status: int, headers: Mapping[str, str],
               body: bytes) -> None:
        meta = {"url": url, "status": status, "etag": headers.get("ETag"),
                "last_modified": headers.get("Last-Modified"),
                "content_type": headers.get("Content-Type"), "length": len(body)}
        path = self._path(key)
        try:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(json.dumps(meta, separators=(",", ":")).encode() + b"\n")
                fh.write(body)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        with self._guard:
            self.stored += 1

    def _served(self, key: str) -> Fetched | None:
        found = self._read(key)
        if found is None:
            return None
        meta, body = found
        headers: dict[str, Any] = {"X-Vbot-Cache": "hit"}
        if meta.content_type:
            headers["Content-Type"] = meta.content_type
        if meta.etag:
            headers["ETag"] = meta.etag
        return Fetched(url=meta.url, status=meta.status, headers=headers, body=body)

    # -- the hook ------------------------------------------------------------------------
    def _lock_for(self, key: str) -> threading.Lock:
        with self._guard:
            lock, users = self._inflight.get(key, (None, 0))
            if lock is None:
                lock = threading.Lock()
            self._inflight[key] = (lock, users + 1)
            return lock

    def _release(self, key: str) -> None:
        with self._guard:
            lock, users = self._inflight[key]
            if users <= 1:
                del self._inflight[key]
            else:
                self._inflight[key] = (lock, users - 1)

    def get(self, url: str, headers: Mapping[str, str], send: Send) -> Fetched:
        """Answer a GET of ``url``: from this sweep's copy, by revalidating, or by fetching.

        ``send(extra_headers)`` makes the real request (it must accept a 304 answer).
        """
        key = self.key(url, headers)
        lock = self._lock_for(key)
        try:
            with lock:
                if key in self._fresh:
                    served = self._served(key)
                    if served is not None:
                        with self._guard:
                            self.deduplicated += 1
                        return served
                meta = self.read_meta(key)
                resp = send(meta.validators() if meta else {})
                if resp.status == 304 and meta is not None:
                    served = self._served(key)
                    if served is not None:
                        with self._guard:
                            self.not_modified += 1
                            self._fresh.add(key)
                        return served
                    resp = send({})  # the entry vanished under us: ask again, unconditionally
                if resp.status in CACHEABLE:
                    self._write(key, resp.url, resp.status, resp.headers, resp.body)
                    with self._guard:
                        self._fresh.add(key)
                return resp
        finally:
            self._release(key)

    def stats(self) -> dict[str, int]:
        with self._guard:
            return {"not_modified": self.not_modified, "deduplicated": self.deduplicated,
                    "stored": self.stored}
