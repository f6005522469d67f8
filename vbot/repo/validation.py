"""Validation of data repo files against schemas/: graph.json, versions files, new_version,
the sweep cursors in ``.vbot/``.

Used by ``vbot validate`` (and so by the git hook and the pre-commit framework hook). The
schemas decide (``vbot.repo.schema``: the same compiled validators as sweep and merge use); on top,
graph.json must be readable by networkx unchanged (no node listed twice, no link to a missing
node). Verdicts are cached by file content: a repo has few distinct versions files.
"""

from __future__ import annotations

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vbot.repo import schema
from vbot.repo.graph import structure_problems
from vbot.repo.paths import SHARD_DEPTH, shard_parts, unsafe_reason

GRAPH = "graph"
CURSOR = "cursor"
VERSIONS = "versions"
PR_INFO = "version_pr_info"
FOLDERS = (VERSIONS, PR_INFO)
_HEX = set("0123456789abcdef")


def classify(rel: str) -> str | None:
    """Which kind of data repo file ``rel`` (posix, relative to the repo root) is, if any."""
    if rel == "graph.json":
        return GRAPH
    if re.fullmatch(r"\.vbot/sweep-cursor(-[0-9]+-of-[0-9]+)?\.json", rel):
        return CURSOR
    top, _, rest = rel.partition("/")
    if top in FOLDERS and rest and rel.endswith(".json"):
        name = rel.rsplit("/", 1)[-1]
        return None if name.startswith(".") else top
    return None


def _location(kind: str, rel: str) -> list[str]:
    """Problems with where a per-node document sits (flat or correctly sharded)."""
    parts = rel.split("/")
    name = parts[-1][: -len(".json")]
    why = unsafe_reason(name)
    if why:
        return [f"not a usable node file name: {why}"]
    if len(parts) == 2:
        return []
    shards = parts[1:-1]
    if len(shards) == SHARD_DEPTH and all(len(s) == 1 and s in _HEX for s in shards):
        want = shard_parts(name)
        if shards != want:
            return [f"wrong shard folder: {name}.json belongs in {kind}/{'/'.join(want)}/"]
        return []
    return [f"unexpected location: expected {kind}/<name>.json or "
            f"{kind}/h0/h1/h2/h3/h4/<name>.json"]


@dataclass
class Validator:
    """Checks file contents by kind; remembers verdicts per (kind, content)."""

    files: int = 0
    _cache: dict[tuple[str, bytes], list[str]] = field(default_factory=dict)

    def check(self, rel: str, data: bytes | None) -> list[str]:
        kind = classify(rel)
        if kind is None:
            return []
        self.files += 1
        if data is None:
            return ["cannot read the file"]
        found = [] if kind in (GRAPH, CURSOR) else _location(kind, rel)
        key = (kind, data)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._content(kind, data)
            if kind != GRAPH:
                self._cache[key] = cached
        return found + cached

    def _content(self, kind: str, data: bytes) -> list[str]:
        try:
            doc = json.loads(data)
        except json.JSONDecodeError as exc:
            return [f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"]
        except UnicodeDecodeError as exc:
            return [f"not UTF-8 text at byte {exc.start}"]
        if kind == VERSIONS:
            return schema.problems("versions", doc)
        if kind == CURSOR:
            return schema.problems("cursor", doc)
        if kind == PR_INFO:
            if not isinstance(doc, dict):
                return ["version_pr_info document is not a JSON object"]
            if "new_version" in doc:
                return schema.problems("new_version", doc["new_version"], "new_version")
            return []
        return self._graph(doc)

    def _graph(self, doc: Any) -> list[str]:
        try:
            found = schema.problems("graph", doc)
        except RecursionError:
            return ["nested too deeply"]
        if found:
            return found
        found = structure_problems(doc)
        for i, node in enumerate(doc["nodes"]):
            if "new_version" in node:
                found += schema.problems("new_version", node["new_version"],
                                         f"nodes/{i}/new_version")
        return sorted(found, key=_by_path)


def _by_path(message: str) -> list[tuple[int, int | str]]:
    """Messages in document order: ``nodes/3/...`` before ``nodes/12/...``."""
    where = message.partition(": ")[0]
    return [(0, int(p)) if p.isdigit() else (1, p) for p in where.split("/")]


def _scan(base: str, rel: str) -> list[str]:
    """Sorted ``*.json`` files under ``base/rel`` (relative paths), hidden entries skipped."""
    try:
        entries = sorted(os.scandir(os.path.join(base, rel)), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            found += _scan(base, f"{rel}/{entry.name}")
        elif entry.name.endswith(".json"):
            found.append(f"{rel}/{entry.name}")
    return found


def data_files(root: Path) -> list[str]:
    """Repo-relative paths of every file to check, sorted.

    On a large sharded repo this is mostly file system time: there are more shard folders
    than nodes.
    """
    found = ["graph.json"] if (root / "graph.json").is_file() else []
    found += [rel for rel in _scan(os.fspath(root), ".vbot") if classify(rel) == CURSOR]
    for folder in FOLDERS:
        found += _scan(os.fspath(root), folder)
    return found


def read_all(root: Path, rels: list[str], threads: int = 8) -> list[bytes | None]:
    """Contents of ``rels`` in order, read by a few threads (file reads release the GIL)."""
    base = os.fspath(root)

    def read(chunk: list[str]) -> list[bytes | None]:
        out: list[bytes | None] = []
        for rel in chunk:
            try:
                with open(os.path.join(base, rel), "rb") as fh:
                    out.append(fh.read())
            except OSError:
                out.append(None)
        return out

    size = max(1, -(-len(rels) // threads))
    chunks = [rels[i:i + size] for i in range(0, len(rels), size)]
    with ThreadPoolExecutor(threads) as pool:
        return [data for part in pool.map(read, chunks) for data in part]
