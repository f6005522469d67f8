"""Benchmark incremental sweeps and merges (issue 17) as a CI job runs them: fresh runners.

A cf-layout data repo of N nodes (default 25,000: 80% PyPI, 20% GitHub, batched through
GraphQL with a token) and the fake upstream in its own process (latency L per request). Steps:

1. cold sweep (no cursor: every node is checked), then a merge (every file: no base yet);
2. the upstream moves: 2% of the PyPI projects release, 1% get a new serial without a release,
   1% of the GitHub repositories release;
3. a sweep from a fresh runner (empty workdir and HTTP cache): incremental, from the cursor in
   the data repo; then ``vbot merge`` in its workspace (incremental, from the last merge);
4. a fresh-runner sweep with nothing new (no commit expected).

Side by side, from a copy of the remote as it was before step 3: the same fresh-runner sweep
with ``--full`` and a ``merge --full``, which is what the code before did every time. Their
versions trees must be equal to the incremental ones (checked).

    python benchmarks/bench_incremental.py                 # 25,000 nodes, 100 ms, 128 workers
    python benchmarks/bench_incremental.py -n 2000 -l 20   # a quick run
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_sweep as bs  # noqa: E402

MIX = {"pypi": 0.8, "github": 0.2}


def move(world: dict[str, Any], seed: int, releases: float = 0.02, serials: float = 0.01,
         github: float = 0.01) -> tuple[dict[str, Any], dict[str, int]]:
    """The upstream a day later: ``releases`` of the PyPI projects have a newer version,
    ``serials`` a new serial without one (metadata touched), ``github`` of the repositories a
    newer release. Returns the new world and how many of each."""
    rng = random.Random(seed * 7919)
    new = json.loads(json.dumps(world))
    projects = sorted(new["pypi"])
    picked = rng.sample(projects, int(len(projects) * (releases + serials)))
    cut = int(len(projects) * releases)
    for name in picked[:cut]:
        entry = new["pypi"][name]
        major, minor, _ = entry["versions"][-1].split(".")
        entry["versions"] = [*entry["versions"], f"{major}.{int(minor) + 1}.0"]
    for name in picked[cut:]:
        new["pypi"][name]["touched"] = 1  # a new serial, the same releases
    repos = sorted(r for r, e in new["github"].items() if e["releases"])
    for repo in rng.sample(repos, int(len(repos) * github)):
        entry = new["github"][repo]
        major, minor, _ = entry["releases"][0]["tag_name"][1:].split(".")
        tag = f"v{major}.{int(minor) + 1}.0"
        entry["releases"] = [{"tag_name": tag}]
        entry["tags"] = [tag, *entry["tags"]]
    return new, {"pypi releases": cut, "pypi serials": len(picked) - cut,
                 "github releases": int(len(repos) * github)}


def versions_tree(remote: Path) -> str:
    return subprocess.run(["git", "-C", str(remote), "rev-parse", "main:versions"],
                          capture_output=True, text=True, check=True).stdout.strip()


def commits(remote: Path) -> int:
    return int(subprocess.run(["git", "-C", str(remote), "rev-list", "--count", "main"],
                              capture_output=True, text=True, check=True).stdout)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("-n", "--nodes", type=int, default=25000)
    ap.add_argument("-l", "--latency-ms", type=float, default=100.0)
    ap.add_argument("-c", "--concurrency", type=int, default=128)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--token", default="bench-token", help="a (fake) GitHub token: GraphQL")
    ap.add_argument("--no-full", action="store_true",
                    help="skip the side-by-side --full sweep and merge")
    ap.add_argument("--out", type=Path, default=HERE / "out")
    ap.add_argument("--json", type=Path, help="also write the raw results here")
    args = ap.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    data = bs.prepare(args.out, args.nodes, tuple(MIX), args.seed, MIX)
    world = json.loads((data / "world.json").read_text("utf-8"))
    world["latency_ms"] = args.latency_ms
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    run = args.out / f"incr-{stamp}"
    run.mkdir(parents=True)
    (run / "world-0.json").write_text(json.dumps(world), "utf-8")
    moved, counts = move(world, args.seed)
    (run / "world-1.json").write_text(json.dumps(moved), "utf-8")
    fake = bs.Fake(run / "world-0.json", dict(os.environ))
    env = bs.vbot_env(fake, args.token)
    c = args.concurrency
    res: dict[str, Any] = {"nodes": args.nodes, "latency_ms": args.latency_ms, "moves": counts}
    rows: list[list[str]] = []

    def sweep(tag: str, remote: Path, extra: tuple[str, ...] = ()) -> dict[str, Any]:
        got = bs.vbot_sweep(data, run, fake, c, args.token, tag, workdir=run / f"w-{tag}",
                            cache=run / f"cache-{tag}", remote=remote, extra=extra)
        res[tag] = got
        rows.extend(bs.phase_rows(tag, got))
        return got

    def merge(tag: str, remote: Path, workdir: Path, extra: tuple[str, ...] = ()
              ) -> dict[str, Any]:
        got = bs.run_vbot("merge", remote, workdir, run, env, list(extra), tag)
        res[tag] = got
        rows.extend(bs.phase_rows(tag, got))
        return got

    try:
        remote = bs.fresh_remote(data, run)
        cold = sweep("cold sweep", remote)
        merge("merge all (first)", remote, cold["workdir"])
        before = run / "remote-before.git"
        shutil.copytree(remote, before)
        fake._ask(f"world {run / 'world-1.json'}")
        after = sweep("fresh sweep after move", remote)
        merged = merge("merge after move", remote, after["workdir"])
        n_commits = commits(remote)
        quiet = sweep("fresh sweep nothing new", remote)
        quiet["new_commits"] = commits(remote) - n_commits
        if not args.no_full:
            full = sweep("full fresh sweep after move (before)", before, ("--full",))
            fmerged = merge("full merge after move (before)", before, full["workdir"],
                            ("--full",))
            res["equal_versions_trees"] = versions_tree(remote) == versions_tree(before)
            res["equal_merge"] = (merged["report"].get("merged"), fmerged["report"].get("merged"))
    finally:
        fake.close()

    print(f"\n{args.nodes} nodes (80% PyPI, 20% GitHub with a token), latency "
          f"{args.latency_ms:g} ms, {c} in flight, {os.cpu_count()} cores, "
          f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; move: "
          + ", ".join(f"{v} {k}" for k, v in counts.items()) + "\n")
    print(bs.table(rows, bs.HEAD))
    print()
    print(summary(res))
    if args.json:
        args.json.write_text(json.dumps(res, indent=1, default=str), "utf-8")
    return 0


def summary(res: dict[str, Any]) -> str:
    cold = res["cold sweep"]
    lines = [f"cold sweep: {cold['wall']:.1f} s, peak RSS {cold['rss_mb']:.0f} MB, "
             f"{cold['upstream']['requests']} requests"]
    for tag in ("fresh sweep after move", "fresh sweep nothing new",
                "full fresh sweep after move (before)"):
        if tag not in res:
            continue
        got = res[tag]
        inc = got["report"].get("incremental", {})
        lines.append(f"{tag}: {got['wall']:.1f} s = {got['wall'] / cold['wall']:.2f} of the "
                     f"cold sweep, {got['upstream']['requests']} requests "
                     f"({json.dumps(got['upstream']['by_prefix'])}), "
                     f"{got['report']['counts']['new']} files written, commit "
                     f"{str(got['report'].get('commit'))[:12]}, skipped {inc.get('skipped')}, "
                     f"peak RSS {got['rss_mb']:.0f} MB")
    for tag in ("merge all (first)", "merge after move", "full merge after move (before)"):
        if tag in res:
            got = res[tag]
            lines.append(f"{tag}: {got['wall']:.1f} s, {got['report'].get('merged')} merged, "
                         f"{got['report'].get('unchanged')} unchanged")
    if "equal_versions_trees" in res:
        lines.append(f"incremental and full versions trees equal: {res['equal_versions_trees']}"
                     f"; merged (incremental, full): {res['equal_merge']}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
