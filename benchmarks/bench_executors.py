"""Time ``vbot sweep`` with the local, process and dask executors on one generated world.

Generates a cf-layout repo of N nodes (PyPI, GitHub release, GitHub tags, pre-release only,
unknown package, archived), starts the loopback fake upstream with L ms latency per request,
and for each executor runs ``python -m vbot sweep`` as a subprocess against a fresh bare remote
with the same total concurrency C: local ``--workers C``; process and dask ``--processes P
--workers C/P``. ``dask`` starts a LocalCluster of P single-thread workers inside the sweep (its
start-up is part of the time); ``dask-cluster`` first starts ``dask scheduler`` and P ``dask
worker --nthreads 1`` processes on 127.0.0.1 and sweeps through ``--scheduler`` (or uses
``--scheduler ADDRESS``). Prints the best of ``--repeat`` runs: wall time, checks/s and the
sweep's check phase, and checks that every executor produced the same ``versions/`` tree.

    python benchmarks/bench_executors.py                   # 1000 nodes, 50 ms, C=32, P=2
    python benchmarks/bench_executors.py -n 3000 -l 100 -c 64 -p 4 --executors local,dask-cluster
    python benchmarks/bench_executors.py --scheduler tcp://127.0.0.1:8786   # an existing cluster

Needs the test and dask extras: ``pip install -e '.[test,dask]'``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers import make_scale_tree, scale_world  # noqa: E402
from vbot.testing.fakeupstream import FakeUpstream  # noqa: E402
from vbot.testing.gitfixtures import create_remote  # noqa: E402


class Cluster:
    """``dask scheduler`` + P ``dask worker`` subprocesses on 127.0.0.1 (random ports)."""

    def __init__(self, work: Path, workers: int, env: dict[str, str]) -> None:
        sched_file = work / "scheduler.json"
        self.log = (work / "dask.log").open("w")
        dask = [sys.executable, "-m", "dask"]
        self.procs = [subprocess.Popen(
            [*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(sched_file)], env=env, cwd=ROOT, stdout=self.log,
            stderr=subprocess.STDOUT)]
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.2)
        self.address = json.loads(sched_file.read_text())["address"]
        for i in range(workers):
            self.procs.append(subprocess.Popen(
                [*dask, "worker", self.address, "--host", "127.0.0.1", "--nthreads", "1",
                 "--no-dashboard", "--no-nanny", "--local-directory", str(work / f"dw{i}")],
                env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT))
        import distributed

        with distributed.Client(self.address, timeout="30s", set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=120)

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.log.close()


def sweep_once(name: str, tree: Path, work: Path, env: dict[str, str], args: argparse.Namespace,
               config: Path, scheduler: str | None) -> dict[str, Any]:
    kind = "dask" if name.startswith("dask") else name
    tag = f"{name}-{time.monotonic_ns()}"
    bare = work / f"{tag}.git"
    url = create_remote(tree, bare)
    report = work / f"{tag}-report.json"
    argv = [sys.executable, "-m", "vbot", "sweep", url, "--workdir", str(work / f"{tag}-wd"),
            "-q", "--report", str(report), "--config", str(config), "--executor", kind]
    if kind == "local":
        argv += ["--workers", str(args.concurrency)]
    else:
        argv += ["--processes", str(args.processes),
                 "--workers", str(max(1, args.concurrency // args.processes))]
        if args.chunk_size:
            argv += ["--chunk-size", str(args.chunk_size)]
    if scheduler:
        argv += ["--scheduler", scheduler]
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{kind}: vbot sweep failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    data = json.loads(report.read_text())
    tree_id = subprocess.run(["git", "-C", str(bare), "rev-parse", "main:versions"],
                             capture_output=True, text=True, check=True).stdout.strip()
    return {"executor": name, "wall": wall, "checked": data["counts"]["checked"],
            "durations": data["durations"], "requests": data["requests"], "tree": tree_id}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--nodes", type=int, default=1000)
    ap.add_argument("-l", "--latency-ms", type=float, default=50.0)
    ap.add_argument("-c", "--concurrency", type=int, default=32, help="total parallel checks")
    ap.add_argument("-p", "--processes", type=int, default=2, help="process/dask workers")
    ap.add_argument("--chunk-size", type=int, default=None)
    ap.add_argument("--executors", default="local,process,dask,dask-cluster")
    ap.add_argument("--scheduler", help="dask-cluster: use this scheduler, start none")
    ap.add_argument("--repeat", type=int, default=1, help="runs per executor; the best counts")
    ap.add_argument("--large", action="store_true",
                    help="PyPI answers are full-size documents (~200 KB of JSON to parse per node)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)

    nodes, world, _ = scale_world(args.nodes, latency_ms=args.latency_ms)
    if args.large:  # CPU-bound checks: where more processes can help
        for entry in world["pypi"].values():
            entry["large"] = True
    with tempfile.TemporaryDirectory(prefix="vbot-bench-exec-") as tmp, FakeUpstream(world) as fake:
        work = Path(tmp)
        tree = make_scale_tree(work / "tree", nodes)
        config = work / "vbot.toml"
        # the per-host cap is per HTTP client (per process): lift it so every executor gets C
        config.write_text(f"[http]\nper_host = {args.concurrency}\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("VBOT_")}
        env.update(fake.env(), PYTHONPATH=str(ROOT))
        rows = []
        for name in args.executors.split(","):
            cluster = None
            scheduler = None
            if name == "dask-cluster":
                if args.scheduler:
                    scheduler = args.scheduler
                else:
                    cluster = Cluster(work, args.processes, env)
                    scheduler = cluster.address
            try:
                runs = []
                for _ in range(args.repeat):
                    before = fake.total_requests
                    run = sweep_once(name, tree, work, env, args, config, scheduler)
                    run["upstream_requests"] = fake.total_requests - before
                    runs.append(run)
            finally:
                if cluster:
                    cluster.close()
            row = min(runs, key=lambda r: r["wall"])
            rows.append(row)
            print(f"{name:13} {row['wall']:7.2f} s wall  {row['checked'] / row['wall']:7.1f} "
                  f"checks/s  check phase {row['durations'].get('check', 0):7.2f} s  "
                  f"requests {row['upstream_requests']}", flush=True)
    requests = rows[0]["upstream_requests"] if rows else 0
    bound = requests * args.latency_ms / 1000 / args.concurrency
    print(f"nodes {args.nodes}, latency {args.latency_ms:g} ms, concurrency {args.concurrency}, "
          f"processes {args.processes}, best of {args.repeat}; latency bound "
          f"requests*L/C = {bound:.2f} s")
    same = len({r["tree"] for r in rows}) == 1
    print("versions/ trees identical:", same)
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                         "rows": rows}, indent=2) + "\n")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
