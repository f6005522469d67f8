"""``kill -9`` of a real ``python -m vbot`` at different moments of a sweep and a merge.

After every kill: no invalid JSON file in the clone or the remote, the remote is a consistent
repository whose branch holds only complete commits; running again finishes the job with the
same final tree as an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import git
import pytest

from tests.helpers import Remote, make_cf_tree, node_attrs
from vbot.commands.merge import MergeOptions, merge
from vbot.commands.sweep import SweepOptions, sweep
from vbot.testing.fakeupstream import FakeUpstream

pytestmark = pytest.mark.slow  # kills real processes mid-sweep: seconds each

NAMES = [f"pkg{i:02d}" for i in range(24)]
WORLD = {"pypi": {n: {"versions": ["1.0", f"1.{i + 1}"]} for i, n in enumerate(NAMES)},
         "latency_ms": 60}
ROOT = Path(__file__).parent.parent.parent


def make_tree(tmp: Path) -> Path:
    return make_cf_tree(tmp, {n: node_attrs(
        n, f"https://pypi.example/packages/source/p/{n}/{n}-1.0.tar.gz", "1.0") for n in NAMES})


def start(command: str, remote: Remote, work: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "vbot", command, remote.url, "--workdir", str(work), "-q",
         *(["--workers", "2"] if command == "sweep" else [])],
        env={**os.environ, **env}, cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, start_new_session=True)


def run(command: str, remote: Remote, work: Path, env: dict[str, str]) -> None:
    proc = start(command, remote, work, env)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err


def kill_when(proc: subprocess.Popen, ready: Callable[[], bool], extra: float = 0.0) -> bool:
    """SIGKILL the whole process group once ``ready()``; False if it finished first."""
    while not ready():
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    time.sleep(extra)
    if proc.poll() is not None:
        return False
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    return True


def check_invariants(remote: Remote, work: Path) -> None:
    for path in work.rglob("*.json"):
        if ".git" not in path.parts:
            json.loads(path.read_bytes())  # every JSON file in the clone is whole
    git.Repo(remote.path).git.fsck("--no-dangling")
    for rel in remote.files():
        if rel.endswith(".json"):
            remote.show(rel)  # every JSON file on the remote branch is whole
    for commit in remote.commits()[:-1]:
        assert "Vbot-Run: " in commit.message  # complete vbot commits only


def test_sigkill_during_sweep_and_merge(tmp_path: Path) -> None:
    ref = Remote(make_tree(tmp_path / "tree"), tmp_path / "ref")
    crashed = Remote(make_tree(tmp_path / "tree2"), tmp_path / "crash")
    with FakeUpstream(WORLD) as fake:
        env = {**fake.env(), "VBOT_HTTP_RETRIES": "0"}
        # the uninterrupted reference run (in-process: same code, fewer interpreter starts)
        sweep(SweepOptions(remote=ref.url, workdir=tmp_path / "ref-work", workers=2,
                           progress=False, env=env))
        ref_sweep = ref.tree_sha()
        merge(MergeOptions(remote=ref.url, workdir=tmp_path / "ref-work", progress=False))
        ref_merge = ref.tree_sha()
        assert ref_sweep != ref_merge

        work = tmp_path / "work"
        per_run = len(NAMES)
        kills = 0
        # the moments: first request, mid-check, and twice after the last answer (in practice:
        # files written but not committed, and committed but not pushed)
        for needed, extra in ((1, 0.0), (per_run // 2, 0.0), (per_run, 0.05), (per_run, 0.25)):
            base = fake.total_requests
            proc = start("sweep", crashed, work, env)
            kills += kill_when(proc, lambda b=base, n=needed: fake.total_requests - b >= n,
                               extra)
            check_invariants(crashed, work)
        assert kills >= 3
        run("sweep", crashed, work, env)
        check_invariants(crashed, work)
        assert crashed.tree_sha() == ref_sweep

        for delay in (0.4, 0.8):
            proc = start("merge", crashed, work, env)
            t0 = time.monotonic()
            kill_when(proc, lambda t=t0, d=delay: time.monotonic() - t >= d)
            check_invariants(crashed, work)
        run("merge", crashed, work, env)
        check_invariants(crashed, work)
    assert crashed.tree_sha() == ref_merge
