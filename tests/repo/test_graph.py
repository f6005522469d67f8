"""graph.json through networkx: node-link reading and writing without churn, dependents."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import write_json
from vbot.errors import VbotError
from vbot.repo import schema
from vbot.repo.datarepo import DataRepo
from vbot.repo.graph import (
    _plain_check,
    by_dependents,
    dependents,
    from_node_link,
    graph_problems,
    to_node_link,
)

LUT = {"outputs_lut": {"b": {"__set__": True, "elements": ["b", "b-lib"]}}}


def _inline_graph() -> dict:
    """An inline-layout graph.json the way real files look: links sorted by source+target
    (not networkx's order), sets and lazy references inside node attributes."""
    return {
        "directed": True, "multigraph": False, "graph": LUT,
        "nodes": [
            {"id": "c", "version": "1.0", "pr_info": {"__lazy_json__": "pr_info/c.json"}},
            {"id": "a", "version": "2.0",
             "requirements": {"run": {"__set__": True, "elements": ["b", "c"]}}},
            {"id": "b", "version": "0.1", "new_version": "0.2"},
        ],
        "links": [{"source": "b", "target": "a"}, {"source": "c", "target": "a"},
                  {"source": "c", "target": "b"}],
    }


def test_an_unchanged_graph_is_not_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "graph.json"
    text = json.dumps(_inline_graph(), indent=1, sort_keys=True) + "\n"  # cf-scripts' style
    path.write_text(text)
    repo = DataRepo.open(tmp_path)
    assert repo.layout == "inline" and list(repo.graph) == ["c", "a", "b"]
    assert sorted(repo.graph.edges) == [("b", "a"), ("c", "a"), ("c", "b")]
    assert repo.node_attrs("a")["requirements"]["run"]["__set__"] is True
    assert not repo.write_graph()
    assert path.read_text() == text


def test_a_changed_node_changes_only_that_node(tmp_path: Path) -> None:
    write_json(tmp_path / "graph.json", _inline_graph())
    repo = DataRepo.open(tmp_path)
    repo._node_entry("c")["new_version"] = "1.1"  # what merge does in the inline layout
    assert repo.write_graph()
    expected = _inline_graph()
    expected["nodes"][0]["new_version"] = "1.1"
    assert json.loads((tmp_path / "graph.json").read_text()) == expected  # link order kept


def test_the_file_keeps_its_own_keys() -> None:
    """No keys the file did not have (networkx's defaults), and the ones vbot does not know
    are kept; an ``edges`` file stays an ``edges`` file."""
    doc = {"nodes": [{"id": "a"}, {"id": "b"}], "edges": [{"source": "a", "target": "b",
                                                           "weight": 2}], "x-extra": [1]}
    graph = from_node_link(doc)
    assert graph.is_directed() and not graph.is_multigraph()
    assert graph.edges["a", "b"] == {"weight": 2}
    assert to_node_link(graph, doc) == doc
    bare = {"nodes": [{"id": "a"}]}
    assert to_node_link(from_node_link(bare), bare) == bare
    multi = {"multigraph": True, "nodes": [{"id": "a"}, {"id": "b"}],
             "links": [{"source": "b", "target": "a"}, {"source": "a", "target": "b"},
                       {"source": "b", "target": "a"}]}
    graph = from_node_link(multi)
    assert graph.is_multigraph() and graph.number_of_edges("b", "a") == 2
    assert to_node_link(graph, multi) == multi


@pytest.mark.parametrize(("doc", "message"), [
    ({"nodes": [{"id": "a"}, {"id": "b"}, {"id": "a"}]},
     "nodes/2/id: duplicate node id 'a'"),
    ({"nodes": [{"id": "a"}], "links": [{"source": "a", "target": "zz"}]},
     "links/0/target: 'zz' is not a node of the graph"),
    ({"nodes": [{"id": "a"}], "links": [{"source": ["a"], "target": "a"}]},
     "links/0/source: ['a'] is not a node of the graph"),
    ({"nodes": [{"id": "a"}], "links": [{"source": "a"}]},
     "links/0: 'target' is a required property"),
])
def test_what_networkx_would_repair_is_refused(doc: dict, message: str) -> None:
    with pytest.raises(VbotError) as err:
        from_node_link(doc)
    assert str(err.value) == f"graph.json: not node-link graph data: {message}"


def _chain_graph() -> nx.DiGraph:
    # python <- numpy <- scipy <- sklearn; python <- requests; a cycle x <-> y below numpy
    return nx.DiGraph([("python", "numpy"), ("numpy", "scipy"), ("scipy", "sklearn"),
                       ("python", "requests"), ("numpy", "x"), ("x", "y"), ("y", "x"),
                       ("solo", "solo")])


def test_dependents_of_a_known_graph() -> None:
    counts = dependents(_chain_graph())
    assert counts == {"python": 6, "numpy": 4, "scipy": 1, "sklearn": 0, "requests": 0,
                      "x": 1, "y": 1, "solo": 0}
    assert by_dependents(list(counts), counts) == [
        "python", "numpy", "scipy", "x", "y", "requests", "sklearn", "solo"]


edges = st.lists(st.tuples(st.integers(0, 14), st.integers(0, 14)), max_size=40)


@settings(max_examples=200, deadline=None)
@given(edges=edges, lonely=st.integers(0, 3), directed=st.booleans())
def test_dependents_are_the_descendant_counts(edges: list[tuple[int, int]], lonely: int,
                                              directed: bool) -> None:
    graph = nx.DiGraph() if directed else nx.Graph()
    graph.add_nodes_from(range(100, 100 + lonely))
    graph.add_edges_from(edges)
    assert dependents(graph) == {n: len(nx.descendants(graph, n)) for n in graph}


attrs = st.dictionaries(st.sampled_from(["version", "pr_info", "requirements", "x"]),
                        st.none() | st.text(max_size=5) | st.fixed_dictionaries(
                            {"__lazy_json__": st.text(max_size=10)})
                        | st.fixed_dictionaries({"__set__": st.just(True),
                                                 "elements": st.lists(st.text(max_size=4))}),
                        max_size=3)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), ids=st.lists(st.text("abcxyz-", min_size=1, max_size=4), min_size=1,
                                    max_size=8, unique=True))
