"""The walking skeleton end to end: sweep, merge and revert on real git and real HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import make_cf_tree, make_inline_tree, node_attrs, point_env_at
from vbot.commands.merge import MergeOptions, merge
from vbot.commands.sweep import SweepOptions, sweep
from vbot.repo.paths import sharded_relpath

PYPI_URL = "https://pypi.example/packages/source/r/requests/requests-2.31.0.tar.gz"
HASHED = ("https://files.pypi.example/packages/ab/cd/" + "e" * 60 + "/attrs-23.1.0.tar.gz")
GH_URL = "https://github.com/psf/black/archive/refs/tags/24.1.0.tar.gz"
GH_TAGS_URL = "https://github.com/foo/bar/archive/v0.9.tar.gz"

WORLD = {
    "pypi": {
        "requests": {"versions": ["2.31.0", "2.32.3", "2.33.0", "2.34.0rc1"],
                     "yanked": ["2.33.0"], "large": True},
        "attrs": {"versions": ["23.1.0", "24.2.0"]},
    },
    "github": {
        "psf/black": {"releases": [{"tag_name": "25.1.0", "prerelease": False}],
                      "tags": ["25.1.0", "24.1.0"]},
        "foo/bar": {"releases": [{"tag_name": "v2.0b1", "prerelease": True}],
                    "tags": ["v2.0b1", "v1.1", "v1.0", "v0.9"]},
    },
}

NODES = {
    "requests": node_attrs("requests", PYPI_URL, "2.31.0"),
    "attrs": node_attrs("attrs", HASHED, "23.1.0"),
    "black": node_attrs("black", GH_URL, "24.1.0"),
    "bar": node_attrs("bar", GH_TAGS_URL, "0.9"),
    "old": node_attrs("old", GH_URL, "1.0", archived=True),
}
EXPECTED = {"requests": "2.32.3", "attrs": "24.2.0", "black": "25.1.0", "bar": "1.1"}


@pytest.fixture
def world(fake, monkeypatch):
    fake.set_world(WORLD)
    point_env_at(fake, monkeypatch)
    return fake


def test_cf_sweep_merge_revert(tmp_path: Path, make_remote, world) -> None:
    remote = make_remote(make_cf_tree(tmp_path / "tree", NODES))
    report = sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "work", progress=False))
    assert report.counts()["checked"] == 4
    assert report.counts()["skipped"] == 1
    commits = remote.commits()
    assert len(commits) == 2
    assert "Vbot-Run: sweep-" in commits[0].message
    for name, version in EXPECTED.items():
        assert remote.show(sharded_relpath("versions", name)) == {"new_version": version}
    assert not any("/old.json" in f for f in remote.files() if f.startswith("versions/"))

    # unchanged re-sweep makes no commit
    sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "work", progress=False))
    assert len(remote.commits()) == 2

    result = merge(MergeOptions(remote=remote.url, workdir=tmp_path / "work2", progress=False))
    assert result.changed == 4
    assert len(remote.commits()) == 3
    for name, version in EXPECTED.items():
        assert remote.show(sharded_relpath("version_pr_info", name)) == {"new_version": version}
    again = merge(MergeOptions(remote=remote.url, workdir=tmp_path / "work2", progress=False))
    assert again.changed == 0 and len(remote.commits()) == 3


def test_inline_layout(tmp_path: Path, make_remote, world) -> None:
    remote = make_remote(make_inline_tree(tmp_path / "tree", NODES))
    sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "w", progress=False))
    assert remote.show("versions/requests.json") == {"new_version": "2.32.3"}
    merge(MergeOptions(remote=remote.url, workdir=tmp_path / "w", progress=False))
    graph = remote.show("graph.json")
    got = {n["id"]: n.get("new_version") for n in graph["nodes"]}
    assert got == {**EXPECTED, "old": None}
