"""A sweep of 500+ nodes through a mix of injected upstream faults (real git, real HTTP).

Every node has an outcome, no good result is clobbered by a transient failure, permanent
failures are written as ``bad``, and the run ends within its deadline.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import make_cf_tree, node_attrs, write_json
from vbot.check.outcome import BAD, FOUND, INVALID, TRANSIENT
from vbot.commands.sweep import SweepOptions, sweep
from vbot.repo import schema
from vbot.repo.paths import sharded_relpath
from vbot.testing.fakeupstream import FakeUpstream

pytestmark = pytest.mark.slow  # hundreds of nodes through faults: seconds each

# kind -> (fault on the node's upstream path, expected status)
KINDS: dict[str, tuple[dict[str, Any] | None, str]] = {
    "ok": (None, FOUND),
    "gh": (None, FOUND),
    "flaky": ({"kind": "status", "status": 503, "first": 1}, FOUND),
    "reset1": ({"kind": "reset", "first": 1}, FOUND),
    "r429": ({"kind": "status", "status": 429, "retry_after": 1, "first": 1}, FOUND),
    "ghlimit": ({"kind": "ratelimit", "reset_in": 1, "first": 1}, FOUND),
    "s500": ({"kind": "status", "status": 500}, TRANSIENT),
    "s502": ({"kind": "status", "status": 502}, TRANSIENT),
    "timeout": ({"kind": "timeout", "seconds": 1}, TRANSIENT),
    "reset": ({"kind": "reset"}, TRANSIENT),
    "r429long": ({"kind": "status", "status": 429, "retry_after": 3600}, TRANSIENT),
    "malformed": ({"kind": "malformed"}, BAD),
    "html": ({"kind": "html"}, BAD),
    "huge": ({"kind": "huge", "bytes": 400_000}, BAD),
    "shape": ({"kind": "shape"}, BAD),
    "missing": (None, BAD),
    "rand": ({"kind": "status", "status": 503, "probability": 0.3}, "found-or-transient"),
}
# how many nodes of each kind (520 in all)
COUNTS = {"ok": 200, "gh": 40, "flaky": 30, "reset1": 20, "r429": 10, "ghlimit": 4,
          "s500": 30, "s502": 10, "timeout": 16, "reset": 20, "r429long": 10, "malformed": 20,
          "html": 15, "huge": 10, "shape": 15, "missing": 20, "rand": 50}
GOOD_EARLIER = {"new_version": "0.1"}
HTTP_ENV = {"VBOT_HTTP_CONNECT_TIMEOUT": "1", "VBOT_HTTP_READ_TIMEOUT": "0.3",
            "VBOT_HTTP_RETRIES": "2", "VBOT_HTTP_BACKOFF": "0.05",
            "VBOT_HTTP_MAX_RETRY_AFTER": "2", "VBOT_HTTP_MAX_RATE_LIMIT_WAIT": "3",
            "VBOT_HTTP_MAX_BODY_BYTES": "300000"}


def build(tmp: Path) -> tuple[Path, dict[str, Any], dict[str, str]]:
    """The data tree, the fake world and node -> kind."""
    nodes: dict[str, dict[str, Any]] = {}
    world: dict[str, Any] = {"pypi": {}, "github": {}, "faults": [], "seed": 7}
    kinds: dict[str, str] = {}
    for kind, count in COUNTS.items():
        fault, _ = KINDS[kind]
        for i in range(count):
            name = f"{kind}-{i:03d}"
            kinds[name] = kind
            if kind in ("gh", "ghlimit"):
                url = f"https://github.com/org/{name}/archive/v1.0.tar.gz"
                world["github"][f"org/{name}"] = {"releases": [{"tag_name": f"v2.{i}"}],
                                                  "tags": [f"v2.{i}", "v1.0"]}
                path = f"/github/repos/org/{name}/*"
            else:
                url = f"https://pypi.example/packages/source/{name[0]}/{name}/{name}-1.0.tar.gz"
                if kind != "missing":
                    world["pypi"][name] = {"versions": ["1.0", f"2.{i}"]}
                path = f"/pypi/{name}/json"
            nodes[name] = node_attrs(name, url, "1.0")
            if fault:
                world["faults"].append({"path": path, **fault})
    tree = make_cf_tree(tmp / "tree", nodes)
    # a good earlier result for every other node: transient failures must keep it
    for i, name in enumerate(sorted(nodes)):
        if i % 2 == 0:
            write_json(tree / sharded_relpath("versions", name), GOOD_EARLIER)
    # hostile entries: unsafe names and a broken node document
    graph = json.loads((tree / "graph.json").read_text())
    graph["nodes"] += [{"id": "../evil", "payload": {"__lazy_json__": "node_attrs/../evil.json"}},
                       {"id": "bad\x01name", "payload": {"__lazy_json__": "node_attrs/x.json"}},
                       {"id": "broken", "payload": {"__lazy_json__": "node_attrs/broken.json"}}]
    write_json(tree / "graph.json", graph)
    broken = tree / sharded_relpath("node_attrs", "broken")
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_text('{"version": "1.0", "url": ')
    return tree, world, kinds


def test_sweep_of_520_nodes_through_faults(tmp_path: Path, make_remote) -> None:
    tree, world, kinds = build(tmp_path)
    earlier = {name for name in kinds
               if (tree / sharded_relpath("versions", name)).is_file()}
    remote = make_remote(tree)
    deadline = 90.0
    with FakeUpstream(world) as fake:
        env = {**fake.env(), **HTTP_ENV}
        start = time.monotonic()
        report = sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "work", workers=16,
                                    progress=False, env=env, deadline=deadline,
                                    report=tmp_path / "report.json"))
        took = time.monotonic() - start
        # the faults really fired: retried where they should, given up where they should
        assert fake.requests["/pypi/flaky-000/json"] == 2
        assert fake.requests["/pypi/s500-000/json"] == 3
        assert fake.requests["/pypi/r429long-000/json"] == 1
        assert fake.requests["/pypi/malformed-000/json"] == 1
        assert fake.requests["/github/repos/org/ghlimit-000/releases"] == 2
    assert took < deadline
    assert report.extra["deadline_reached"] is False

    # every node of graph.json has exactly one outcome
    outcomes = report.outcomes
    assert len(outcomes) == len(kinds) + 3
    assert {"broken", "'../evil'", "'bad\\x01name'"} <= set(outcomes)
    assert all(outcomes[n].status == INVALID for n in ("broken", "'../evil'", "'bad\\x01name'"))
    assert "line 1 column" in (outcomes["broken"].reason or "")

    files = set(remote.files())
    for name, kind in kinds.items():
        outcome = outcomes[name]
        want = KINDS[kind][1]
        rel = sharded_relpath("versions", name)
        doc = remote.show(rel)
        assert schema.is_valid("versions", doc), (name, doc)
        if want == "found-or-transient":
            assert outcome.status in (FOUND, TRANSIENT), (name, outcome)
            want = outcome.status
        assert outcome.status == want, (name, kind, outcome)
        if want == FOUND:
            assert doc == {"new_version": f"2.{int(name.rsplit('-', 1)[1])}"}, name
        elif want == TRANSIENT:
            # the good earlier result survives; without one, the failure is written as bad
            if name in earlier:
                assert doc == GOOD_EARLIER, (name, doc)
            else:
                assert doc["bad"].startswith("Upstream: "), (name, doc)
        else:
            assert doc["bad"].startswith(f"Upstream: {outcome.source or 'vbot'}: "), doc
            assert outcome.reason and outcome.reason in doc["bad"]
        assert rel in files
    # clear reasons for the malformed kinds
    reasons = {kinds[n]: o.reason for n, o in outcomes.items() if n in kinds}
    assert "malformed JSON" in reasons["malformed"]
    assert "HTML page" in reasons["html"]
    assert "larger than" in reasons["huge"]
    assert "unexpected answer" in reasons["shape"]
    assert "HTTP 404" in reasons["missing"]
    assert "Retry-After" in reasons["r429long"]
    # nothing was written for the hostile names, nothing outside versions/ changed
    assert not any("evil" in f for f in files)
    assert len(remote.commits()) == 2
    saved = json.loads((tmp_path / "report.json").read_text())
    failed = {f["node"] for f in saved["failures"]}
    assert failed == {n for n, o in outcomes.items() if o.status in (BAD, TRANSIENT, INVALID)}
