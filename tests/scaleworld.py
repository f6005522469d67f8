"""A generated graph + fake upstream world for the scaling tests (and benchmarks/).

Node kinds cycle through: PyPI found, GitHub release, GitHub tags only, PyPI pre-release only
(``none``), PyPI unknown package (``bad``: 404), archived (skipped).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import make_cf_tree, node_attrs
from vbot.repo.paths import sharded_relpath

KINDS = ("pypi", "release", "tags", "pre", "missing", "archived")


def scale_world(count: int, latency_ms: float = 0.0) -> tuple[dict[str, Any], dict[str, Any],
                                                               dict[str, dict[str, Any]]]:
    """``(nodes, world, expected)``; expected maps node -> versions document (None: no file)."""
    nodes: dict[str, dict[str, Any]] = {}
    world: dict[str, Any] = {"pypi": {}, "github": {}, "latency_ms": latency_ms}
    expected: dict[str, Any] = {}
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        name = f"{kind}-{i:04d}"
        minor = i % 7
        if kind in ("pypi", "pre", "missing", "archived"):
            url = f"https://pypi.example/packages/source/{name[0]}/{name}/{name}-1.0.tar.gz"
            nodes[name] = node_attrs(name, url, "1.0", archived=kind == "archived")
            if kind == "pypi":
                world["pypi"][name] = {"versions": ["1.0", f"1.{minor + 1}", "9.0rc1"]}
                expected[name] = {"new_version": f"1.{minor + 1}"}
            elif kind == "pre":
                world["pypi"][name] = {"versions": ["2.0b1"]}
                expected[name] = {"new_version": None}
            elif kind == "missing":
                expected[name] = "bad"
            else:
                expected[name] = None
        else:
            repo = f"org{i % 5}/{name}"
            url = f"https://github.com/{repo}/archive/v1.0.tar.gz"
            nodes[name] = node_attrs(name, url, "1.0")
            if kind == "release":
                world["github"][repo] = {"releases": [{"tag_name": f"v2.{minor}",
                                                       "prerelease": False}],
                                         "tags": [f"v2.{minor}", "v1.0"]}
                expected[name] = {"new_version": f"2.{minor}"}
            else:
                world["github"][repo] = {"releases": [],
                                         "tags": [f"v3.{minor}rc1", f"v3.{minor}", "v1.0"]}
                expected[name] = {"new_version": f"3.{minor}"}
    return nodes, world, expected


def make_scale_tree(root: Path, nodes: dict[str, dict[str, Any]]) -> Path:
    return make_cf_tree(root, nodes)


def check_expected(remote: Any, expected: dict[str, Any]) -> None:
    """Every node's versions file on the remote is what the world says it must be."""
    files = set(remote.files())
    for name, want in expected.items():
        rel = sharded_relpath("versions", name)
        if want is None:
            assert rel not in files, name
        elif want == "bad":
            assert "bad" in remote.show(rel), name
        else:
            assert remote.show(rel) == want, name


def versions_tree(remote: Any, rev: str = "main") -> str:
    """The git tree id of ``versions/``: equal ids mean byte-identical trees."""
    return remote.repo.commit(rev).tree["versions"].hexsha
