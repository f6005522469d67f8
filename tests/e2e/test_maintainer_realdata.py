"""The maintainer commands on the bundled real data repo (112 nodes) after a sweep and merge."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import git

from tests.helpers import REALDATA_EXPECTED
from vbot.commands.history import history
from vbot.commands.merge import MergeOptions, merge
from vbot.commands.status import collect
from vbot.commands.sweep import SweepOptions, sweep
from vbot.main import main
from vbot.repo.paths import sharded_relpath
from vbot.shipped import resource_dir
from vbot.testing.fakeupstream import FakeUpstream
from vbot.testing.gitfixtures import create_remote
from vbot.versioning import order


def read_json_or_none(path: Path) -> object:
    return json.loads(path.read_text("utf-8")) if path.is_file() else None


def test_validate_history_status_on_bundled_data(tmp_path: Path, capsys) -> None:
    data = resource_dir("data")
    tree = tmp_path / "tree"
    shutil.copytree(data / "repo", tree)
    assert main(["validate", str(tree)]) == 0  # the bundled repo itself is valid
    remote = create_remote(tree, tmp_path / "remote.git")
    world = json.loads((data / "world.json").read_text("utf-8"))
    # the world answers what the real bot recorded, which the real versions files already hold:
    # one project publishes a newer release, so this sweep writes something merge acts on
    world["pypi"]["yq"]["versions"].append("3.4.4")
    with FakeUpstream(world) as fake:
        report = sweep(SweepOptions(remote=remote, workdir=tmp_path / "w", workers=8,
                                    progress=False, env=fake.env()))
    merged = merge(MergeOptions(remote=remote, workdir=tmp_path / "w", progress=False))
    clone = tmp_path / "clone"
    git.Repo.clone_from(remote, clone)
    capsys.readouterr()
    assert main(["validate", str(clone)]) == 0, capsys.readouterr().out

    upgrades = {}
    for node, want in REALDATA_EXPECTED.items():
        attrs = json.loads((tree / sharded_relpath("node_attrs", node)).read_text())
        new, cur = want.get("expected"), str(attrs.get("version"))
        new = "3.4.4" if node == "yq" else new
        if new and order.parse(new) > order.parse(cur):
            # merge never lowers the new_version the real bot already holds (hg-evolve: 12.0.0)
            held = (read_json_or_none(tree / sharded_relpath("version_pr_info", node))
                    or {}).get("new_version")
            if isinstance(held, str) and order.parse(held) and \
                    order.parse(held) > order.parse(new):
                new = held
            upgrades[node] = (cur, new)
    assert upgrades  # the bundled world has newer versions for many nodes

    status = collect(clone)
    assert status.nodes == len(REALDATA_EXPECTED)
    outdated = {n: (v, nv) for n, v, nv in status.outdated}
    for node, (cur, new) in upgrades.items():
        assert outdated[node] == (cur, new), node
    sweeps = [p for p in status.sweeps if p.run_id == report.run_id]
    assert len(sweeps) == 1 and sweeps[0].new == report.counts()["new"]
    assert sweeps[0].errors == report.counts()["errors"]

    node = "yq"  # its versions file is new; the others already held what the bot recorded
    assert read_json_or_none(tree / sharded_relpath("versions", node)) is None
    timeline = history(clone, node)
    assert [(e.file, e.run_id, e.new) for e in timeline[:2]] == [
        ("new_version", merged.report.run_id, upgrades[node][1]),
        ("versions", report.run_id, {"new_version": upgrades[node][1]})]