def test_node_link_round_trips_unchanged(data: st.DataObject, ids: list[str]) -> None:
    pairs = st.tuples(st.sampled_from(ids), st.sampled_from(ids))
    links = data.draw(st.lists(pairs, unique=True, max_size=12))  # any order, self links too
    doc = {"directed": True, "multigraph": False, "graph": LUT,
           "nodes": [{"id": n, **data.draw(attrs)} for n in ids],
           "links": [{"source": s, "target": t} for s, t in links]}
    for key in data.draw(st.lists(st.sampled_from(["directed", "multigraph", "graph"]),
                                  unique=True)):
        del doc[key]  # files without networkx's optional keys stay without them
    graph = from_node_link(json.loads(json.dumps(doc)))
    assert to_node_link(graph, doc) == doc
    name = data.draw(st.sampled_from(ids))
    graph.nodes[name]["new_version"] = "9.9"
    changed = to_node_link(graph, doc)
    assert changed["links"] == doc["links"]
    assert [n for n, m in zip(changed["nodes"], doc["nodes"], strict=True) if n != m] == [
        {**next(m for m in doc["nodes"] if m["id"] == name), "new_version": "9.9"}]


_JSON = st.recursive(st.none() | st.booleans() | st.integers(-2, 2) | st.floats(0, 1)
                     | st.sampled_from(["", "a", "b", "__lazy_json__", "id"]),
                     lambda kids: st.lists(kids, max_size=3)
                     | st.dictionaries(st.sampled_from(["id", "payload", "__lazy_json__",
                                                        "source", "target", "nodes", "links",
                                                        "edges", "directed", "graph"]),
                                       kids, max_size=4), max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_JSON, st.fixed_dictionaries({"nodes": st.lists(_JSON, max_size=4)},
                                              optional={"links": _JSON, "edges": _JSON,
                                                        "directed": _JSON, "graph": _JSON})))
def test_the_plain_graph_check_gives_jsonschemas_verdict(doc: object) -> None:
    """graph.json's schema is checked without jsonschema's per-node cost: same verdict, and
    jsonschema's words for whatever is refused."""
    assert (graph_problems(doc) == []) == schema.validator("graph").is_valid(doc)
    assert graph_problems(doc) == schema.problems("graph", doc)


def test_the_plain_check_leaves_other_keywords_to_jsonschema() -> None:
    assert _plain_check({"type": "object", "required": ["nodes"]}) is not None
    for sch in ({"type": "integer"}, {"type": "object", "additionalProperties": False},
                {"items": [{"type": "string"}]}, {"properties": {"id": {"pattern": "x"}}},
                True, {"type": []}):
        assert _plain_check(sch) is None
    with pytest.raises(VbotError, match="nodes/1/id"):
        from_node_link({"nodes": [{"id": "a"}, {"id": ""}]})
