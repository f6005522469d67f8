"""CPU per checked node: vbot's checker alone, on small PyPI documents, against the fake upstream.

The issue's target is "CPU per checked node at most 0.5 ms on small documents". This measures
exactly the check (HTTP exchange, cache, parsing, version choice) with no git and no file
writes: N PyPI nodes whose documents are a few KB, checked with C in flight on vbot's event loop,
the fake upstream in its own process (its CPU is not counted). Three runs: without the HTTP
cache, with a fresh cache (every answer stored) and again with that cache (every answer a 304).

    python benchmarks/bench_check_cpu.py                 # 2,000 nodes, C = 20 and 100, L = 0
    python benchmarks/bench_check_cpu.py -n 5000 -c 64 -l 20
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vbot.check.checker import Checker
from vbot.check.factory import make_http
from vbot.config import load_config
from vbot.httpclient.cache import HttpCache
from vbot.repo.nodeinfo import NodeInfo
from vbot.run.executors import run_local, run_loop
from vbot.sources import Context

HERE = Path(__file__).resolve().parent


def world(n: int) -> dict:
    return {"pypi": {f"pkg-{i:05d}": {"versions": [f"{i % 7}.{j}.0" for j in range(8)]}
                     for i in range(n)}}


def measure(label: str, infos: list[NodeInfo], env: dict[str, str], workers: int,
            cache: Path | None) -> dict:
    config = load_config(None, None, env={**env, "VBOT_HTTP_PER_HOST": str(workers)})
    http = make_http(config, workers, HttpCache(cache) if cache else None)
    checker = Checker(Context(config=config, http=http))
    found: list = []
    cpu, wall = time.process_time(), time.perf_counter()
    run_loop(run_local(infos, checker.check, workers, found.append))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if http.cache is not None:
        http.cache.close()
    ok = sum(o.status == "found" for o in found)
    return {"run": label, "nodes": len(infos), "found": ok, "cpu_ms_per_node":
            round(cpu / len(infos) * 1000, 3), "wall_s": round(wall, 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 2)[2])
    ap.add_argument("-n", "--nodes", type=int, default=2000)
    ap.add_argument("-c", "--concurrency", default="20,100", help="comma separated")
    ap.add_argument("-l", "--latency-ms", type=float, default=0.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="vbot-cpu-") as tmp:
        world_file = Path(tmp) / "world.json"
        world_file.write_text(json.dumps({**world(args.nodes), "latency_ms": args.latency_ms}))
        server = subprocess.Popen([sys.executable, str(HERE / "fake_server.py"), str(world_file)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            env = json.loads(server.stdout.readline())["env"]
            names = list(world(args.nodes)["pypi"])
            url = "https://pypi.example/packages/source/p/{0}/{0}-0.0.1.tar.gz"
            infos = [NodeInfo(n, "0.0.1", urls=(url.format(n),)) for n in names]
            rows = []
            for workers in (int(c) for c in args.concurrency.split(",")):
                cache = Path(tmp) / f"cache-{workers}"
                rows.append({"c": workers, **measure("no cache", infos, env, workers, None)})
                rows.append({"c": workers, **measure("cache, first", infos, env, workers, cache)})
                rows.append({"c": workers, **measure("cache, repeat (304)", infos, env, workers,
                                                     cache)})
        finally:
            if server.stdin is not None:
                server.stdin.write("quit\n")
                server.stdin.flush()
            server.wait(10)
    print(f"\n{args.nodes} small PyPI documents, latency {args.latency_ms:g} ms\n")
    print("| C | run | CPU ms/node | wall s | found |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['c']} | {r['run']} | {r['cpu_ms_per_node']:.3f} | {r['wall_s']:.2f} | "
              f"{r['found']}/{r['nodes']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
