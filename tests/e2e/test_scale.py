"""Issue 6: process and dask executors, identical results everywhere, CI sharding."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import (
    Remote,
    check_expected,
    make_scale_tree,
    point_env_at,
    scale_world,
    versions_tree,
)
from vbot import main as main_mod
from vbot.check.outcome import FOUND, INTERNAL, TRANSIENT, Outcome
from vbot.commands.sweep import SweepOptions, sweep
from vbot.config import load_config
from vbot.errors import VbotError
from vbot.repo.nodeinfo import Controls, NodeInfo
from vbot.run import executors
from vbot.run.executors import ExecutorSpec, Recipe, Runner
from vbot.run.jobshard import Shard, parse_shard, shard_of

pytestmark = pytest.mark.slow  # process pools and dask clusters: seconds each

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def world30(fake, monkeypatch):
    nodes, world, expected = scale_world(30)
    fake.set_world(world)
    point_env_at(fake, monkeypatch)
    return nodes, expected


def _remote(tree: Path, where: Path) -> Remote:
    where.mkdir(parents=True, exist_ok=True)
    return Remote(tree, where)


def _sweep(remote, workdir: Path, **kw) -> object:
    return sweep(SweepOptions(remote=remote.url, workdir=workdir, progress=False, **kw))


# -- picklable pieces ------------------------------------------------------------------------

def test_config_nodeinfo_outcome_pickle_without_foreign_secrets() -> None:
    env = {"VBOT_PYPI_URL": "http://127.0.0.1:1", "GITHUB_TOKEN": "ghp_secret123",
           "AWS_SECRET_ACCESS_KEY": "aws-secret", "HOME": "/home/x"}
    config = load_config(None, None, env)
    back = pickle.loads(pickle.dumps(config))
    assert dict(back.env) == {"VBOT_PYPI_URL": "http://127.0.0.1:1",
                              "GITHUB_TOKEN": "ghp_secret123"}
    assert back.http == config.http and back.github_token == "ghp_secret123"
    assert back.source_url("pypi", ("VBOT_PYPI_URL",), None) == "http://127.0.0.1:1"
    assert "ghp_secret123" not in repr(config) and "aws-secret" not in repr(config)
    info = NodeInfo("a", "1.0", ("u",), (), Controls(sources=("pypi",), exclude=("2",)), "a")
    assert pickle.loads(pickle.dumps(info)) == info
    outcome = Outcome("a", FOUND, "2.0", "pypi")
    assert pickle.loads(pickle.dumps(outcome)) == outcome


# -- sharding --------------------------------------------------------------------------------

def test_shard_partition_and_parsing() -> None:
    names = [f"pkg-{i}" for i in range(200)] + ["numpy", "python", "r-base"]
    for count in (1, 2, 3, 7):
        owners = [[i for i in range(count) if Shard(i, count).owns(n)] for n in names]
        assert all(len(o) == 1 for o in owners)
        if count > 1:  # each shard gets some of 203 names
            assert {o[0] for o in owners} == set(range(count))
    assert shard_of("numpy", 4) == int(hashlib.sha1(b"numpy").hexdigest(), 16) % 4
    assert parse_shard(" 2 / 5 ") == Shard(2, 5) and str(Shard(2, 5)) == "2/5"
    for bad in ("5/5", "-1/3", "1/0", "1", "a/b", "1/2/3"):
        with pytest.raises(VbotError):
            parse_shard(bad)


def test_cli_rejects_bad_shard_and_scheduler_without_dask(tmp_path, make_remote, world30,
                                                           capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main_mod.main(["sweep", "x", "--shard", "4/4"])
    assert exc.value.code == 2 and "0 <= I < N" in capsys.readouterr().err
    remote = make_remote(make_scale_tree(tmp_path / "tree", world30[0]))
    code = main_mod.main(["sweep", remote.url, "--workdir", str(tmp_path / "w"), "-q",
                          "--scheduler", "tcp://127.0.0.1:9"])
    assert code == 1 and "--scheduler needs --executor dask" in capsys.readouterr().err
    assert main_mod.KINDS == executors.KINDS


def test_union_of_shards_equals_full_sweep(tmp_path, make_remote, world30) -> None:
    nodes, expected = world30
    tree = make_scale_tree(tmp_path / "tree", nodes)
    full = make_remote(tree)
    _sweep(full, tmp_path / "full")
    sharded = _remote(tree, tmp_path / "sharded")
    seen: set[str] = set()
    for i in range(3):
        report = _sweep(sharded, tmp_path / f"s{i}", shard=Shard(i, 3))
        mine = set(report.outcomes)
        assert mine and not mine & seen
        assert all(shard_of(n, 3) == i for n in mine)
        seen |= mine
    assert seen == set(nodes)
    # --nodes may name nodes of other shards: they are simply not this job's
    report = _sweep(sharded, tmp_path / "s0", shard=Shard(0, 3), nodes=tuple(nodes), push=False)
    assert set(report.outcomes) == {n for n in nodes if shard_of(n, 3) == 0}
    assert len(sharded.commits()) == 4
    assert versions_tree(sharded) == versions_tree(full)
    check_expected(sharded, expected)


def test_concurrent_shard_processes_all_land(tmp_path, make_remote, fake, monkeypatch) -> None:
    """N real ``python -m vbot sweep --shard i/N`` processes push to one bare remote at once."""
    nodes, world, expected = scale_world(40)
    fake.set_world(world)
    point_env_at(fake, monkeypatch)
    tree = make_scale_tree(tmp_path / "tree", nodes)
    remote = make_remote(tree)
    count = 4
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen(
        [sys.executable, "-m", "vbot", "sweep", remote.url, "--shard", f"{i}/{count}", "-q",
         "--workdir", str(tmp_path / f"job{i}"), "--report", str(tmp_path / f"r{i}.json")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(count)]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    reports = [json.loads((tmp_path / f"r{i}.json").read_text()) for i in range(count)]
    assert all(r["pushed"] and r["commit"] for r in reports)
    assert len(remote.commits()) == 1 + count
    messages = [c.message for c in remote.commits()[:count]]
    assert sorted(m.split("Vbot-Run: ")[1].strip() for m in messages) == \
        sorted(r["run_id"] for r in reports)
    check_expected(remote, expected)
    full = _remote(tree, tmp_path / "full")
    _sweep(full, tmp_path / "fullwork")
    assert versions_tree(remote) == versions_tree(full)


# -- executors -------------------------------------------------------------------------------

def test_every_executor_gives_identical_trees(tmp_path, world30, fake) -> None:
    import importlib.util

    has_dask = importlib.util.find_spec("distributed") is not None
    nodes, expected = world30
    tree = make_scale_tree(tmp_path / "tree", nodes)
    trees = {}
    for kind in executors.KINDS if has_dask else ("local", "process"):
        remote = _remote(tree, tmp_path / kind)
        before = fake.total_requests
        spec = ExecutorSpec(kind, processes=2, chunk_size=None if kind == "local" else 3)
        report = _sweep(remote, tmp_path / f"w-{kind}", executor=spec, workers=4)
        assert report.counts()["checked"] == 25 and report.counts()["skipped"] == 5
        # request counts come back from the worker processes and add up
        assert report.extra["requests"] == fake.total_requests - before > 0
        if kind != "local":
            assert report.extra["executor"]["chunks"] == 9  # ceil(25 / 3)
            assert report.extra["executor"]["failed_chunks"] == 0
        check_expected(remote, expected)
        trees[kind] = versions_tree(remote)
    assert len(set(trees.values())) == 1, trees
    if not has_dask:
        pytest.skip("thread and process agree; dask part skipped: distributed not installed")


def _exit_in_worker() -> None:
    os._exit(3)


def test_process_pool_crash_gives_internal_outcomes() -> None:
    """A worker process that dies takes no node with it: its chunks come back as ``internal``
    (the machine's failure, not an upstream answer: no file is written for them)."""
    infos = [NodeInfo(f"n{i}", "1.0") for i in range(6)]
    runner = Runner(ExecutorSpec("process", processes=2, chunk_size=2),
                    Recipe("crash", _exit_in_worker), workers=2)
    outcomes: list[Outcome] = []
    runner.run(infos, outcomes.append)
    assert sorted(o.node for o in outcomes) == [f"n{i}" for i in range(6)]
    assert {o.status for o in outcomes} == {INTERNAL}
    assert all("executor" in (o.reason or "") for o in outcomes)
    assert all(o.document() is None for o in outcomes)
    assert runner.failed_chunks == 3


def test_dask_without_the_extra_names_it(tmp_path, make_remote, world30, monkeypatch,
                                         capsys) -> None:
    remote = make_remote(make_scale_tree(tmp_path / "tree", world30[0]))
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    code = main_mod.main(["sweep", remote.url, "--workdir", str(tmp_path / "w"), "-q",
                          "--executor", "dask"])
    err = capsys.readouterr().err
    assert code == 1
    assert "pip install 'vbot[dask]'" in err and err.count("\n") == 1
    assert len(remote.commits()) == 1


# -- a real dask cluster: `dask scheduler` + `dask worker` processes on 127.0.0.1 ------------

class DaskCluster:
    """``dask scheduler`` and ``dask worker`` subprocesses on loopback, random free ports."""

    def __init__(self, tmp: Path, workers: int) -> None:
        self.tmp = tmp
        self.file = tmp / "scheduler.json"
        self.env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.log = (tmp / "dask.log").open("w")
        self.scheduler = self._start("scheduler", "--host", "127.0.0.1", "--port", "0",
                                     "--no-dashboard", "--scheduler-file", str(self.file))
        self.workers: list[subprocess.Popen] = []
        self.address = self._wait_address()
        for i in range(workers):
            self.workers.append(self._start(
                "worker", "--scheduler-file", str(self.file), "--host", "127.0.0.1",
                "--nthreads", "1", "--no-dashboard", "--no-nanny", "--name", f"w{i}",
                "--local-directory", str(tmp / f"w{i}"), "--death-timeout", "60"))
        import distributed

        with distributed.Client(self.address, timeout="30s", set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=90)

    def _start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "dask", *args], cwd=ROOT, env=self.env,
                                stdout=self.log, stderr=subprocess.STDOUT)

    def _wait_address(self) -> str:
        import time

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.scheduler.poll() is not None:
                raise RuntimeError(f"dask scheduler exited: {self.tail()}")
            try:
                return json.loads(self.file.read_text())["address"]
            except (OSError, ValueError, KeyError):
                time.sleep(0.1)
        raise RuntimeError(f"dask scheduler did not start: {self.tail()}")

    def tail(self) -> str:
        self.log.flush()
        return (self.tmp / "dask.log").read_text()[-3000:]

    def close(self) -> None:
        # workers first (they would wait for a scheduler that is going away), then the scheduler
        for group in (self.workers, [self.scheduler]):
            for proc in group:
                if proc.poll() is None:
                    proc.terminate()
            for proc in group:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.log.close()


