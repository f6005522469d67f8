"""The walking skeleton end to end: sweep, merge and revert on real git and real HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import (
    SMOKE_EXPECTED,
    SMOKE_NODES,
    SMOKE_WORLD,
    make_cf_tree,
    make_inline_tree,
    point_env_at,
)
from vbot.commands.merge import MergeOptions, merge
from vbot.commands.sweep import SweepOptions, sweep
from vbot.repo.paths import sharded_relpath


@pytest.fixture
def world(fake, monkeypatch):
    fake.set_world(SMOKE_WORLD)
    point_env_at(fake, monkeypatch)
    return fake


def test_cf_sweep_merge_revert(tmp_path: Path, make_remote, world) -> None:
    remote = make_remote(make_cf_tree(tmp_path / "tree", SMOKE_NODES))
    report = sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "work", progress=False))
    assert report.counts()["checked"] == 4
    assert report.counts()["skipped"] == 1
    commits = remote.commits()
    assert len(commits) == 2
    assert "Vbot-Run: sweep-" in commits[0].message
    for name, version in SMOKE_EXPECTED.items():
        assert remote.show(sharded_relpath("versions", name)) == {"new_version": version}
    assert not any("/old.json" in f for f in remote.files() if f.startswith("versions/"))

    # unchanged re-sweep makes no commit
    sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "work", progress=False))
    assert len(remote.commits()) == 2

    result = merge(MergeOptions(remote=remote.url, workdir=tmp_path / "work2", progress=False))
    assert result.changed == 4
    assert len(remote.commits()) == 3
    for name, version in SMOKE_EXPECTED.items():
        assert remote.show(sharded_relpath("version_pr_info", name)) == {"new_version": version}
    again = merge(MergeOptions(remote=remote.url, workdir=tmp_path / "work2", progress=False))
    assert again.changed == 0 and len(remote.commits()) == 3


def test_inline_layout(tmp_path: Path, make_remote, world) -> None:
    remote = make_remote(make_inline_tree(tmp_path / "tree", SMOKE_NODES))
    sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "w", progress=False))
    assert remote.show("versions/requests.json") == {"new_version": "2.32.3"}
    merge(MergeOptions(remote=remote.url, workdir=tmp_path / "w", progress=False))
    graph = remote.show("graph.json")
    got = {n["id"]: n.get("new_version") for n in graph["nodes"]}
    assert got == {**SMOKE_EXPECTED, "old": None}
