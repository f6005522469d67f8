"""A data repo on disk: graph.json plus per-node documents, in cf or inline layout.

cf layout: ``graph.json`` nodes carry ``{"payload": {"__lazy_json__": "node_attrs/<n>.json"}}``
and documents live in sharded folders ``<folder>/h0/h1/h2/h3/h4/<n>.json`` (flat paths are read
too). inline layout: node attributes sit in the ``graph.json`` nodes; versions are flat files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from vbot.errors import VbotError
from vbot.repo import jsonio, schema
from vbot.repo.graph import by_dependents, dependents, from_node_link, to_node_link
from vbot.repo.paths import contained, read_contained, sharded_relpath, unsafe_reason

CF = "cf"
INLINE = "inline"
LAZY = "__lazy_json__"
# reads a repo-relative path: bytes, None when absent, VbotError when refused
Reader = Callable[[str], "bytes | None"]


class NodeDocError(VbotError):
    """One node's document is missing or malformed; affects only that node."""


@dataclass
class DataRepo:
    root: Path
    graph: nx.Graph  # graph.json through networkx (a DiGraph unless the file says otherwise)
    layout: str
    # how a repo-relative path is read when a caller gives no reader (None: the file, never
    # through a symlink); a workspace reads from git what its sparse checkout leaves out
    read: Reader | None = field(default=None, repr=False)
    _dependents: dict[Any, int] | None = field(default=None, repr=False)

    @classmethod
    def open(cls, root: Path, read: Reader | None = None) -> DataRepo:
        """Read and validate ``root/graph.json`` (its node documents are read on demand,
        through ``read`` when given, see :meth:`read_doc_bytes`)."""
        path = root / "graph.json"
        if not path.is_file():
            raise VbotError(f"{path}: no graph.json in the data repo")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise VbotError(f"graph.json: cannot read: {exc.strerror or exc}") from None
        doc = jsonio.loads(data, "graph.json")
        graph = from_node_link(doc)
        layout = CF if any(isinstance(p, dict) and LAZY in p
                           for _, p in graph.nodes(data="payload")) else INLINE
        return cls(root=root, graph=graph, layout=layout, read=read)

    def dependents(self) -> dict[Any, int]:
        """{node: how many nodes depend on it, directly or not} (computed once)."""
        if self._dependents is None:
            self._dependents = dependents(self.graph)
        return self._dependents

    def by_dependents(self, names: list[str]) -> list[str]:
        """``names`` with the most depended-on nodes first, ties by name."""
        return by_dependents(names, self.dependents())

    # -- nodes ---------------------------------------------------------------------------
    def node_ids(self) -> list[Any]:
        return list(self.graph)

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
            return self.graph.nodes[name]
        except (KeyError, TypeError):
            raise NodeDocError(f"{name}: not a node of graph.json") from None

    def node_attrs(self, name: str) -> dict[str, Any]:
        """The attribute document of a node (raises NodeDocError for that node only)."""
        if self.layout == INLINE:
            return dict(self._node_entry(name))
        return self.parse_node_doc(name, *self.node_doc_bytes(name))

    def _node_ref(self, name: str) -> tuple[str, str, str]:
        """cf layout: (the payload's lazy reference, its folder, its document name)."""
        node = self._node_entry(name)
        ref = (node.get("payload") or {}).get(LAZY)
        if not isinstance(ref, str) or "/" not in ref:
            raise NodeDocError(f"{name}: payload has no lazy JSON reference")
        folder, _, fname = ref.rpartition("/")
        return ref, folder, fname[: -len(".json")] if fname.endswith(".json") else fname

    def node_doc_relpath(self, name: str) -> str:
        """cf layout: where the node's document is looked for first (its sharded path)."""
        _, folder, doc = self._node_ref(name)
        if unsafe_reason(doc) or unsafe_reason(folder):
            raise NodeDocError(f"{folder}/{doc}: unsafe document path")
        return sharded_relpath(folder, doc)

    def node_doc_paths(self, names: Iterable[str]) -> list[str]:
        """cf layout: where the documents of ``names`` can be (sharded, then flat), for a
        reader to fetch them in one batch; a node whose reference is unusable is left out
        (reading it reports it). Inline layout: none."""
        if self.layout != CF:
            return []
        found: list[str] = []
        for name in names:
            try:
                _, folder, doc = self._node_ref(name)
            except NodeDocError:
                continue
            if not (unsafe_reason(doc) or unsafe_reason(folder)):
                found += (sharded_relpath(folder, doc), f"{folder}/{doc}.json")
        return found

    def node_doc_bytes(self, name: str) -> tuple[str, str, bytes]:
        """cf layout: (the payload's reference, the path read, the bytes of the node's
        document); raises NodeDocError for that node only."""
        ref, folder, doc = self._node_ref(name)
        found = self.read_doc_bytes(folder, doc)
        if found is None:
            raise NodeDocError(f"{name}: {ref} is missing")
        return ref, found[0], found[1]

    @staticmethod
    def parse_node_doc(name: str, ref: str, rel: str, data: bytes) -> dict[str, Any]:
        """The attribute document in ``data`` (what :meth:`node_doc_bytes` read)."""
        try:
            doc = jsonio.loads(data, rel)
        except VbotError as exc:
            raise NodeDocError(str(exc)) from None
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

    def read_doc(self, folder: str, name: str, read: Reader | None = None) -> Any:
        """Parsed ``<folder>/<name>`` document (sharded, then flat); None when absent.
        ``read``: see :meth:`read_doc_bytes`."""
        found = self.read_doc_bytes(folder, name, read)
        if found is None:
            return None
        try:
            return jsonio.loads(found[1], found[0])
        except VbotError as exc:
            raise NodeDocError(str(exc)) from None

    def read_doc_bytes(self, folder: str, name: str, read: Reader | None = None
                       ) -> tuple[str, bytes] | None:
        """(relative path, bytes) of the ``<folder>/<name>`` document (sharded, then flat);
        None when absent. For a writer that keeps the file's own style.

        ``read``: how a repo-relative path is read (bytes, None when absent, VbotError when
        refused), e.g. from git where the work tree does not hold the folder
        (``vbot/git/headfiles.py``); default: the repo's own reader, else the file, never
        through a symlink."""
        if unsafe_reason(name) or unsafe_reason(folder):
            raise NodeDocError(f"{folder}/{name}: unsafe document path")
        read = read or self.read
        for rel in (sharded_relpath(folder, name), f"{folder}/{name}.json"):
            try:
                data = read_contained(self.root, rel) if read is None else read(rel)
            except VbotError as exc:
                raise NodeDocError(str(exc)) from None
            if data is not None:
                return rel, data
        return None

    def versions_path(self, name: str) -> Path:
        return self.doc_path("versions", name)

    def read_versions(self, name: str, read: Reader | None = None) -> dict[str, Any] | None:
        """A node's versions document if present and schema-valid, else None. ``read``: see
        :meth:`read_doc_bytes`."""
        try:
            doc = self.read_doc("versions", name, read)
        except NodeDocError:
            return None
        if doc is None or not schema.is_valid("versions", doc):
            return None
        return doc

    def write_graph(self) -> bool:
        """Write graph.json (inline layout: node attributes changed) as node-link data arranged
        like the file; True when it changed."""
        path = self.root / "graph.json"
        return jsonio.write_if_changed(path, to_node_link(self.graph, jsonio.read_if_valid(path)))
