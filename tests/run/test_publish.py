"""What a sweep reports is what the remote holds: two real ``vbot sweep`` processes at once
on one bare remote against the fake upstream; the one that pushes second is rebased (its
commit and message as rebased) or has nothing left to push (and says so)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import FAST_HTTP, PYPI, make_cf_tree, node_attrs
from vbot.main import main
from vbot.run.publish import rebased_message

ROOT = Path(__file__).resolve().parents[2]
NAMES = [f"pkg{i}" for i in range(9)]


def _remote(tmp_path: Path, make_remote: Any, fake: Any) -> Any:
    nodes = {n: node_attrs(n, PYPI.format("p", n, "1.0"), "1.0") for n in NAMES}
    tree = make_cf_tree(tmp_path / "tree", nodes)
    (tree / "vbot.toml").write_text(FAST_HTTP)
    fake.set_world({"pypi": {n: {"versions": ["1.0", "1.2.0"]} for n in NAMES}})
    remote = make_remote(tree)
    # the remote accepts no push until the test opens the gate: both sweeps have cloned the
    # same commit before either push lands, so the second one must rebase
    hook = remote.path / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\ni=0\nwhile [ ! -e '{tmp_path / 'gate'}' ] && [ $i -lt 1200 ]; "
                    "do sleep 0.05; i=$((i+1)); done\ncat >/dev/null\n")
    hook.chmod(0o755)
    return remote


def _asked(fake: Any, name: str) -> int:
    return fake.requests[f"/pypi/{name}/json"]


def _two_sweeps(remote: Any, fake: Any, tmp_path: Path,
                nodes: tuple[list[str], list[str]]) -> list[tuple[int, str, dict[str, Any]]]:
    procs = []
    for i, chosen in enumerate(nodes):  # as two CI jobs: nothing shared but the remote
        env = {**os.environ, **fake.env(), "XDG_CACHE_HOME": str(tmp_path / f"cache{i}")}
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "vbot", "sweep", remote.url, "--workdir",
             str(tmp_path / f"work{i}"), "-q", "--report", str(tmp_path / f"r{i}.json"),
             "--nodes", ",".join(chosen)],
            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    # both have cloned once each has asked the upstream: then let the pushes in (a name
    # both sweeps check is asked twice; once could be either sweep)
    first, second = nodes[0][0], nodes[1][-1]
    want = {first: 1 + (first in nodes[1]), second: 1 + (second in nodes[0])}
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not all(
            _asked(fake, name) >= times for name, times in want.items()):
        if any(p.poll() is not None for p in procs):
            break  # one ended early: the assertions below show its output
        time.sleep(0.02)
    (tmp_path / "gate").touch()
    done = []
    for i, proc in enumerate(procs):
        out, _ = proc.communicate(timeout=120)
        done.append((proc.returncode, out,
                     json.loads((tmp_path / f"r{i}.json").read_text("utf-8"))))
    return done


def test_the_second_pusher_reports_its_rebased_commit_and_message(
        tmp_path: Path, make_remote: Any, fake: Any) -> None:
    remote = _remote(tmp_path, make_remote, fake)
    runs = _two_sweeps(remote, fake, tmp_path, (NAMES[:6], NAMES[3:]))  # 3 nodes in both
    assert [code for code, _, _ in runs] == [0, 0], runs
    commits = remote.commits()
    assert len(commits) == 3  # the import and one commit per sweep
    for _, out, report in runs:
        sha = report["commit"]
        assert sha in {c.hexsha for c in commits[:2]}, out
        assert f"commit {sha[:12]}, pushed" in out
        assert f"Vbot-Run: {report['run_id']}" in remote.repo.commit(sha).message
    second = next(r for _, _, r in runs if r.get("rebased_from"))
    top = commits[0]
    assert top.hexsha == second["commit"]
    changed = remote.repo.git.diff("--name-only", f"{top.hexsha}^", top.hexsha).split()
    assert len(changed) == 3  # the other 3 were pushed by the first sweep
    assert top.message.startswith("vbot sweep: 6 checked, 3 new, 3 unchanged, 0 errors")
    assert "Rebased onto" in top.message
    assert top.message.rstrip().endswith(f"Vbot-Run: {second['run_id']}")


def test_a_run_whose_changes_all_landed_elsewhere_says_so(
        tmp_path: Path, make_remote: Any, fake: Any,
        capsys: pytest.CaptureFixture[str]) -> None:
    remote = _remote(tmp_path, make_remote, fake)
    runs = _two_sweeps(remote, fake, tmp_path, (NAMES, NAMES))
    assert [code for code, _, _ in runs] == [0, 0], runs
    commits = remote.commits()
    assert len(commits) == 2, runs  # one sweep commit: the other had nothing left to push
    pushed = [r for _, _, r in runs if r["commit"]]
    assert [r["commit"] for r in pushed] == [commits[0].hexsha]
    i, (_, out, late) = next((i, r) for i, r in enumerate(runs) if not r[2]["commit"])
    assert late.get("landed_elsewhere") and late["pushed"], runs
    assert "nothing left to push" in out
    assert late["dropped_commit"] not in {c.hexsha for c in commits}
    # reverting that run explains instead of failing to find its commit
    code = main(["revert", late["run_id"], remote.url, "--workdir", str(tmp_path / f"work{i}")])
    text = capsys.readouterr()
    assert code == 0, text.err
    assert f"run {late['run_id']}'s changes were already on the remote" in text.out
    assert len(remote.commits()) == 2
    # in another clone the run is unknown, and the message says why that can be
    code = main(["revert", late["run_id"], remote.url, "--workdir", str(tmp_path / "other")])
    assert code == 1
    assert "nothing left to push" in capsys.readouterr().err


def test_rebased_message_keeps_the_trailer_last() -> None:
    message = ("vbot sweep: 9 checked, 6 new, 3 unchanged, 0 errors\n\nfound 9\n\n"
               "Vbot-Run: sweep-20261122T041500Z-3f9a1c\n")
    once = rebased_message(message, 4, "a" * 40)
    assert once.startswith("vbot sweep: 9 checked, 4 new, 5 unchanged, 0 errors\n\nfound 9\n")
    assert once.endswith("\n\nVbot-Run: sweep-20261122T041500Z-3f9a1c\n")
    twice = rebased_message(once, 3, "b" * 40)
    assert twice.count("Rebased onto") == 1 and "3 new, 6 unchanged" in twice
