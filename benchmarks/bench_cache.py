"""Conditional requests: vbot's digest cache (httpclient/cache.py) against requests-cache.

Both fetch the same N PyPI documents from the fake upstream (its own process, so its CPU is not
counted) with C requests in flight, twice: a first pass that fills the cache and a repeat pass
where every answer is a 304. Each pass ends with what a check needs of a document: its release
list. vbot: its real checker (HTTP client + digest cache, which stores only the release list).
requests-cache: a ``CachedSession`` (SQLite backend, ``always_revalidate=True``: every request is
conditional, as vbot's are) in a pool of C threads, the full document parsed each time (the cache
stores whole bodies). Reports CPU ms per document, wall, the repeat pass's 304 share and the size
of the cache on disk. Needs ``pip install requests-cache`` (not a vbot dependency).

    python benchmarks/bench_cache.py                   # 2,000 documents, 6% ~200 KB, C = 20
    python benchmarks/bench_cache.py -n 5000 -c 64 --large 0
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from vbot.check.checker import Checker
from vbot.check.factory import make_http
from vbot.config import load_config
from vbot.httpclient.cache import HttpCache
from vbot.repo.nodeinfo import NodeInfo
from vbot.run.executors import run_local, run_loop
from vbot.sources import Context

HERE = Path(__file__).resolve().parent


def world(n: int, large_every: int) -> dict:
    return {"pypi": {f"pkg-{i:05d}": {"versions": [f"{i % 7}.{j}.0" for j in range(8)],
                                      "large": bool(large_every and i % large_every == 0)}
                     for i in range(n)}}


def size_of(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def stats(server: subprocess.Popen) -> dict:
    assert server.stdin is not None and server.stdout is not None
    server.stdin.write("stats\n")
    server.stdin.flush()
    return json.loads(server.stdout.readline())


def vbot_pass(names: list[str], env: dict[str, str], workers: int, cache: Path) -> float:
    config = load_config(None, None, env={**env, "VBOT_HTTP_PER_HOST": str(workers)})
    http = make_http(config, workers, HttpCache(cache))
    checker = Checker(Context(config=config, http=http))
    url = "https://pypi.example/packages/source/p/{0}/{0}-0.0.1.tar.gz"
    infos = [NodeInfo(n, "0.0.1", urls=(url.format(n),)) for n in names]
    found: list = []
    cpu = time.process_time()
    run_loop(run_local(infos, checker.check, workers, found.append))
    cpu = time.process_time() - cpu
    assert http.cache is not None
    http.cache.close()
    http.close()
    assert sum(o.status == "found" for o in found) == len(names)
    return cpu


def requests_cache_pass(names: list[str], base: str, workers: int, cache: Path) -> float:
    import requests_cache

    session = requests_cache.CachedSession(str(cache / "rc"), backend="sqlite",
                                           always_revalidate=True)

    def one(name: str) -> list[str]:
        resp = session.get(f"{base}/pypi/{name}/json", timeout=(5, 20))
        resp.raise_for_status()
        return sorted(resp.json()["releases"])

    cpu = time.process_time()
    with ThreadPoolExecutor(workers) as pool:
        got = list(pool.map(one, names))
    cpu = time.process_time() - cpu
    session.close()
    assert all(got)
    return cpu


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 2)[2])
    ap.add_argument("-n", "--nodes", type=int, default=2000)
    ap.add_argument("-c", "--concurrency", type=int, default=20)
    ap.add_argument("-l", "--latency-ms", type=float, default=0.0)
    ap.add_argument("--large", type=int, default=16, help="every Nth document ~200 KB (0: none)")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="vbot-cache-") as tmp:
        doc = world(args.nodes, args.large)
        world_file = Path(tmp) / "world.json"
        world_file.write_text(json.dumps({**doc, "latency_ms": args.latency_ms}))
        server = subprocess.Popen([sys.executable, str(HERE / "fake_server.py"), str(world_file)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            hello = json.loads(server.stdout.readline())
            names = list(doc["pypi"])
            for label, run in (
                    ("vbot digest cache", lambda c: vbot_pass(names, hello["env"],
                                                              args.concurrency, c)),
                    ("requests-cache sqlite", lambda c: requests_cache_pass(
                        names, hello["base"], args.concurrency, c))):
                cache = Path(tmp) / label.replace(" ", "-")
                cache.mkdir()
                for what in ("first", "repeat"):
                    before = stats(server)
                    wall = time.perf_counter()
                    cpu = run(cache)
                    wall = time.perf_counter() - wall
                    after = stats(server)
                    made = after["requests"] - before["requests"]
                    n304 = after["not_modified"] - before["not_modified"]
                    rows.append((label, what, cpu / len(names) * 1000, wall, made, n304,
                                 size_of(cache)))
        finally:
            if server.stdin is not None:
                server.stdin.write("quit\n")
                server.stdin.flush()
            server.wait(10)
    print(f"\n{args.nodes} PyPI documents (every {args.large}th ~200 KB), C = "
          f"{args.concurrency}, latency {args.latency_ms:g} ms\n")
    print("| cache | pass | CPU ms/doc | wall s | requests | 304s | cache on disk MB |")
    print("|---|---|---|---|---|---|---|")
    for label, what, cpu, wall, made, n304, size in rows:
        print(f"| {label} | {what} | {cpu:.3f} | {wall:.2f} | {made} | {n304} | "
              f"{size / 1e6:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