@pytest.fixture
def dask_cluster(tmp_path):
    pytest.importorskip("distributed")
    where = tmp_path / "dask"
    where.mkdir()
    cluster = DaskCluster(where, workers=2)
    try:
        yield cluster
    finally:
        cluster.close()


def test_sweep_on_a_dask_cluster(tmp_path, make_remote, world30, fake, dask_cluster,
                                 capsys) -> None:
    nodes, expected = world30
    remote = make_remote(make_scale_tree(tmp_path / "tree", nodes))
    report_file = tmp_path / "report.json"
    code = main_mod.main(["sweep", remote.url, "--workdir", str(tmp_path / "w"), "-q",
                          "--executor", "dask", "--scheduler", dask_cluster.address,
                          "--chunk-size", "4", "--workers", "2", "--report", str(report_file)])
    assert code == 0, capsys.readouterr().err
    report = json.loads(report_file.read_text())
    assert report["counts"]["checked"] == 25 and report["pushed"]
    assert report["executor"] == {"kind": "dask", "chunks": 7, "failed_chunks": 0,
                                  "shard": None}
    assert report["requests"] == fake.total_requests > 0  # counted in the worker processes
    check_expected(remote, expected)
    reference = _remote(remote_tree := tmp_path / "tree", tmp_path / "ref")
    _sweep(reference, tmp_path / "refwork")
    assert versions_tree(remote) == versions_tree(reference), remote_tree


