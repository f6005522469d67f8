"""``graph.json`` as a networkx graph: node-link reading and writing, dependents counts.

Links are ``{"source": dependency, "target": dependent}``, so the nodes that depend on a node
(directly or not) are its descendants. The graph is read with ``networkx.node_link_graph``
(after ``schemas/graph.schema.json`` accepted the document) and written back with
``networkx.node_link_data``, arranged like the file it replaces: the links in the file's
order, the top-level keys it has, so that only what changed shows in a diff.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Hashable
from typing import Any

import networkx as nx

from vbot.errors import VbotError
from vbot.repo import schema

LINKS = "links"  # cf-scripts' key; networkx's own default is "edges"
_DEFAULTS = {"directed": True, "multigraph": False, "graph": {}}  # when the file omits them


def links_key(doc: dict[str, Any]) -> str:
    """The key that holds a node-link document's links: ``links`` unless it uses ``edges``."""
    return "edges" if "edges" in doc and LINKS not in doc else LINKS


@functools.cache
def _edges_keyword() -> str:
    """networkx >= 3.4 names the links key ``edges=``, earlier releases ``link=``."""
    params = inspect.signature(nx.node_link_graph).parameters
    return "edges" if "edges" in params else "link"


def structure_problems(doc: dict[str, Any]) -> list[str]:
    """What networkx would silently repair in a schema-valid document: a node listed twice
    (its entries merged) and links naming no node (a node invented), as ``path: message``."""
    found: list[str] = []
    seen: set[Any] = set()
    for i, node in enumerate(doc["nodes"]):
        if node["id"] in seen:
            found.append(f"nodes/{i}/id: duplicate node id {node['id']!r}")
        seen.add(node["id"])
    key = links_key(doc)
    for i, link in enumerate(doc.get(key, ())):
        for end in ("source", "target"):
            try:
                known = link[end] in seen
            except TypeError:  # a list or an object: never a node id
                known = False
            if not known:
                found.append(f"{key}/{i}/{end}: {link[end]!r} is not a node of the graph")
    return found


# the keywords :func:`_plain_check` decides exactly as JSON Schema does; "type" only with these
_PLAIN_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: type(v) is dict,
    "array": lambda v: type(v) is list,
    "string": lambda v: type(v) is str,
    "boolean": lambda v: type(v) is bool,
    "null": lambda v: v is None,
}
_NOTES = {"$schema", "$id", "title", "description", "$comment"}  # no say in validation


def _plain_check(sch: Any) -> Callable[[Any], bool] | None:
    """A plain-Python predicate equal to validating against ``sch`` when the schema uses only
    ``type`` (of :data:`_PLAIN_TYPES`), ``required``, ``properties``, ``items`` (one schema)
    and ``minLength``; None for any other schema (jsonschema alone then decides). Only its
    True is trusted: a False goes to jsonschema, which words the problems."""
    if type(sch) is not dict or not set(sch) <= _NOTES | {"type", "required", "properties",
                                                            "items", "minLength"}:
        return None
    checks: list[Callable[[Any], bool]] = []
    if "type" in sch:
        kinds = sch["type"] if type(sch["type"]) is list else [sch["type"]]
        if not kinds or not all(type(k) is str and k in _PLAIN_TYPES for k in kinds):
            return None
        tests = [_PLAIN_TYPES[k] for k in kinds]
        checks.append(lambda v: any(t(v) for t in tests))
    if "required" in sch:
        keys = sch["required"]
        if type(keys) is not list or not all(type(k) is str for k in keys):
            return None
        checks.append(lambda v: type(v) is not dict or all(k in v for k in keys))
    if "minLength" in sch:
        least = sch["minLength"]
        if type(least) is not int or least < 0:
            return None
        checks.append(lambda v: type(v) is not str or len(v) >= least)
    if "properties" in sch:
        if type(sch["properties"]) is not dict:
            return None
        props = {k: _plain_check(v) for k, v in sch["properties"].items()}
        if any(c is None for c in props.values()):
            return None
        checks.append(lambda v: type(v) is not dict
                      or all(c(v[k]) for k, c in props.items() if k in v))  # type: ignore[misc]
    if "items" in sch:
        item = _plain_check(sch["items"])
        if item is None:
            return None
        checks.append(lambda v: type(v) is not list or all(map(item, v)))
    return lambda v: all(c(v) for c in checks)


_PLAIN: dict[int, tuple[Any, Callable[[Any], bool] | None]] = {}  # id -> (validator, check)


def _plain_for(compiled: Any) -> Callable[[Any], bool] | None:
    """The plain check of a compiled validator's schema (made once per validator: a changed
    schema file is a new validator)."""
    held = _PLAIN.get(id(compiled))
    if held is None or held[0] is not compiled:
        if len(_PLAIN) >= 4:
            _PLAIN.clear()
        held = _PLAIN[id(compiled)] = (compiled, _plain_check(getattr(compiled, "schema", None)))
    return held[1]


