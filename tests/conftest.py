"""Shared fixtures: real git remotes in tmp dirs and the loopback fake upstream."""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import git
import pytest

from vbot.repo.paths import sharded_relpath
from vbot.shipped import resource_dir
from vbot.testing.fakeupstream import FakeUpstream
from vbot.testing.gitfixtures import create_remote

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's tokens, caches or registry settings."""
    for key in list(os.environ):
        if key.startswith("VBOT_") or key in ("GITHUB_TOKEN", "GH_TOKEN"):
            monkeypatch.delenv(key)
        elif key.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "netrc"):
            monkeypatch.delenv(key)  # requests honours these: the fake upstream is loopback
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir(exist_ok=True)
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "vbot tests")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "tests@vbot.example")


class Blocking:
    """A test's blocking view of an async object (an HttpClient, a Checker): each coroutine
    method call runs to completion on an event loop of its own."""

    def __init__(self, target: Any) -> None:
        self.target = target

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.target, name)
        if not inspect.iscoroutinefunction(attr):
            return attr
        return lambda *args, **kwargs: asyncio.run(attr(*args, **kwargs))


def write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, sort_keys=True, indent=2) + "\n")


def node_attrs(name: str, url: str | list[str], version: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "feedstock_name": name, "version": version, "url": url,
            "archived": False, "parsing_error": False,
            "meta_yaml": {"package": {"name": name, "version": version},
                          "source": {"url": url, "sha256": "0" * 64}}, **extra}


def make_cf_tree(root: Path, nodes: dict[str, dict[str, Any]], flat: bool = False) -> Path:
    """A cf-layout data repo: graph.json with lazy refs, sharded node_attrs."""
    graph = {"directed": True, "multigraph": False,
             "graph": {"outputs_lut": {n: {"__set__": True, "elements": [n]} for n in nodes}},
             "nodes": [{"id": n, "payload": {"__lazy_json__": f"node_attrs/{n}.json"}}
                       for n in sorted(nodes)],
             "links": []}
    write_json(root / "graph.json", graph)
    for name, attrs in nodes.items():
        rel = f"node_attrs/{name}.json" if flat else sharded_relpath("node_attrs", name)
        write_json(root / rel, attrs)
    return root


def make_inline_tree(root: Path, nodes: dict[str, dict[str, Any]]) -> Path:
    graph = {"directed": True, "multigraph": False, "graph": {},
             "nodes": [{"id": n, **a} for n, a in sorted(nodes.items())], "links": []}
    write_json(root / "graph.json", graph)
    return root


class Remote:
    """A bare remote in a tmp dir plus helpers to look at what was pushed."""

    def __init__(self, tree: Path, tmp: Path) -> None:
        self.path = tmp / "remote.git"
        self.url = create_remote(tree, self.path)
        self.repo = git.Repo(self.path)

    def commits(self) -> list[git.Commit]:
        return list(self.repo.iter_commits("main"))

    def show(self, rel: str, rev: str = "main") -> Any:
        return json.loads(self.repo.git.show(f"{rev}:{rel}"))

    def files(self, rev: str = "main") -> list[str]:
        return self.repo.git.ls_tree("-r", "--name-only", rev).splitlines()

    def tree_sha(self, rev: str = "main") -> str:
        return self.repo.commit(rev).tree.hexsha


@pytest.fixture
def make_remote(tmp_path: Path):
    def _make(tree: Path) -> Remote:
        return Remote(tree, tmp_path)
    return _make


@pytest.fixture
def fake() -> Iterator[FakeUpstream]:
    with FakeUpstream({}) as server:
        yield server


@pytest.fixture
def fake_env(fake: FakeUpstream, monkeypatch: pytest.MonkeyPatch) -> FakeUpstream:
    """The fake upstream, with VBOT_* variables pointing at it (refreshed per world)."""
    for key, value in fake.env().items():
        monkeypatch.setenv(key, value)
    return fake


def point_env_at(fake: FakeUpstream, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in fake.env().items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def bundled_data() -> Path:
    return resource_dir("data")


@pytest.fixture
def demo_tree(tmp_path: Path) -> Path:
    dst = tmp_path / "tree"
    shutil.copytree(resource_dir("data") / "repo", dst)
    return dst
