"""``vbot history NODE``: when a node's versions file and merged new_version changed.

One ``git log --raw`` call over the node's files (its versions file and, for the merged value,
its version_pr_info file in cf layout or graph.json in inline layout) lists the commits and the
blob ids before and after each; one ``git cat-file --batch`` call reads those blobs. From a
graph.json blob only the node's own object is parsed (found by its ``"id"`` line).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from vbot.errors import VbotError
from vbot.git import log as gitlog
from vbot.git import maintainer
from vbot.git.shallow import is_shallow, shallow_boundary
from vbot.repo import jsonio
from vbot.repo.datarepo import CF, INLINE, LAZY
from vbot.repo.paths import sharded_relpath, unsafe_reason

VERSIONS = "versions"
MERGED = "new_version"
_ABSENT = object()


@dataclass(frozen=True)
class HistoryEntry:
    date: str
    commit: str
    run_id: str | None
    subject: str
    file: str  # "versions" or "new_version"
    path: str
    old: Any
    new: Any


def read_graph(top: Path) -> tuple[str, set[str]]:
    """(layout, node ids) from graph.json: a plain parse, no graph checks (those are for
    sweep and merge, and cost far more than the parse on a large graph)."""
    graph = jsonio.load(top / "graph.json", "graph.json") if (top / "graph.json").is_file() \
        else None
    if not isinstance(graph, dict) or not isinstance(graph.get("nodes"), list):
        raise VbotError(f"{top}: no usable graph.json (not a data repo clone?)")
    nodes = [n for n in graph["nodes"] if isinstance(n, dict)]
    lazy = any(isinstance(n.get("payload"), dict) and LAZY in n["payload"] for n in nodes)
    return (CF if lazy else INLINE), {n["id"] for n in nodes if isinstance(n.get("id"), str)}


def node_paths(layout: str, node: str) -> dict[str, str]:
    """``{path: kind}`` of every file that can hold the node's versions or merged value."""
    paths = {f"versions/{node}.json": VERSIONS}
    if layout == CF:
        paths[sharded_relpath("versions", node)] = VERSIONS
        paths[sharded_relpath("version_pr_info", node)] = MERGED
        paths[f"version_pr_info/{node}.json"] = MERGED
    else:
        paths["graph.json"] = MERGED
    return paths


def _node_in_graph(data: bytes, node: str) -> Any:
    """The node's ``new_version`` in a graph.json blob (absent: _ABSENT)."""
    needle = b'"id": ' + json.dumps(node, ensure_ascii=False).encode("utf-8")
    pos = data.find(needle)
    while pos != -1:  # canonical (indent 2) graph.json: parse the node's object only
        start = data.rfind(b"\n    {", 0, pos)
        end = data.find(b"\n    }", pos)
        if start != -1 and end != -1:
            try:
                obj = json.loads(data[start + 1:end + 6])
            except ValueError:
                break
            if isinstance(obj, dict) and obj.get("id") == node:
                return obj.get("new_version", _ABSENT)
        pos = data.find(needle, pos + 1)
    try:  # any other formatting: parse it all
        graph = json.loads(data)
    except ValueError:
        return "(invalid JSON)"
    for entry in graph.get("nodes", []) if isinstance(graph, dict) else []:
        if isinstance(entry, dict) and entry.get("id") == node:
            return entry.get("new_version", _ABSENT)
    return _ABSENT


def _value(kind: str, path: str, data: bytes | None, node: str) -> Any:
    if data is None:
        return _ABSENT
    if path == "graph.json":
        return _node_in_graph(data, node)
    try:
        doc = jsonio.loads(data, path)
    except VbotError:
        return "(invalid JSON)"
    if kind == MERGED:
        return doc.get("new_version", _ABSENT) if isinstance(doc, dict) else "(not an object)"
    return doc


def history(repo_dir: Path, node: str) -> list[HistoryEntry]:
    """The node's timeline, newest first."""
    why = unsafe_reason(node)
    if why:
        raise VbotError(f"{node!r}: {why}")
    top = maintainer.repo_toplevel(repo_dir)
    layout, ids = read_graph(top)
    paths = node_paths(layout, node)
    log = gitlog.log(top, sorted(paths))
    if is_shallow(top):  # a maintainer's clone is not vbot's to deepen: say what to do
        print(f"vbot: note: {top} is a shallow clone, its history stops at "
              f"{', '.join(sorted(c[:10] for c in shallow_boundary(top)))}; for older changes "
              f"run: git -C {top} fetch --unshallow (or --shallow-since=DATE)", file=sys.stderr)
    users: dict[str, set[str]] = {}  # blob -> the paths it appeared at
    for commit in log:
        for change in commit.changes:
            for blob in (change.old_blob, change.new_blob):
                if blob and change.path in paths:
                    users.setdefault(blob, set()).add(change.path)
    # only the node's value is kept per blob (graph.json blobs can be large)
    values = {(path, sha): _value(paths[path], path, data, node)
              for sha, data in gitlog.iter_blobs(top, list(users)) for path in users[sha]}
    entries = []
    for commit in log:
        for change in commit.changes:
            kind = paths.get(change.path)
            if kind is None:
                continue
            old = values.get((change.path, change.old_blob or ""), _ABSENT)
            new = values.get((change.path, change.new_blob or ""), _ABSENT)
            if old == new:
                continue
            entries.append(HistoryEntry(
                date=commit.date, commit=commit.sha, run_id=commit.run_id,
                subject=commit.subject, file=kind, path=change.path,
                old=None if old is _ABSENT else old, new=None if new is _ABSENT else new))
    if not entries and node not in ids:
        raise VbotError(f"{node}: not a node of graph.json and no history")
    return entries


def show(value: Any) -> str:
    """A short text for a versions document or a merged value."""
    if value is None:
        return "(absent)"
    if isinstance(value, dict) and set(value) == {"new_version"}:
        value = value["new_version"]
        if value is None:
            return "none"
    if isinstance(value, dict) and set(value) == {"bad"}:
        text = str(value["bad"])
        return "bad: " + (text if len(text) <= 60 else text[:59] + "…")
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def print_history(entries: list[HistoryEntry], out: TextIO, as_json: bool = False) -> None:
    if as_json:
        out.write(jsonio.dumps([asdict(e) for e in entries]))
        return
    if not entries:
        print("no changes recorded for this node", file=out)
        return
    rows = [(e.date[:16].replace("T", " "), e.commit[:10], e.run_id or "-", e.file,
             f"{show(e.old)} -> {show(e.new)}") for e in entries]
    widths = [max(len(r[i]) for r in rows + [("date", "commit", "run", "file", "")])
              for i in range(4)]
    header = ("date", "commit", "run", "file")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + "  change",
          file=out)
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True))
              + "  " + row[4], file=out)
