"""What the tests share: data repo trees, real git remotes, worlds for the fake upstream,
the real-data expectations and maintainer scenarios. Tests import from here, never from
one another; conftest.py holds only fixtures."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import inspect
import json
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import git
import pytest

from vbot.check.checker import Checker
from vbot.check.factory import make_http
from vbot.check.outcome import Outcome
from vbot.commands.merge import MergeOptions, merge
from vbot.commands.sweep import SweepOptions, sweep
from vbot.config import load_config
from vbot.repo.nodeinfo import node_info
from vbot.repo.paths import sharded_relpath
from vbot.run.report import RunReport
from vbot.sources import Context
from vbot.testing.fakeupstream import FakeUpstream
from vbot.testing.gitfixtures import create_remote

FIXTURES = Path(__file__).parent / "fixtures"


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


def point_env_at(fake: FakeUpstream, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in fake.env().items():
        monkeypatch.setenv(key, value)


PYPI_URL = "https://pypi.example/packages/source/r/requests/requests-2.31.0.tar.gz"


HASHED = ("https://files.pypi.example/packages/ab/cd/" + "e" * 60 + "/attrs-23.1.0.tar.gz")


GH_URL = "https://github.com/psf/black/archive/refs/tags/24.1.0.tar.gz"


GH_TAGS_URL = "https://github.com/foo/bar/archive/v0.9.tar.gz"


SMOKE_WORLD = {
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


SMOKE_NODES = {
    "requests": node_attrs("requests", PYPI_URL, "2.31.0"),
    "attrs": node_attrs("attrs", HASHED, "23.1.0"),
    "black": node_attrs("black", GH_URL, "24.1.0"),
    "bar": node_attrs("bar", GH_TAGS_URL, "0.9"),
    "old": node_attrs("old", GH_URL, "1.0", archived=True),
}


SMOKE_EXPECTED = {"requests": "2.32.3", "attrs": "24.2.0", "black": "25.1.0", "bar": "1.1"}


# -- The expected table of the real nodes bundled in ``data/repo`` (tests/fixtures/realdata).


REALDATA_EXPECTED: dict[str, dict[str, Any]] = json.loads(
    (FIXTURES / "realdata" / "expected.json").read_text("utf-8"))


# -- Check single nodes against the fake upstream with the real checker and HTTP client.


def checker_for(fake: FakeUpstream, world: dict[str, Any],
                options: dict[str, dict[str, Any]] | None = None, **env: str) -> Blocking:
    """A checker (with a blocking ``check``) whose sources point at ``fake`` serving
    ``world``; ``options`` are ``[sources.<name>]`` tables as in vbot.toml."""
    fake.set_world(world)
    config = load_config(None, None, env={**fake.env(), **env})
    if options:
        config = dataclasses.replace(config, sources=MappingProxyType(options))
    return Blocking(Checker(Context(config=config, http=make_http(config, 4))))


def controls(**vu: Any) -> dict[str, Any]:
    return {"conda-forge.yml": {"bot": {"version_updates": vu}}}


def check(fake: FakeUpstream, world: dict[str, Any], name: str, url: str | list[str],
          version: str, env: dict[str, str] | None = None, **extra: Any) -> Outcome:
    checker = checker_for(fake, world, **(env or {}))
    return checker.check(node_info(name, node_attrs(name, url, version, **extra)))


def git_node(name: str, git_url: str, version: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "version": version, "archived": False, "parsing_error": False,
            "meta_yaml": {"package": {"name": name, "version": version},
                          "source": {"git_url": git_url, "git_rev": f"v{version}"}}, **extra}


# -- A generated graph + fake upstream world for the scaling tests (and benchmarks/).


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


# -- A data repo with a few real sweeps and merges against a changing fake upstream world.


PYPI = "https://pypi.example/packages/source/{0}/{1}/{1}-{2}.tar.gz"


GH = "https://github.com/{0}/archive/refs/tags/{1}.tar.gz"


NODES = {
    "requests": node_attrs("requests", PYPI.format("r", "requests", "2.31.0"), "2.31.0"),
    "attrs": node_attrs("attrs", PYPI.format("a", "attrs", "23.1.0"), "23.1.0"),
    "black": node_attrs("black", GH.format("psf/black", "24.1.0"), "24.1.0"),
    "gone": node_attrs("gone", PYPI.format("g", "gone", "1.0"), "1.0"),
    "flaky": node_attrs("flaky", GH.format("flaky/flaky", "1.0"), "1.0"),
    "old": node_attrs("old", GH.format("psf/black", "1.0"), "1.0", archived=True),
}


WORLD1: dict[str, Any] = {
    "pypi": {"requests": {"versions": ["2.31.0", "2.32.3"]},
             "attrs": {"versions": ["23.1.0", "24.2.0"]}},
    "github": {"psf/black": {"releases": [{"tag_name": "25.1.0", "prerelease": False}],
                             "tags": ["25.1.0", "24.1.0"]},
               "flaky/flaky": {"releases": [{"tag_name": "1.2", "prerelease": False}],
                               "tags": ["1.2", "1.0"]}},
}


def world2() -> dict[str, Any]:
    """requests gets a release; flaky's upstream answers 503 (transient, result kept)."""
    world = copy.deepcopy(WORLD1)
    world["pypi"]["requests"]["versions"].append("2.33.0")
    world["faults"] = [{"path": "/github/repos/flaky/flaky/*", "kind": "status", "status": 503}]
    return world


