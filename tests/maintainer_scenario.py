"""A data repo with a few real sweeps and merges against a changing fake upstream world.

Shared by the maintainer command tests (history, revert, status, reports).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import git

from tests.conftest import make_cf_tree, make_inline_tree, node_attrs, point_env_at
from vbot.commands.merge import MergeOptions, merge
from vbot.commands.sweep import SweepOptions, sweep
from vbot.run.report import RunReport

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
# gone: absent from every world -> "bad" (pypi 404)


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
