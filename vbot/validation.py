"""Validation of data repo files against schemas/: graph.json, versions files, new_version.

Used by ``vbot validate`` (and so by the git hook and the pre-commit framework hook). Common
documents are accepted by plain Python checks that use the schema's own patterns and limits;
anything else goes to jsonschema (imported only then), whose errors are turned into short
messages. Verdicts are cached by file content: a repo has few distinct versions files.
"""

from __future__ import annotations

import functools
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vbot.names import SHARD_DEPTH, shard_parts, unsafe_reason
from vbot.paths import resource_dir

if TYPE_CHECKING:  # jsonschema is imported only when a file fails the fast checks
    from jsonschema.exceptions import ValidationError

GRAPH = "graph"
VERSIONS = "versions"
PR_INFO = "version_pr_info"
FOLDERS = (VERSIONS, PR_INFO)
_HEX = set("0123456789abcdef")


def classify(rel: str) -> str | None:
    """Which kind of data repo file ``rel`` (posix, relative to the repo root) is, if any."""
    if rel == "graph.json":
        return GRAPH
    top, _, rest = rel.partition("/")
    if top in FOLDERS and rest and rel.endswith(".json"):
        name = rel.rsplit("/", 1)[-1]
        return None if name.startswith(".") else top
    return None


def _causes(err: ValidationError) -> list[ValidationError]:
    """The errors worth showing for ``err``: for oneOf/anyOf, those of the closest branch."""
    if not err.context:
        return [err]
    branches: dict[Any, list[ValidationError]] = {}
    for sub in err.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)

    def distance(subs: list[ValidationError]) -> tuple[int, int]:
        missing = sum(s.validator == "required" for s in subs if not s.relative_path)
        wrong_type = sum(s.validator == "type" for s in subs if not s.relative_path)
        return (missing + wrong_type, len(subs))

    best = min(branches.values(), key=distance)
    if distance(best)[0] and all(distance(b)[0] for b in branches.values()):
        return [_no_branch(err)]  # no branch fits at all: say what was expected
    return [cause for sub in best for cause in _causes(sub)]


def _no_branch(err: ValidationError) -> ValidationError:
    wanted = []
    for sub in err.validator_value if isinstance(err.validator_value, list) else []:
        if "required" in sub:
            wanted.append(f"an object with {' and '.join(map(repr, sub['required']))}")
        elif "const" in sub:
            wanted.append(json.dumps(sub["const"]))
        elif "type" in sub:
            wanted.append(f"a {sub['type']}")
    if wanted:
        err.message = f"{err.instance!r} is not {' or '.join(wanted)}"
    return err


@functools.cache
def _schema_doc(name: str) -> Any:
    return json.loads((resource_dir("schemas") / f"{name}.schema.json").read_text("utf-8"))


@functools.cache
def _string_rule(name: str, *path: str) -> tuple[re.Pattern[str], int, int]:
    """(pattern, minLength, maxLength) of a string subschema of ``schemas/<name>``."""
    node: Any = _schema_doc(name)
    for key in path:
        node = node[int(key)] if isinstance(node, list) else node[key]
    return re.compile(node["pattern"]), node.get("minLength", 0), node["maxLength"]


def _fits(rule: tuple[re.Pattern[str], int, int], value: Any) -> bool:
    pattern, low, high = rule
    return isinstance(value, str) and low <= len(value) <= high and bool(pattern.search(value))


def _fast_valid(name: str, doc: Any) -> bool:
    """True only for documents the schema surely accepts (the common shapes, checked in
    plain Python with the schema's own patterns and limits); False means "ask jsonschema"."""
    if name == "versions":
        if not isinstance(doc, dict) or len(doc) != 1:
            return False
        if "new_version" in doc:
            value = doc["new_version"]
            return value is None or _fits(_string_rule(
                "versions", "oneOf", "0", "properties", "new_version", "oneOf", "0"), value)
        return _fits(_string_rule("versions", "oneOf", "1", "properties", "bad"), doc.get("bad"))
    if name == "new_version":
        return doc is False or _fits(_string_rule("new_version", "oneOf", "0"), doc)
    if name == "graph":
        if not isinstance(doc, dict) or not isinstance(doc.get("nodes"), list) or any(
                k in doc and not isinstance(doc[k], t) for k, t in (
                    ("directed", bool), ("multigraph", bool), ("graph", dict))):
            return False
        for node in doc["nodes"]:
            if not isinstance(node, dict) or not isinstance(node.get("id"), str) or not node["id"]:
                return False
            if "payload" in node:
                payload = node["payload"]
                if not isinstance(payload, dict) or not isinstance(
                        payload.get("__lazy_json__"), str):
                    return False
        for key in ("links", "edges"):
            if key in doc and (not isinstance(doc[key], list) or not all(
                    isinstance(e, dict) and "source" in e and "target" in e for e in doc[key])):
                return False
        return True
    return False


def _messages(name: str, doc: Any, prefix: str = "") -> list[str]:
    """Schema problems of ``doc`` as short messages (the most relevant cause of each)."""
    if _fast_valid(name, doc):
        return []
    from vbot import schema

    check = schema.validator(name)
    if check.is_valid(doc):
        return []
    out = []
    for top in sorted(check.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        for err in _causes(top):
            where = "/".join(str(p) for p in err.absolute_path)
            where = f"{prefix}/{where}" if prefix and where else (prefix or where)
            out.append(f"{where}: {err.message}" if where else err.message)
    return out


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
        found = [] if kind == GRAPH else _location(kind, rel)
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
            return _messages("versions", doc)
        if kind == PR_INFO:
            if not isinstance(doc, dict):
                return ["version_pr_info document is not a JSON object"]
            if "new_version" in doc:
                return _messages("new_version", doc["new_version"], "new_version")
            return []
        return self._graph(doc)

    def _graph(self, doc: Any) -> list[str]:
        found = _messages("graph", doc)
        if found or not isinstance(doc, dict):
            return found
        seen: set[str] = set()
        for i, node in enumerate(doc["nodes"]):
            if node["id"] in seen:
                found.append(f"nodes/{i}/id: duplicate node id {node['id']!r}")
            seen.add(node["id"])
            if "new_version" in node:
                found += _messages("new_version", node["new_version"], f"nodes/{i}/new_version")
        return found


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

    On a 25,000-node repo this is mostly file system time (~85,000 shard folders).
    """
    found = ["graph.json"] if (root / "graph.json").is_file() else []
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