def graph_problems(doc: Any) -> list[str]:
    """What ``schemas/graph.schema.json`` says against ``doc`` (empty when it accepts it).

    A graph of 25,000 nodes is one document of 25,000 items: when the schema in use needs only
    the keywords :func:`_plain_check` knows, a plain pass over the nodes accepts it, the same
    verdict as jsonschema's without its per-item cost; anything that pass refuses, and any
    other schema, goes through jsonschema."""
    plain = _plain_for(schema.validator("graph"))
    if plain is not None and plain(doc):
        return []
    return schema.problems("graph", doc)


def from_node_link(doc: Any, where: str = "graph.json") -> nx.Graph:
    """The graph of a ``graph.json`` document; VbotError naming ``where`` when the schema
    refuses it or networkx could only read it by changing it."""
    try:
        found = graph_problems(doc)
        if not found:
            found = structure_problems(doc)
    except RecursionError:
        found = ["nested too deeply"]
    if found:
        raise VbotError(f"{where}: not node-link graph data: {found[0]}")
    key = links_key(doc)
    data = doc if key in doc else {**doc, key: []}  # vbot needs no links to read nodes
    try:
        return nx.node_link_graph(data, directed=_DEFAULTS["directed"],
                                  multigraph=_DEFAULTS["multigraph"],
                                  **{_edges_keyword(): key})
    except (nx.NetworkXError, KeyError, TypeError, ValueError) as exc:
        raise VbotError(f"{where}: not node-link graph data: {exc}") from None


def to_node_link(graph: nx.Graph, like: Any) -> dict[str, Any]:
    """``graph`` as node-link data, arranged like ``like`` (the document it was read from):
    its links key and link order, its top-level keys (others it has are kept as they are)."""
    old = like if isinstance(like, dict) else {}
    key = links_key(old)
    doc: dict[str, Any] = nx.node_link_data(graph, **{_edges_keyword(): key})
    for name, default in _DEFAULTS.items():  # not in the file and still the default: omitted
        if name not in old and doc.get(name) == default:
            doc.pop(name, None)
    old_links = old.get(key) or ()
    if graph.is_multigraph() and not any(isinstance(x, dict) and "key" in x for x in old_links):
        for link in doc[key]:  # the file numbers no parallel links: neither does the rewrite
            link.pop("key", None)
    places: dict[Any, list[int]] = {}  # link -> its positions in the file (parallel links)
    for i, link in enumerate(old_links):
        if isinstance(link, dict):
            places.setdefault(_link_id(link), []).append(i)
    used: dict[Any, int] = {}

    def place(link: dict[str, Any]) -> int:
        ident = _link_id(link)
        nth = used[ident] = used.get(ident, -1) + 1
        where = places.get(ident, ())
        return where[nth] if nth < len(where) else len(old_links)

    doc[key].sort(key=place)
    if key not in old and not doc[key]:
        del doc[key]
    for name, value in old.items():
        doc.setdefault(name, value)
    return doc


def _link_id(link: dict[str, Any]) -> Any:
    ends = (link.get("source"), link.get("target"), link.get("key"))
    try:
        hash(ends)
    except TypeError:  # a list or an object as an end: matches no link of a graph
        return None
    return ends


def dependents(graph: nx.Graph) -> dict[Hashable, int]:
    """For every node, how many nodes depend on it: ``len(nx.descendants(graph, n))``, for
    all nodes at once.

    The graph (its strongly connected components condensed into single steps, when it has
    cycles) is walked from the leaves up; each step's descendants are a bit set (a Python
    int) made of its successors' sets. Bits are numbered in walking order, so a set's size is
    bounded by its own position (leaves hold small ints), and a set is dropped as soon as the
    last step that needs it has used it.
    """
    if not graph.is_directed():
        graph = graph.to_directed()
    try:
        dag, order = graph, list(nx.topological_sort(graph))
        members = None
    except nx.NetworkXUnfeasible:  # cycles: each component is one step
        dag = nx.condensation(graph)
        order = list(nx.topological_sort(dag))
        members = dict(dag.nodes(data="members"))
    waiting = {step: len(dag.pred[step]) for step in dag}  # predecessors still to come
    closure: dict[Hashable, int] = {}  # step -> bits of itself and everything below it
    counts: dict[Hashable, int] = {}
    next_bit = 0
    for step in reversed(order):
        below = 0
        for succ in dag.succ[step]:
            below |= closure[succ]
            waiting[succ] -= 1
            if not waiting[succ]:
                del closure[succ]
        nodes = (step,) if members is None else members[step]
        size = len(nodes)
        count = below.bit_count() + size - 1  # a node is not its own dependent
        for node in nodes:
            counts[node] = count
        if waiting[step]:
            closure[step] = below | (((1 << size) - 1) << next_bit)
        next_bit += size
    return counts


def by_dependents(names: list[str], counts: dict[Hashable, int]) -> list[str]:
    """``names`` with the most depended-on first, ties by name."""
    return sorted(names, key=lambda n: (-counts.get(n, 0), n))