def test_killed_dask_worker_loses_no_node(tmp_path, make_remote, fake, monkeypatch,
                                          dask_cluster) -> None:
    """One of the two workers is SIGKILLed mid-sweep; its chunks are rescheduled."""
    import threading
    import time

    nodes, world, expected = scale_world(36, latency_ms=120)
    fake.set_world(world)
    point_env_at(fake, monkeypatch)
    remote = make_remote(make_scale_tree(tmp_path / "tree", nodes))
    victim = dask_cluster.workers[0]
    killed: dict[str, object] = {}

    def kill_when_busy() -> None:
        import distributed

        with distributed.Client(dask_cluster.address, set_as_default=False) as client:
            address = next(a for a, w in client.scheduler_info()["workers"].items()
                           if w["name"] == "w0")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # w0 holds chunks and upstream is being asked
                held = client.processing(workers=[address]).get(address, [])
                if held and fake.total_requests >= 4:
                    break
                time.sleep(0.02)
            killed["held"] = list(held)
            killed["commits"] = len(remote.commits())
            victim.kill()
            victim.wait()

    killer = threading.Thread(target=kill_when_busy)
    killer.start()
    report = _sweep(remote, tmp_path / "w", workers=1,
                    executor=ExecutorSpec("dask", scheduler=dask_cluster.address, chunk_size=2))
    killer.join()
    assert victim.returncode == -9
    assert killed["held"], "w0 held no chunk when it was killed"
    assert all(str(k).startswith("vbot-chunk-") for k in killed["held"])
    assert killed["commits"] == 1  # the kill happened before the sweep committed
    assert report.extra["executor"]["failed_chunks"] == 0
    assert report.counts()["checked"] == 30 and report.counts()["transient"] == 0
    statuses = {o.status for o in report.outcomes.values()}
    assert TRANSIENT not in statuses
    check_expected(remote, expected)


