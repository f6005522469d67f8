"""``--deadline`` and far-away rate limits end a sweep on time, with every node reported."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.helpers import make_cf_tree, node_attrs, write_json
from vbot.check.outcome import FOUND, TRANSIENT
from vbot.commands.sweep import SweepOptions, sweep
from vbot.repo.paths import sharded_relpath
from vbot.run.executors import DEADLINE_REASON
from vbot.testing.fakeupstream import FakeUpstream


def pypi_nodes(count: int, prefix: str = "p") -> tuple[dict, dict]:
    nodes, world = {}, {}
    for i in range(count):
        name = f"{prefix}{i:03d}"
        url = f"https://pypi.example/packages/source/{name[0]}/{name}/{name}-1.0.tar.gz"
        nodes[name] = node_attrs(name, url, "1.0")
        world[name] = {"versions": ["1.0", "1.1"]}
    return nodes, world


@pytest.mark.slow
def test_deadline_reports_pending_nodes_and_commits_the_rest(tmp_path: Path, make_remote) -> None:
    nodes, pypi = pypi_nodes(60)
    tree = make_cf_tree(tmp_path / "tree", nodes)
    write_json(tree / sharded_relpath("versions", "p059"), {"new_version": "1.0.5"})
    remote = make_remote(tree)
    deadline = 2.5
    with FakeUpstream({"pypi": pypi, "latency_ms": 250}) as fake:
        start = time.monotonic()
        report = sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "w", workers=2,
                                    progress=False, env=fake.env(), deadline=deadline))
        took = time.monotonic() - start
    statuses = {n: o.status for n, o in report.outcomes.items()}
    assert set(statuses) == set(nodes)  # nobody missing
    found = [n for n, s in statuses.items() if s == FOUND]
    late = [n for n, s in statuses.items() if s == TRANSIENT]
    assert found and late and len(found) + len(late) == 60
    assert all(report.outcomes[n].reason == DEADLINE_REASON or "deadline" in
               (report.outcomes[n].reason or "") for n in late)
    assert report.extra["deadline_reached"] and report.extra["pushed"]
    checked_by = sum(report.durations[p] for p in ("clone", "load", "check"))
    assert checked_by < deadline + 2.5  # in-flight requests end by the deadline (+ grace)
    assert took < deadline + 15  # commit and push of 60 small files come after the deadline
    # what was found is committed; the late ones keep their file or get bad
    for name in found:
        assert remote.show(sharded_relpath("versions", name)) == {"new_version": "1.1"}
    assert "p059" in late
    assert remote.show(sharded_relpath("versions", "p059")) == {"new_version": "1.0.5"}
    for name in late:
        if name != "p059":
            assert "deadline" in remote.show(sharded_relpath("versions", name))["bad"]


def test_hanging_requests_are_cut_at_the_deadline(tmp_path: Path, make_remote) -> None:
    nodes, pypi = pypi_nodes(12)
    remote = make_remote(make_cf_tree(tmp_path / "tree", nodes))
    world = {"pypi": pypi, "faults": [{"path": "/pypi/*", "kind": "timeout", "seconds": 30}]}
    with FakeUpstream(world) as fake:
        # default read timeout (20 s) and retries: only the deadline can end this early
        start = time.monotonic()
        report = sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "w", workers=4,
                                    progress=False, env=fake.env(), deadline=1.5))
        took = time.monotonic() - start
    assert took < 10  # the read timeout alone would take 20 s
    assert {o.status for o in report.outcomes.values()} == {TRANSIENT}
    assert len(report.outcomes) == 12


def test_rate_limit_far_away_reports_the_rest_of_that_host(tmp_path: Path, make_remote) -> None:
    nodes, pypi = pypi_nodes(10)
    github = {}
    for i in range(20):
        name = f"g{i:03d}"
        nodes[name] = node_attrs(name, f"https://github.com/o/{name}/archive/v1.0.tar.gz", "1.0")
        github[f"o/{name}"] = {"releases": [{"tag_name": "v1.1"}]}
    remote = make_remote(make_cf_tree(tmp_path / "tree", nodes))
    world = {"pypi": pypi, "github": github,
             "faults": [{"path": "/github/*", "kind": "ratelimit", "reset_in": 3000}]}
    with FakeUpstream(world) as fake:
        start = time.monotonic()
        report = sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "w", workers=4,
                                    progress=False, env=fake.env()))
        took = time.monotonic() - start
        github_requests = sum(v for k, v in fake.requests.items() if k.startswith("/github/"))
    assert took < 10
    for name, outcome in report.outcomes.items():
        if name.startswith("g"):
            assert outcome.status == TRANSIENT and "rate limited" in (outcome.reason or "")
        else:
            assert outcome.status == FOUND
    assert github_requests <= 4  # at most the requests in flight when the limit was seen
    assert report.counts()["rate_limited"] == 20
