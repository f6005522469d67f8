"""What jsonschema validation and the networkx graph cost at conda-forge scale.

    python benchmarks/bench_graph.py              # 25,000 nodes
    python benchmarks/bench_graph.py -n 2000

Measures, in this process: validating N versions files and N ``new_version`` values with the
compiled validators (all distinct, and with the few distinct values a data repo really has);
reading a graph.json of N nodes (JSON, schema, ``networkx.node_link_graph``); the dependents
count of every node (``vbot.repo.graph.dependents``) against ``nx.descendants`` per node, on two
graphs: the sparse random one of ``genrepo.py`` and a conda-forge-like one where a few hubs
(python, a compiler stub, numpy...) are depended on by most nodes.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

import networkx as nx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vbot import schema  # noqa: E402
from vbot.repo.graph import dependents, from_node_link  # noqa: E402


def _time(fn: Any, *args: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def sparse_graph(n: int, seed: int = 7) -> dict[str, Any]:
    """The links of benchmarks/genrepo.py: 0-2 links from each node to an earlier one."""
    rng = random.Random(seed)
    names = [f"pkg-{i:05d}" for i in range(n)]
    return {"directed": True, "multigraph": False, "graph": {"outputs_lut": {}},
            "nodes": [{"id": m, "payload": {"__lazy_json__": f"node_attrs/{m}.json"}}
                      for m in names],
            "links": [{"source": names[i], "target": names[rng.randrange(i)]}
                      for i in range(1, n) for _ in range(rng.randint(0, 2))]}


def hub_graph(n: int, seed: int = 7) -> dict[str, Any]:
    """Dependency -> dependent links as in conda-forge: 8 hubs most nodes need, then each
    node needs 2-8 earlier nodes, the popular ones more likely (preferential attachment)."""
    rng = random.Random(seed)
    names = [f"pkg-{i:05d}" for i in range(n)]
    links: set[tuple[int, int]] = set()
    pool: list[int] = list(range(8))
    for i in range(8, n):
        deps = {h for h in range(8) if rng.random() < 0.5}
        deps |= {rng.choice(pool) for _ in range(rng.randint(2, 8))}
        links |= {(d, i) for d in deps if d < i}
        pool += list(deps) + [i]
    return {"directed": True, "multigraph": False, "graph": {},
            "nodes": [{"id": m, "payload": {"__lazy_json__": f"node_attrs/{m}.json"}}
                      for m in names],
            "links": [{"source": names[s], "target": names[t]} for s, t in sorted(links)]}


def bench_validation(n: int) -> list[str]:
    rng = random.Random(1)
    distinct = [{"new_version": f"{i // 1000}.{i % 1000}.{rng.randint(0, 99)}"} for i in range(n)]
    few = [{"new_version": f"{rng.randint(0, 5)}.{rng.randint(0, 13)}.{rng.randint(0, 3)}"}
           for _ in range(n)]
    out = []
    schema.is_valid("versions", {"new_version": "0"})  # compiled outside the timings
    schema.is_valid("new_version", "0")
    for label, docs in (("all distinct", distinct), ("genrepo-like, few distinct", few)):
        schema.load("versions")._memo.clear()  # no verdict remembered from before
        schema.load("new_version")._memo.clear()
        took, ok = _time(lambda d: all(schema.is_valid("versions", x) for x in d), docs)
        took_nv, ok_nv = _time(
            lambda d: all(schema.is_valid("new_version", x["new_version"]) for x in d), docs)
        assert ok and ok_nv
        out.append(f"| {n} versions files, {label} | {took:.2f} s "
                   f"({1e6 * took / n:.1f} µs each) | {n} new_version values: {took_nv:.2f} s |")
    raw = schema.validator("versions")
    took, _ = _time(lambda d: [raw.is_valid(x) for x in d], distinct)
    out.append(f"| {n} versions files, jsonschema `is_valid` alone | {took:.2f} s "
               f"({1e6 * took / n:.1f} µs each) | |")
    return out


def bench_graph(label: str, doc: dict[str, Any], per_node_sample: int) -> list[str]:
    text = json.dumps(doc, sort_keys=True, indent=1)
    t_json, parsed = _time(json.loads, text)
    t_schema, found = _time(schema.problems, "graph", parsed)
    assert not found
    t_read, graph = _time(from_node_link, parsed)
    t_dep, counts = _time(dependents, graph)
    sample = list(graph)[:: max(1, len(graph) // per_node_sample)]
    t_desc, exact = _time(lambda ns: {x: len(nx.descendants(graph, x)) for x in ns}, sample)
    assert all(counts[x] == exact[x] for x in sample)
    per_node = t_desc / len(sample) * len(graph)
    top = max(counts.values())
    mean = sum(counts.values()) / len(counts)
    return [f"| {label}: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} links, "
            f"{len(text) / 1e6:.1f} MB | JSON {t_json:.2f} s, schema {t_schema:.2f} s, "
            f"networkx read (schema included) {t_read:.2f} s | dependents of every node "
            f"{t_dep:.2f} s (most {top}, mean {mean:.0f}); `nx.descendants` per node "
            f"~{per_node:.1f} s (from {len(sample)} nodes) |"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--nodes", type=int, default=25000)
    args = ap.parse_args(argv)
    rows = ["| what | time | |", "|---|---|---|"]
    rows += bench_validation(args.nodes)
    rows += bench_graph("genrepo (sparse)", sparse_graph(args.nodes), 2000)
    rows += bench_graph("conda-forge-like (hubs)", hub_graph(args.nodes), 200)
    print("\n".join(rows))
    print(f"\npeak RSS of this process: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