def test_unreachable_scheduler_is_a_clear_error(tmp_path, make_remote, world30) -> None:
    pytest.importorskip("distributed")
    import socket

    with socket.socket() as sock:  # a loopback port with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    remote = make_remote(make_scale_tree(tmp_path / "tree", world30[0]))
    spec = ExecutorSpec("dask", scheduler=f"tcp://127.0.0.1:{port}", connect_timeout=1)
    with pytest.raises(VbotError, match="cannot connect to the dask scheduler"):
        _sweep(remote, tmp_path / "w", executor=spec)
    assert len(remote.commits()) == 1


class _SlowChecker:
    async def check(self, node: NodeInfo) -> Outcome:
        import asyncio

        await asyncio.sleep(0.3)
        return Outcome(node.name, FOUND, "1.0", "slow")


def _slow_checker() -> _SlowChecker:
    return _SlowChecker()


def test_process_pool_deadline_returns_every_node() -> None:
    """Chunks not back at the deadline are cancelled; their nodes come back transient."""
    import time

    infos = [NodeInfo(f"n{i:02d}", "1.0") for i in range(40)]
    runner = Runner(ExecutorSpec("process", processes=1, chunk_size=1),
                    Recipe("slow", _slow_checker), workers=1)
    start = time.monotonic()
    outcomes: list[Outcome] = []
    runner.run(infos, outcomes.append, deadline=start + 3.0)
    assert time.monotonic() - start < 3.0 + 5.0  # one running chunk may finish, not all 40
    assert sorted(o.node for o in outcomes) == [i.name for i in infos]
    late = [o for o in outcomes if o.status == TRANSIENT]
    assert late and all("deadline" in (o.reason or "") for o in late)
    assert all(o.status in (FOUND, TRANSIENT) for o in outcomes)


def test_bundled_data_gives_identical_results_with_every_executor(tmp_path) -> None:
    """The real nodes (PyPI, GitHub, CRAN, GitLab, npm, git tags, raw URLs...) in workers too."""
    import importlib.util
    import shutil

    from vbot.shipped import resource_dir
    from vbot.testing.fakeupstream import FakeUpstream

    data = resource_dir("data")
    tree = tmp_path / "tree"
    shutil.copytree(data / "repo", tree)
    world = json.loads((data / "world.json").read_text("utf-8"))
    kinds = executors.KINDS if importlib.util.find_spec("distributed") else ("local", "process")
    results = {}
    with FakeUpstream(world) as fake:
        for kind in kinds:
            remote = _remote(tree, tmp_path / kind)
            spec = ExecutorSpec(kind, processes=2, chunk_size=None if kind == "local" else 4)
            report = sweep(SweepOptions(remote=remote.url, workdir=tmp_path / f"w-{kind}",
                                        workers=4, progress=False, env=fake.env(),
                                        executor=spec))
            outcomes = {n: (o.status, o.source, o.version) for n, o in report.outcomes.items()}
            results[kind] = (versions_tree(remote), outcomes)
    reference = results["local"]
    assert sum(1 for s, _, _ in reference[1].values() if s == FOUND) >= 30
    for kind, got in results.items():
        assert got[1] == reference[1], kind
        assert got[0] == reference[0], kind


def test_sweep_deadline_with_the_process_executor(tmp_path, make_remote, fake, monkeypatch) -> None:
    """--deadline holds for workers too: late chunks come back transient, the sweep commits."""
    import time

    from vbot.check.factory import CheckerFactory, deadline_at

    nodes, world, _ = scale_world(60, latency_ms=400)
    fake.set_world(world)
    point_env_at(fake, monkeypatch)
    remote = make_remote(make_scale_tree(tmp_path / "tree", nodes))
    start = time.monotonic()
    report = _sweep(remote, tmp_path / "w", workers=1, deadline=4.0,
                    executor=ExecutorSpec("process", processes=1, chunk_size=2))
    assert time.monotonic() - start < 4.0 + 15.0
    assert report.extra["deadline_reached"] is True
    statuses = [o.status for o in report.outcomes.values()]
    assert len(statuses) == 60 and statuses.count(TRANSIENT) >= 10
    assert len(remote.commits()) == 2  # what was checked (and the transient files) is pushed
    # the recipe carries the deadline as wall-clock time; a worker turns it back into its clock
    checker = CheckerFactory(load_config(None, None, {}), 2, deadline_at(time.monotonic() + 30))()
    assert 29 < checker.ctx.http._deadline - time.monotonic() <= 30.5
