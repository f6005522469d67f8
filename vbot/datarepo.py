"""A data repo on disk: graph.json plus per-node documents, in cf or inline layout.

cf layout: ``graph.json`` nodes carry ``{"payload": {"__lazy_json__": "node_attrs/<n>.json"}}``
and documents live in sharded folders ``<folder>/h0/h1/h2/h3/h4/<n>.json`` (flat paths are read
too). inline layout: node attributes sit in the ``graph.json`` nodes; versions are flat files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vbot import jsonio, schema
from vbot.errors import VbotError
from vbot.names import contained, read_contained, sharded_relpath, unsafe_reason

CF = "cf"
INLINE = "inline"
LAZY = "__lazy_json__"


class NodeDocError(Exception):
    """One node's document is missing or malformed; affects only that node."""


def _check_node_link(graph: dict[str, Any]) -> None:
    """Whether networkx reads ``graph`` as node-link data (its nodes; edges are not used)."""
    import networkx as nx  # ~0.2 s to import: only for graphs the fast schema check doubts

    edges = "links" if "links" in graph or "edges" not in graph else "edges"
    try:  # vbot reads only the nodes: a graph without edges is fine
        nx.node_link_graph({edges: [], **graph}, edges=edges)
    except (nx.NetworkXError, KeyError, TypeError, ValueError, RecursionError) as exc:
        raise VbotError(f"graph.json: not node-link graph data: {exc}") from None


@dataclass
class DataRepo:
    root: Path
    graph: dict[str, Any]
    layout: str
    _index: dict[Any, dict[str, Any]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index = {n.get("id"): n for n in self.graph["nodes"] if isinstance(n.get("id"), str)}

    @classmethod
    def open(cls, root: Path) -> DataRepo:
        path = root / "graph.json"
        if not path.is_file():
            raise VbotError(f"{path}: no graph.json in the data repo")
        graph = jsonio.load(path, "graph.json")
        # what passes the fast check is valid for the schema and for networkx alike
        if not schema.fast_valid("graph", graph):
            try:
                found = schema.problems("graph", graph)
            except RecursionError:
                found = ["nested too deeply"]
            if found:
                raise VbotError(f"graph.json: not node-link graph data: {found[0]}")
            _check_node_link(graph)
        layout = CF if any(LAZY in (n.get("payload") or {}) for n in graph["nodes"]) else INLINE
        return cls(root=root, graph=graph, layout=layout)

    # -- nodes ---------------------------------------------------------------------------
    def node_ids(self) -> list[Any]:
        return [n.get("id") for n in self.graph["nodes"]]

    def safe_names(self) -> tuple[list[str], dict[str, str]]:
        """(safe node names in graph order, {unsafe name: reason})."""
        ok: list[str] = []
        bad: dict[str, str] = {}
        for name in self.node_ids():
            reason = unsafe_reason(name)
            if reason is None:
                ok.append(name)
            else:
                bad[repr(name)[:80]] = reason
        return ok, bad

    def _node_entry(self, name: str) -> dict[str, Any]:
        try:
            return self._index[name]
        except KeyError:
            raise NodeDocError(f"{name}: not a node of graph.json") from None

    def node_attrs(self, name: str) -> dict[str, Any]:
        """The attribute document of a node (raises NodeDocError for that node only)."""
        node = self._node_entry(name)
        if self.layout == INLINE:
            return {k: v for k, v in node.items() if k != "id"}
        ref = (node.get("payload") or {}).get(LAZY)
        if not isinstance(ref, str) or "/" not in ref:
            raise NodeDocError(f"{name}: payload has no lazy JSON reference")
        folder, _, fname = ref.rpartition("/")
        doc = self.read_doc(folder, fname[: -len(".json")] if fname.endswith(".json") else fname)
        if doc is None:
            raise NodeDocError(f"{name}: {ref} is missing")
        if not isinstance(doc, dict):
            raise NodeDocError(f"{name}: {ref} is not a JSON object")
        return doc

    # -- per-node documents --------------------------------------------------------------
    def doc_relpath(self, folder: str, name: str) -> str:
        if self.layout == CF:
            return sharded_relpath(folder, name)
        return f"{folder}/{name}.json"

    def doc_path(self, folder: str, name: str) -> Path:
        return contained(self.root, self.doc_relpath(folder, name))

    def read_doc(self, folder: str, name: str) -> Any:
        """Parsed ``<folder>/<name>`` document (sharded, then flat); None when absent."""
        found = self.read_doc_bytes(folder, name)
        if found is None:
            return None
        try:
            return jsonio.loads(found[1], found[0])
        except VbotError as exc:
            raise NodeDocError(str(exc)) from None

    def read_doc_bytes(self, folder: str, name: str) -> tuple[str, bytes] | None:
        """(relative path, bytes) of the ``<folder>/<name>`` document (sharded, then flat);
        None when absent. For a writer that keeps the file's own style."""
        if unsafe_reason(name) or unsafe_reason(folder):
            raise NodeDocError(f"{folder}/{name}: unsafe document path")
        for rel in (sharded_relpath(folder, name), f"{folder}/{name}.json"):
            try:
                data = read_contained(self.root, rel)
            except VbotError as exc:
                raise NodeDocError(str(exc)) from None
            if data is not None:
                return rel, data
        return None

    def versions_path(self, name: str) -> Path:
        return self.doc_path("versions", name)

    def read_versions(self, name: str) -> dict[str, Any] | None:
        """A node's versions document if present and schema-valid, else None."""
        try:
            doc = self.read_doc("versions", name)
        except NodeDocError:
            return None
        if doc is None or not schema.is_valid("versions", doc):
            return None
        return doc

    def write_graph(self) -> bool:
        return jsonio.write_if_changed(self.root / "graph.json", self.graph)
