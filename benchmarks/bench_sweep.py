"""Benchmark ``vbot sweep`` / ``vbot merge`` at conda-forge scale, side by side with nvchecker.

Generates a cf-layout data repo of N conda-forge-shaped nodes and a matching fake upstream world,
starts the fake upstream in its own process with latency L per request, then for each concurrency
runs ``vbot sweep`` (a subprocess, pushing to a local bare remote) and nvchecker (from its own venv,
``benchmarks/.venv``, created on first use) against the same server. For the first concurrency it
also runs a repeat sweep with no upstream change (conditional requests) and ``vbot merge``.
Prints a per-phase table (wall, CPU, peak RSS, requests, requests/s), the latency bound N*L/C,
and vbot/nvchecker ratios.

    python benchmarks/bench_sweep.py                       # 25,000 nodes, 100 ms, 128 workers
    python benchmarks/bench_sweep.py -n 2000 -l 50 -c 20,50  # the small comparison
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import genrepo  # noqa: E402

from vbot.git.log import read_blobs  # noqa: E402
from vbot.repo.paths import sharded_relpath  # noqa: E402
from vbot.testing.gitfixtures import create_remote  # noqa: E402

NV_VENV = HERE / ".venv"
NV_EXT = HERE / "nvchecker_ext"


# -- processes ---------------------------------------------------------------------------------
def measure(cmd: list[str], env: dict[str, str], log: Path) -> dict[str, Any]:
    """Run ``cmd``; wall time, CPU (user+sys, children included) and peak RSS from wait4."""
    start = time.perf_counter()
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        tail = log.read_text("utf-8", "replace")[-3000:]
        raise SystemExit(f"{cmd[0]} {' '.join(cmd[1:3])} failed ({proc.returncode}):\n{tail}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "user": usage.ru_utime,
            "sys": usage.ru_stime,
            "rss_mb": usage.ru_maxrss / 1024}


class Fake:
    """The fake upstream in a child process; ``stats()`` reads its request counters."""

    def __init__(self, world: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, str(HERE / "fake_server.py"), str(world)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                     text=True)
        assert self.proc.stdout is not None
        hello = json.loads(self.proc.stdout.readline())
        self.base: str = hello["base"]
        self.env: dict[str, str] = hello["env"]

    def _ask(self, line: str) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def stats(self) -> dict[str, Any]:
        return self._ask("stats")

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


def delta(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    prefixes = set(after["by_prefix"]) | set(before["by_prefix"])
    return {"requests": after["requests"] - before["requests"],
            "not_modified": after["not_modified"] - before["not_modified"],
            "by_prefix": {p: after["by_prefix"].get(p, 0) - before["by_prefix"].get(p, 0)
                          for p in sorted(prefixes)}}


# -- data --------------------------------------------------------------------------------------
def registered_kinds() -> tuple[str, ...]:
    from vbot.sources import REGISTRY

    return tuple(k for k in genrepo.MIX if k in REGISTRY)


def prepare(out: Path, n: int, kinds: tuple[str, ...], seed: int,
            mix: dict[str, float] | None = None) -> Path:
    """Generated tree + bare template remote, reused between runs with the same parameters."""
    shares = "-".join(f"{k}{v:g}" for k, v in mix.items()) if mix else "-".join(kinds)
    data = out / f"data-{n}-{seed}-{shares}"
    if (data / "ready").exists():
        return data
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    t0 = time.perf_counter()
    world, expect = genrepo.generate(data / "tree", n, kinds, seed, mix)
    (data / "world.json").write_text(json.dumps(world), "utf-8")
    (data / "expect.json").write_text(json.dumps(expect), "utf-8")
    create_remote(data / "tree", data / "remote.git")
    subprocess.run(["git", "-C", str(data / "remote.git"), "gc", "-q"], check=True)
    shutil.rmtree(data / "tree")
    (data / "ready").write_text("")
    print(f"generated {n} nodes in {time.perf_counter() - t0:.1f} s -> {data}", file=sys.stderr)
    return data


def fresh_remote(data: Path, run: Path) -> Path:
    remote = run / "remote.git"
    shutil.copytree(data / "remote.git", remote)
    return remote


def check_results(workdir: Path, expect: dict[str, Any]) -> int:
    """How many nodes' versions files, as the workspace's HEAD holds them (the work tree
    does not check versions/ out), hold the expected version."""
    specs = {name: f"HEAD:{sharded_relpath('versions', name)}" for name in expect}
    blobs = read_blobs(workdir, list(specs.values()))
    good = 0
    for name, exp in expect.items():
        try:
            doc = json.loads(blobs.get(specs[name]) or b"")
        except ValueError:
            continue
        good += doc.get("new_version") == exp["version"]
    return good


# -- vbot --------------------------------------------------------------------------------------
def vbot_env(fake: Fake, token: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("VBOT_") and k not in ("GITHUB_TOKEN", "GH_TOKEN")}
    env.update(fake.env)
    if token:
        env["GITHUB_TOKEN"] = token
    return env


PROFILE: list[str] = []  # a py-spy command prefix when --profile is given


def run_vbot(cmd: str, remote: Path, workdir: Path, run: Path, env: dict[str, str],
             extra: list[str], tag: str) -> dict[str, Any]:
    report = run / f"{tag}-report.json"
    argv = [sys.executable, "-m", "vbot", cmd, str(remote), "--workdir", str(workdir), "-q",
            "--report", str(report), *extra]
    if PROFILE:
        argv = [*PROFILE, "-o", str(run / f"{tag}.pyspy"), "--", *argv]
    got = measure(argv, env, run / f"{tag}.log")
    got["report"] = json.loads(report.read_text("utf-8"))
    return got


def vbot_sweep(data: Path, run: Path, fake: Fake, workers: int, token: str | None,
               tag: str, workdir: Path | None = None, cache: Path | None = None,
               remote: Path | None = None, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    config = run / "vbot.toml"
    config.write_text(f"[http]\nper_host = {workers}\n", "utf-8")
    remote = remote or fresh_remote(data, run)
    workdir = workdir or run / "work"
    cache = cache or run / "cache"
    before = fake.stats()
    got = run_vbot("sweep", remote, workdir, run, vbot_env(fake, token),
                   ["--workers", str(workers), "--config", str(config), "--cache-dir", str(cache),
                    *extra], tag)
    got["upstream"] = delta(fake.stats(), before)
    got.update(remote=remote, workdir=workdir, cache=cache)
    return got


# -- nvchecker ---------------------------------------------------------------------------------
def nvchecker_bin(setup: bool) -> Path | None:
    exe = NV_VENV / "bin" / "nvchecker"
    if exe.exists():
        return exe
    if not setup:
        return None
    print(f"installing nvchecker into {NV_VENV} ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(NV_VENV)], check=True)
    subprocess.run([str(NV_VENV / "bin" / "pip"), "install", "-q", "nvchecker", "pycurl",
                    "packaging"], check=True)
    return exe


def nvchecker_config(expect: dict[str, Any], base: str, concurrency: int, path: Path) -> int:
    """nvchecker entries for the same packages; returns how many nodes it can check."""
    lines = ["[__config__]", 'oldver = "old.json"', 'newver = "new.json"',
             f"max_concurrency = {concurrency}", "http_timeout = 120", ""]
    count = 0
    for name, exp in expect.items():
        kind = exp["kind"]
        if kind == "pypi":
            body = f'source = "vbot_fake"\ninner = "pypi"\npypi = "{exp["package"]}"\n' \
                   f'fake_base = "{base}"'
        elif kind == "github" and not exp["tags_only"]:
            body = f'source = "vbot_fake"\ninner = "github"\ngithub = "{exp["repo"]}"\n' \
                   f'use_latest_release = true\nprefix = "v"\nfake_base = "{base}/github"'
        elif kind == "github":
            body = (f'source = "regex"\nurl = "{base}/github/repos/{exp["repo"]}/tags'
                    "?per_page=100\"\nregex = '\"name\":\"v([^\"]+)\"'")
        elif kind == "npm":
            body = f'source = "vbot_fake"\ninner = "npm"\nnpm = "{exp["package"]}"\n' \
                   f'fake_base = "{base}/npm"'
        else:  # cran, crates: nvchecker's sources speak other endpoints than the fake serves
            continue
        lines += [f'["{name}"]', body, ""]
        count += 1
    path.write_text("\n".join(lines), "utf-8")
    return count


def run_nvchecker(exe: Path, expect: dict[str, Any], run: Path, fake: Fake,
                  concurrency: int) -> dict[str, Any]:
    cfg = run / "nvchecker.toml"
    checkable = nvchecker_config(expect, fake.base, concurrency, cfg)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VBOT_")}
    env["PYTHONPATH"] = str(NV_EXT)
    before = fake.stats()
    got = measure([str(exe), "-c", str(cfg), "-l", "warning"], env, run / "nvchecker.log")
    got["upstream"] = delta(fake.stats(), before)
    got["checkable"] = checkable
    try:
        data = json.loads((run / "new.json").read_text("utf-8")).get("data", {})
    except (OSError, ValueError):
        data = {}
    got["correct"] = sum(1 for n, e in expect.items()
                         if (data.get(n) or {}).get("version") == e["version"])
    return got


# -- report ------------------------------------------------------------------------------------
def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def phase_rows(label: str, got: dict[str, Any]) -> list[list[str]]:
    rep = got["report"]
    dur, cpu, rss = rep["durations"], rep.get("cpu", {}), rep.get("peak_rss_mb", {})
    reqs = got.get("upstream", {}).get("requests")
    rows = []
    for phase in ("clone", "load", "check", "write", "commit", "push", "merge"):
        if phase not in dur:
            continue
        wall, used = dur[phase], cpu.get(phase)
        if phase == "check" and "write" in dur:  # upstream checks, without the file writes
            wall, used = wall - dur["write"], (used - cpu.get("write", 0)) if used else None
        name = {"clone": "clone/update", "load": "load graph", "check": "check upstream",
                "write": "write files"}.get(phase, phase)
        r = reqs if phase == "check" else None
        rows.append([f"{label}: {name}", fmt(wall), fmt(used), fmt(rss.get(phase), 0),
                     str(r) if r is not None else "", fmt(r / wall, 0) if r and wall else ""])
    rows.append([f"{label}: process total", fmt(got["wall"]), fmt(got["cpu"]),
                 fmt(got["rss_mb"], 0), str(reqs or ""),
                 fmt(reqs / got["wall"], 0) if reqs else ""])
    return rows


def table(rows: list[list[str]], head: list[str]) -> str:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    line = lambda r: "| " + " | ".join(  # noqa: E731
        c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
    ) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(head), sep, *map(line, rows)])


HEAD = ["step", "wall s", "CPU s", "peak RSS MB", "requests", "req/s"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("-n", "--nodes", type=int, default=25000, help="nodes (default 25000)")
    ap.add_argument("-l", "--latency-ms", type=float, default=100.0,
                    help="fake upstream latency per request (default 100)")
    ap.add_argument("-c", "--concurrency", default="128",
                    help="comma-separated worker counts; both tools run at each (default 128)")
    ap.add_argument("--kinds", default="auto",
                    help="source kinds to generate, comma separated from "
                    f"{','.join(genrepo.MIX)}; 'auto' = those vbot has registered")
    ap.add_argument("--mix", default=None,
                    help="shares of the kinds, e.g. 'pypi=0.8,github=0.2' (overrides --kinds)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--github-token", default=None,
                    help="a (fake) token: vbot then batches GitHub through GraphQL")
    ap.add_argument("--no-nvchecker", action="store_true", help="vbot only")
    ap.add_argument("--vbot-args", default="", help="extra `vbot sweep` arguments, e.g. "
                    "'--executor dask --processes 2' (quoted, split like a shell)")
    ap.add_argument("--no-setup", action="store_true",
                    help="do not create benchmarks/.venv with nvchecker when it is missing")
    ap.add_argument("--out", type=Path, default=HERE / "out", help="work folder (default out/)")
    ap.add_argument("--json", type=Path, help="also write the raw results here")
    ap.add_argument("--profile", action="store_true",
                    help="sample every vbot run with py-spy (all threads, with idle time "
                    "excluded) and print the top functions; timings are then not clean")
    args = ap.parse_args(argv)
    if args.profile:
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        PROFILE[:] = [spy, "record", "-r", "100", "-f", "raw", "--gil"]

    kinds = registered_kinds() if args.kinds == "auto" else tuple(args.kinds.split(","))
    mix: dict[str, float] | None = None
    if args.mix:
        try:
            mix = {k.strip(): float(v) for k, v in (p.split("=") for p in args.mix.split(","))}
        except ValueError:
            ap.error("--mix: expected kind=share pairs, e.g. pypi=0.8,github=0.2")
        kinds = tuple(mix)
    unknown = set(kinds) - set(genrepo.MIX)
    if unknown:
        ap.error(f"unknown kinds: {', '.join(sorted(unknown))}")
    levels = [int(c) for c in args.concurrency.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    data = prepare(args.out, args.nodes, kinds, args.seed, mix)
    expect = json.loads((data / "expect.json").read_text("utf-8"))
    world = json.loads((data / "world.json").read_text("utf-8"))
    world["latency_ms"] = args.latency_ms
    world_file = args.out / "world-run.json"
    world_file.write_text(json.dumps(world), "utf-8")
    nv = None if args.no_nvchecker else nvchecker_bin(not args.no_setup)

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    base_run = args.out / f"run-{stamp}"
    fake = Fake(world_file, dict(os.environ))
    results: dict[str, Any] = {"nodes": args.nodes, "latency_ms": args.latency_ms,
                               "kinds": kinds, "mix": mix, "cores": os.cpu_count(),
                               "by_concurrency": {}}
    rows: list[list[str]] = []
    try:
        for i, conc in enumerate(levels):
            run = base_run / f"c{conc}"
            run.mkdir(parents=True)
            res: dict[str, Any] = {}
            first = vbot_sweep(data, run, fake, conc, args.github_token, "sweep",
                               extra=tuple(shlex.split(args.vbot_args)))
            first["correct"] = check_results(first["workdir"], expect)
            res["vbot"] = first
            rows += phase_rows(f"vbot sweep c={conc}", first)
            if i == 0:
                again = vbot_sweep(data, run, fake, conc, args.github_token, "repeat",
                                   workdir=first["workdir"], cache=first["cache"],
                                   remote=first["remote"])
                res["repeat"] = again
                rows += phase_rows(f"vbot repeat c={conc}", again)
                # in the sweep's workspace, as a bot runs merge after sweep
                merged = run_vbot("merge", first["remote"], first["workdir"], run,
                                  vbot_env(fake, None), [], "merge")
                res["merge"] = merged
                rows += phase_rows("vbot merge", merged)
            if nv is not None:
                got = run_nvchecker(nv, expect, run, fake, conc)
                res["nvchecker"] = got
                reqs = got["upstream"]["requests"]
                rows.append([f"nvchecker c={conc}: process total", fmt(got["wall"]),
                             fmt(got["cpu"]), fmt(got["rss_mb"], 0), str(reqs),
                             fmt(reqs / got["wall"], 0)])
            results["by_concurrency"][conc] = res
    finally:
        fake.close()

    print(f"\n{args.nodes} nodes ({', '.join(kinds)}), latency {args.latency_ms:g} ms, "
          f"{os.cpu_count()} cores, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC\n")
    print(table(rows, HEAD))
    print()
    print(summary(results, expect))
    if args.profile:
        for prof in sorted(base_run.rglob("*.pyspy")):
            print(f"\n{prof.relative_to(base_run)}: top functions by own samples, "
                  "then by samples including callees")
            print(profile_summary(prof))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str), "utf-8")
    return 0


def profile_summary(path: Path, top: int = 25) -> str:
    """Top frames of a py-spy raw (collapsed stacks) file, by self and by total samples."""
    own: dict[str, int] = {}
    total: dict[str, int] = {}
    samples = 0
    for line in path.read_text("utf-8", "replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        samples += n
        frames = [f.split(" (")[0] + " " + f.rsplit("/", 1)[-1].rstrip(")")
                  for f in stack.split(";")[1:]]
        if frames:
            own[frames[-1]] = own.get(frames[-1], 0) + n
        for frame in set(frames):
            total[frame] = total.get(frame, 0) + n
    out = [f"  {samples} samples"]
    for title, table_ in (("own", own), ("total", total)):
        for frame, n in sorted(table_.items(), key=lambda kv: -kv[1])[:top]:
            out.append(f"  {title:5} {100 * n / max(1, samples):5.1f}%  {frame}")
    return "\n".join(out)


def summary(results: dict[str, Any], expect: dict[str, Any]) -> str:
    n, lat = results["nodes"], results["latency_ms"] / 1000
    github = sum(1 for e in expect.values() if e["kind"] == "github")
    lines = []
    best: dict[str, tuple[float, int]] = {}
    for conc, res in results["by_concurrency"].items():
        v = res["vbot"]
        rep = v["report"]
        dur = rep["durations"]
        checking = dur.get("load", 0) + dur.get("check", 0)
        checked = rep["counts"]["checked"]
        up = v["upstream"]
        gh_calls = up["by_prefix"].get("github", 0)
        lines.append(f"c={conc}: latency bound N*L/c = {n * lat / conc:.1f} s; vbot sweep "
                     f"end to end {v['wall']:.1f} s (load+check {checking:.1f} s), "
                     f"{v['correct']}/{n} correct, {up['requests']} requests, "
                     f"CPU {1000 * v['cpu'] / max(1, checked):.2f} ms/node "
                     f"({1000 * rep['cpu'].get('check', 0) / max(1, checked):.2f} in the check "
                     "phase), "
                     f"peak RSS {v['rss_mb']:.0f} MB")
        if github:
            lines.append(f"  GitHub API calls per 1,000 GitHub nodes: "
                         f"{1000 * gh_calls / github:.0f}")
        best["vbot"] = min(best.get("vbot", (1e9, 0)), (v["wall"], conc))
        if "nvchecker" in res:
            nv = res["nvchecker"]
            best["nvchecker"] = min(best.get("nvchecker", (1e9, 0)), (nv["wall"], conc))
            lines.append(f"  nvchecker {nv['wall']:.1f} s, {nv['correct']}/{nv['checkable']} "
                         f"correct, {nv['upstream']['requests']} requests, CPU "
                         f"{1000 * nv['cpu'] / max(1, nv['checkable']):.2f} ms/node, "
                         f"peak RSS {nv['rss_mb']:.0f} MB")
            lines.append(f"  ratio vbot/nvchecker: wall {v['wall'] / nv['wall']:.2f} "
                         f"(load+check only {checking / nv['wall']:.2f}), CPU "
                         f"{v['cpu'] / nv['cpu']:.2f}, RSS {v['rss_mb'] / nv['rss_mb']:.2f}")
        if "repeat" in res:
            r = res["repeat"]
            rup = r["upstream"]
            share = rup["not_modified"] / max(1, rup["requests"])
            lines.append(f"  repeat sweep: {r['wall']:.1f} s ({r['wall'] / v['wall']:.2f} of "
                         f"the first), {100 * share:.1f}% of {rup['requests']} requests "
                         f"answered 304, {r['report']['counts']['new']} files rewritten, "
                         f"commit {r['report'].get('commit')}; CPU {r['cpu']:.2f} s = "
                         f"{r['cpu'] / v['cpu']:.2f} of the first sweep's {v['cpu']:.2f} s")
        if "merge" in res:
            m = res["merge"]
            lines.append(f"  merge: {m['wall']:.1f} s, {m['report'].get('merged')} merged, "
                         f"peak RSS {m['rss_mb']:.0f} MB")
    if "nvchecker" in best:
        (vw, vc), (nw, nc) = best["vbot"], best["nvchecker"]
        lines.append(f"best concurrency: vbot {vw:.1f} s at c={vc}, nvchecker {nw:.1f} s at "
                     f"c={nc}: nvchecker/vbot = {nw / vw:.2f}x")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
