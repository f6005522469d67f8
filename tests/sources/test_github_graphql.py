"""GitHub through batched GraphQL queries when a token is set, REST otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import make_cf_tree, node_attrs, point_env_at
from vbot.commands.sweep import SweepOptions, sweep
from vbot.repo.paths import sharded_relpath
from vbot.sources.github_graphql import build_query

REPOS = 101


def gh_url(repo: str, tag: str) -> str:
    return f"https://github.com/{repo}/archive/refs/tags/{tag}.tar.gz"


WORLD = {
    "github": {
        **{f"org/r{i}": {"releases": [{"tag_name": f"v1.{i}"}], "tags": [f"v1.{i}", "v1.0"]}
           for i in range(REPOS)},
        "org/tagsonly": {"releases": [], "tags": ["v2.0rc1", "v1.5", "v1.4"]},
        "org/pre": {"releases": [{"tag_name": "v3.0b1", "prerelease": True}],
                    "tags": ["v3.0b1", "v2.9"]},
    },
}
NODES = {f"r{i}": node_attrs(f"r{i}", gh_url(f"org/r{i}", "v1.0"), "1.0") for i in range(REPOS)}
NODES["tagsonly"] = node_attrs("tagsonly", gh_url("org/tagsonly", "v1.4"), "1.4")
NODES["pre"] = node_attrs("pre", gh_url("org/pre", "v2.9"), "2.9")
NODES["gone"] = node_attrs("gone", gh_url("org/gone", "v1.0"), "1.0")
EXPECTED = {**{f"r{i}": {"new_version": f"1.{i}"} for i in range(REPOS)},
            "tagsonly": {"new_version": "1.5"}, "pre": {"new_version": "2.9"}}


@pytest.fixture
def world(fake, monkeypatch):
    fake.set_world(WORLD)
    point_env_at(fake, monkeypatch)
    return fake


def results(remote) -> dict:
    return {n: remote.show(sharded_relpath("versions", n)) for n in NODES}


def run(remote, tmp_path: Path, name: str):
    return sweep(SweepOptions(remote=remote.url, workdir=tmp_path / name, progress=False,
                              http_cache=False, workers=8))


def test_token_batches_repositories_into_graphql_queries(tmp_path, make_remote, world,
                                                         monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_faketoken")
    remote = make_remote(make_cf_tree(tmp_path / "tree", NODES))
    report = run(remote, tmp_path, "w")
    graphql = world.requests["/github/graphql"]
    rest = sum(v for k, v in world.requests.items() if k.startswith("/github/repos/"))
    assert graphql == 2  # 104 repositories, 100 per query
    assert rest == 0
    assert (len(NODES)) / graphql >= 50
    got = results(remote)
    assert {n: got[n] for n in EXPECTED} == EXPECTED
    assert "not found" in got["gone"]["bad"]
    assert report.counts()["found"] == len(EXPECTED)
    sent = [h for h in world.headers_seen if h["path"] == "/github/graphql"]
    assert all(h.get("Authorization") == "Bearer ghp_faketoken" for h in sent)


@pytest.mark.slow
def test_graphql_and_rest_agree(tmp_path, make_remote, world, monkeypatch):
    remote = make_remote(make_cf_tree(tmp_path / "tree", NODES))
    run(remote, tmp_path, "rest")
    assert world.requests["/github/graphql"] == 0
    by_rest = results(remote)
    remote2_tree = make_cf_tree(tmp_path / "tree2", NODES)
    from tests.helpers import Remote

    remote2 = Remote(remote2_tree, tmp_path / "second")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_faketoken")
    run(remote2, tmp_path, "graphql")
    assert world.requests["/github/graphql"] == 2
    assert results(remote2) == by_rest


@pytest.mark.slow
def test_failed_batch_falls_back_to_rest(tmp_path, make_remote, world, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_faketoken")
    world.set_world(dict(WORLD, faults=[{"path": "/github/graphql", "kind": "status",
                                         "status": 502, "times": 4}]))
    remote = make_remote(make_cf_tree(tmp_path / "tree", NODES))
    run(remote, tmp_path, "w")
    assert world.requests["/github/graphql"] == 5  # one batch failed 4 times, one answered
    got = results(remote)
    assert {n: got[n] for n in EXPECTED} == EXPECTED
    rest = {k for k in world.requests if k.startswith("/github/repos/")}
    assert len(rest) >= 4  # the failed batch's repositories, each by REST


def test_query_quotes_names():
    query = build_query([("o", 'we"ird')])
    assert 'name: "we\\"ird"' in query and "first: 100" in query