def world3() -> dict[str, Any]:
    """attrs disappears (bad), black and requests release again, flaky recovers."""
    world = copy.deepcopy(WORLD1)
    del world["pypi"]["attrs"]
    world["pypi"]["requests"]["versions"] += ["2.33.0", "2.34.0"]
    world["github"]["psf/black"]["releases"] = [{"tag_name": "26.1.0", "prerelease": False}]
    return world


FAST_HTTP = "[http]\nretries = 0\nbackoff = 0\nconnect_timeout = 5\nread_timeout = 5\n"


def cf_tree(root: Path) -> Path:
    make_cf_tree(root, NODES)
    (root / "vbot.toml").write_text(FAST_HTTP)
    return root


def inline_tree(root: Path) -> Path:
    make_inline_tree(root, NODES)
    (root / "vbot.toml").write_text(FAST_HTTP)
    return root


@dataclass
class Scenario:
    url: str
    bare: Path
    work: Path
    trees: list[str] = field(default_factory=list)  # tree sha after each step, [0] = import
    runs: list[str] = field(default_factory=list)  # run ids, in order
    reports: list[RunReport] = field(default_factory=list)

    def tree(self) -> str:
        return git.Repo(self.bare).commit("main").tree.hexsha

    def sweep(self, fake: Any, monkeypatch: Any, world: dict[str, Any],
              report: Path | None = None) -> RunReport:
        fake.set_world(world)
        point_env_at(fake, monkeypatch)
        result = sweep(SweepOptions(remote=self.url, workdir=self.work, progress=False,
                                    report=report))
        self.runs.append(result.run_id)
        self.reports.append(result)
        self.trees.append(self.tree())
        return result

    def merge(self, report: Path | None = None) -> RunReport:
        result = merge(MergeOptions(remote=self.url, workdir=self.work, progress=False,
                                    report=report)).report
        self.runs.append(result.run_id)
        self.reports.append(result)
        self.trees.append(self.tree())
        return result

    def clone(self, dest: Path) -> Path:
        repo = git.Repo.clone_from(self.url, dest)
        with repo.config_writer() as cw:
            cw.set_value("user", "name", "Maintainer")
            cw.set_value("user", "email", "maintainer@example.invalid")
        return dest


def new_scenario(tmp_path: Path, make_remote: Any, layout: str = "cf") -> Scenario:
    tree = (cf_tree if layout == "cf" else inline_tree)(tmp_path / "tree")
    remote = make_remote(tree)
    scenario = Scenario(url=remote.url, bare=remote.path, work=tmp_path / "work")
    scenario.trees.append(scenario.tree())
    return scenario


def three_sweeps(tmp_path: Path, make_remote: Any, fake: Any, monkeypatch: Any,
                 layout: str = "cf") -> Scenario:
    """sweep1 (WORLD1), merge1, sweep2 (world2), sweep3 (world3), merge2."""
    s = new_scenario(tmp_path, make_remote, layout)
    s.sweep(fake, monkeypatch, WORLD1)
    s.merge()
    s.sweep(fake, monkeypatch, world2())
    s.sweep(fake, monkeypatch, world3())
    s.merge()
    return s
