"""Which nodes changed between the tree a cursor names and HEAD (incremental sweeps and merges).

Light on purpose (git and the data repo only): ``vbot merge`` uses it without loading the
sources and the HTTP client.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vbot.git.diff import blob_at, changed_paths, tree_at
from vbot.repo import jsonio
from vbot.repo.datarepo import CF, LAZY, DataRepo


def changed_since_tree(root: Path, repo: DataRepo, base: str, branch: str,
                       exclude: tuple[str, ...] = (), ignore: tuple[str, ...] = ()
                       ) -> tuple[tuple[set[str], list[str]] | None, str]:
    """:func:`changed_since` the tree ``base`` (fetched by its id when the clone lacks it,
    else found in older history, see :func:`vbot.git.diff.tree_at`)."""
    commit = tree_at(root, branch, base)
    if commit is None:
        return None, f"the last run's base {base[:12]} is not in the history"
    return changed_since(root, repo, commit, exclude, ignore)


def changed_since(root: Path, repo: DataRepo, commit: str, exclude: tuple[str, ...] = (),
                  ignore: tuple[str, ...] = ()
                  ) -> tuple[tuple[set[str], list[str]] | None, str]:
    """((nodes whose document changed, every changed path), "") between ``commit`` and
    HEAD, or (None, why git cannot say). A node's document: its ``graph.json`` entry (keys in
    ``ignore`` aside, in inline layout where the entry is the document) and, in cf layout,
    the file its payload names. Paths under ``exclude`` are not looked at."""
    paths = changed_paths(root, commit, "HEAD", exclude=exclude)
    if paths is None:
        return None, f"cannot compare {commit[:12]} with HEAD"
    changed: set[str] = set()
    if "graph.json" in paths:
        old = _graph_entries(blob_at(root, commit, "graph.json"))
        new = _graph_entries(blob_at(root, "HEAD", "graph.json"))
        if old is None or new is None:
            return None, "cannot read graph.json of the last run's base"
        drop = ignore if repo.layout != CF else ()
        for name, entry in new.items():
            before = old.get(name)
            if drop and isinstance(before, dict):
                before = {k: v for k, v in before.items() if k not in drop}
                entry = {k: v for k, v in entry.items() if k not in drop}
            if before != entry:
                changed.add(name)
    docs = {(p.partition("/")[0], p.rpartition("/")[2].removesuffix(".json"))
            for p in paths if "/" in p}
    if docs and repo.layout == CF:
        for name in repo.safe_names()[0]:
            ref = (repo.graph.nodes[name].get("payload") or {}).get(LAZY)
            if not isinstance(ref, str):
                changed.add(name)
                continue
            folder, _, doc = ref.rpartition("/")
            if (folder.partition("/")[0], doc.removesuffix(".json")) in docs:
                changed.add(name)
    return (changed, paths), ""


def _graph_entries(data: bytes | None) -> dict[str, Any] | None:
    """{node id: its node-link entry} of a graph.json text; None when it cannot be read."""
    if data is None:
        return None
    try:
        doc = jsonio.loads(data, "graph.json")
        nodes = doc["nodes"]
        return {n["id"]: {k: v for k, v in n.items() if k != "id"} for n in nodes
                if isinstance(n, dict) and isinstance(n.get("id"), str)}
    except Exception:  # noqa: BLE001 - unreadable: the caller checks every node
        return None
