"""Shared fixtures: real git remotes in tmp dirs and the loopback fake upstream."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import Remote  # noqa: F401 - fixtures below build these
from vbot.shipped import resource_dir
from vbot.testing.fakeupstream import FakeUpstream


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

@pytest.fixture
def bundled_data() -> Path:
    return resource_dir("data")

@pytest.fixture
def demo_tree(tmp_path: Path) -> Path:
    dst = tmp_path / "tree"
    shutil.copytree(resource_dir("data") / "repo", dst)
    return dst
