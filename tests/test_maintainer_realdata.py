"""The maintainer commands on the bundled 40-node data repo after a real sweep and merge."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import git

from tests.conftest import FIXTURES
from vbot import versions
from vbot.commands.history import history
from vbot.commands.merge import MergeOptions, merge
from vbot.commands.status import collect
from vbot.commands.sweep import SweepOptions, sweep
from vbot.fakeupstream import FakeUpstream
from vbot.gitrepo import create_remote
from vbot.main import main
from vbot.names import sharded_relpath
from vbot.paths import resource_dir


def test_validate_history_status_on_bundled_data(tmp_path: Path, capsys) -> None:
    data = resource_dir("data")
    tree = tmp_path / "tree"
    shutil.copytree(data / "repo", tree)
    assert main(["validate", str(tree)]) == 0  # the bundled repo itself is valid
    remote = create_remote(tree, tmp_path / "remote.git")
    world = json.loads((data / "world.json").read_text("utf-8"))
    with FakeUpstream(world) as fake:
        report = sweep(SweepOptions(remote=remote, workdir=tmp_path / "w", workers=8,
                                    progress=False, env=fake.env()))
    merged = merge(MergeOptions(remote=remote, workdir=tmp_path / "w", progress=False))
    clone = tmp_path / "clone"
    git.Repo.clone_from(remote, clone)
    capsys.readouterr()
    assert main(["validate", str(clone)]) == 0, capsys.readouterr().out

    expected = json.loads((FIXTURES / "realdata" / "expected.json").read_text())
    upgrades = {}
    for node, want in expected.items():
        attrs = json.loads((tree / sharded_relpath("node_attrs", node)).read_text())
        new, cur = want.get("expected"), str(attrs.get("version"))
        if new and versions.parse(new) > versions.parse(cur):
            upgrades[node] = (cur, new)
    assert upgrades  # the bundled world has newer versions for many nodes

    status = collect(clone)
    assert status.nodes == len(expected)
    outdated = {n: (v, nv) for n, v, nv in status.outdated}
    for node, (cur, new) in upgrades.items():
        assert outdated[node] == (cur, new), node
    sweeps = [p for p in status.sweeps if p.run_id == report.run_id]
    assert len(sweeps) == 1 and sweeps[0].new == report.counts()["new"]
    assert sweeps[0].errors == report.counts()["errors"]

    node = sorted(upgrades)[0]
    timeline = history(clone, node)
    assert [(e.file, e.run_id, e.new) for e in timeline[:2]] == [
        ("new_version", merged.report.run_id, upgrades[node][1]),
        ("versions", report.run_id, {"new_version": upgrades[node][1]})]
