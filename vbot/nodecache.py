"""What a sweep read from each node document last time, keyed by the document's exact bytes.

A repeat sweep reads the same 25,000 node documents again, and parsing them (the whole recipe
metadata of every node) costs more than anything else it does besides the HTTP exchanges. A
:class:`NodeInfoCache` remembers, per node, what :func:`vbot.nodeinfo.node_info` and
:func:`vbot.nodeinfo.skip_reason` made of the document: the key is a hash of the node name,
the document's bytes *as read now* and the source of the code that reads them, so

- a document whose bytes changed in any way (a recipe URL, the bot settings) is parsed again;
- a vbot whose reading code changed parses everything again;
- nothing but a re-read of the same bytes by the same code is ever answered from the cache.

The entries live in ``nodeinfo.sqlite3`` beside the HTTP cache (stdlib ``sqlite3``): one read of
every entry when the sweep starts, one write of the new ones when it ends. A cache that cannot
be read or written is left alone: the documents are parsed as without it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import sqlite3
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from vbot import nodeinfo, recipe_template
from vbot.datarepo import CF, DataRepo
from vbot.httpcache import connect
from vbot.nodeinfo import Controls, NodeInfo, node_info, skip_reason
from vbot.recipe_template import RecipeTemplate

DB_NAME = "nodeinfo.sqlite3"
_SCHEMA = "CREATE TABLE IF NOT EXISTS infos (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
KEEP_SPARE = 1000  # entries kept beyond twice those used, before unused ones are dropped


@functools.cache
def code_stamp() -> bytes:
    """A hash of the source of the modules that turn a document into a NodeInfo (and of
    this one): a changed vbot does not trust what an older one read."""
    h = hashlib.blake2b(digest_size=16)
    for module in (nodeinfo, recipe_template):
        h.update(Path(module.__file__ or "").read_bytes())
    h.update(Path(__file__).read_bytes())
    return h.digest()


def encode(value: NodeInfo | str) -> str:
    """JSON text of a NodeInfo, or of a skip reason (a string)."""
    if isinstance(value, str):
        return json.dumps({"skip": value})
    doc = asdict(value)
    doc.pop("notes", None)
    return json.dumps({"info": doc}, separators=(",", ":"))


def _tuple(value: Any) -> tuple[Any, ...] | None:
    return None if value is None else tuple(value)


def decode(text: str) -> NodeInfo | str:
    """The value :func:`encode` was given (raises ValueError/KeyError/TypeError on junk)."""
    doc = json.loads(text)
    if "skip" in doc:
        if not isinstance(doc["skip"], str):
            raise TypeError("skip reason is not a string")
        return doc["skip"]
    info = doc["info"]
    ctl = info["controls"]
    rec = info["recipe"]
    return NodeInfo(
        name=info["name"], version=info["version"], urls=tuple(info["urls"]),
        git_urls=tuple(info["git_urls"]),
        controls=Controls(**{**ctl, "sources": _tuple(ctl["sources"]),
                             "exclude": tuple(ctl["exclude"]),
                             "allowed_tag_globs": tuple(ctl["allowed_tag_globs"])}),
        package=info["package"],
        recipe=None if rec is None else RecipeTemplate(
            kind=rec["kind"], defs=tuple(tuple(d) for d in rec["defs"]),  # type: ignore[misc]
            urls=tuple(rec["urls"]), context=rec["context"]),
    )


class NodeInfoCache:
    """The node infos of the last sweeps by document bytes (see the module doc)."""

    def __init__(self, root: Path) -> None:
        self.path = Path(root) / DB_NAME
        self._entries: dict[str, str] | None = None  # read on first use
        self._new: dict[str, str] = {}
        self._used: set[str] = set()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def blob_key(name: str, blob: str) -> str:
        """The key of what was read from a node document git knows by ``blob`` (its blob
        id): only ever stored after the bytes read were checked to be that blob
        (:func:`git_blob_id`)."""
        h = hashlib.blake2b(code_stamp(), digest_size=20)
        h.update(b"blob\0")
        h.update(name.encode("utf-8", "surrogatepass"))
        h.update(f"\0{blob}".encode())
        return h.hexdigest()

    @staticmethod
    def key(name: str, data: bytes) -> str:
        h = hashlib.blake2b(code_stamp(), digest_size=20)
        h.update(name.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
        h.update(data)
        return h.hexdigest()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return connect(self.path, _SCHEMA)

    def _all(self) -> dict[str, str]:
        if self._entries is None:
            self._entries = {}
            with contextlib.suppress(OSError, sqlite3.Error):
                db = self._connect()
                try:
                    self._entries = dict(db.execute("SELECT key, value FROM infos"))
                finally:
                    db.close()
        return self._entries

    def get(self, key: str, count_miss: bool = True) -> NodeInfo | str | None:
        """What was read from these bytes before (a NodeInfo or a skip reason), or None.
        ``count_miss=False``: a first try, not counted when it misses (``stats`` counts one
        hit or one miss per node)."""
        text = self._all().get(key)
        value = None
        if text is not None:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                value = decode(text)
        if value is None:
            self.misses += count_miss
            return None
        self._used.add(key)
        self.hits += 1
        return value

    def put(self, key: str, value: NodeInfo | str) -> None:
        """Remember a fresh read, when it comes back unchanged from its stored form."""
        text = encode(value)
        try:
            same = decode(text) == value
        except (ValueError, KeyError, TypeError):
            same = False
        if same:
            self._new[key] = text
            self._used.add(key)

    def close(self) -> None:
        """Store the new entries; drop unused ones once they outnumber the used ones."""
        entries = self._all()
        stale = len(entries) + len(self._new) > 2 * len(self._used) + KEEP_SPARE
        if not self._new and not stale:
            return
        with contextlib.suppress(OSError, sqlite3.Error):
            db = self._connect()
            try:
                with db:
                    if stale:
                        db.execute("DELETE FROM infos")
                        kept = {k: v for k, v in entries.items() if k in self._used}
                        db.executemany("INSERT OR REPLACE INTO infos VALUES (?, ?)",
                                       kept.items())
                    db.executemany("INSERT OR REPLACE INTO infos VALUES (?, ?)",
                                   self._new.items())
            finally:
                db.close()
        self._new.clear()

    def stats(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses}


def git_blob_id(data: bytes, like: str) -> str:
    """The id git gives a file holding ``data`` (sha1, or sha256 when ``like`` is that long)."""
    algo = hashlib.sha256 if len(like) == 64 else hashlib.sha1
    return algo(b"blob %d\0" % len(data) + data).hexdigest()


def read_node(repo: DataRepo, name: str, cache: NodeInfoCache | None = None,
              tracked: Mapping[str, str] | None = None) -> NodeInfo | str:
    """A node's NodeInfo, or the reason it is skipped, from its document; raises as
    ``DataRepo.node_attrs`` does. With a cache (cf layout), bytes read before by this code are
    not parsed again. ``tracked`` (``Workspace.tracked``: the blob id of each file as checked
    out): a document whose blob was read before is not even opened."""
    if cache is None or repo.layout != CF:
        attrs = repo.node_attrs(name)
        return skip_reason(attrs) or node_info(name, attrs)
    first = blob = blob_key = ""
    if tracked is not None:
        first = repo.node_doc_relpath(name)
        blob = tracked.get(first, "")
        if blob:
            blob_key = cache.blob_key(name, blob)
            found = cache.get(blob_key, count_miss=False)
            if found is not None:
                return found
    ref, rel, data = repo.node_doc_bytes(name)
    # bytes that are the blob git has for the file: kept by blob id, so that next time the
    # file need not even be opened; any other bytes (no git, a file that differs): by content
    if blob_key and (rel != first or git_blob_id(data, blob) != blob):
        blob_key = ""
    key = blob_key or cache.key(name, data)
    value = cache.get(key)
    if value is None:
        attrs = repo.parse_node_doc(name, ref, rel, data)
        value = skip_reason(attrs) or node_info(name, attrs)
        cache.put(key, value)
    return value
