"""Speed of the maintainer commands on a big data repo (not a test; run by hand).

    python benchmarks/bench_maintainer.py [--nodes 25000] [--commits 2000]

Builds a cf-layout repo with NODES versions files and version_pr_info files in a temporary
folder, commits it, then times:
- ``vbot validate DIR`` over every file,
- ``vbot validate --staged`` with every file staged (the hook's worst case),
- ``vbot history NODE`` on a repo with COMMITS commits touching that node's files,
- ``vbot status``'s data collection (every node's version and new_version, every versions file,
  the whole log).
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vbot import jsonio  # noqa: E402
from vbot.commands.history import history  # noqa: E402
from vbot.commands.status import collect  # noqa: E402
from vbot.commands.validate import validate  # noqa: E402
from vbot.repo.paths import sharded_relpath  # noqa: E402

ENV = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.invalid",
       "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.invalid"}


def git(root: Path, *args: str, stdin: bytes | None = None) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, env=ENV, input=stdin,
                   stdout=subprocess.DEVNULL)


def build(root: Path, nodes: int) -> None:
    names = [f"pkg{i:05d}" for i in range(nodes)]
    graph = {"directed": True, "multigraph": False, "graph": {}, "links": [],
             "nodes": [{"id": n, "payload": {"__lazy_json__": f"node_attrs/{n}.json"}}
                       for n in names]}
    jsonio.atomic_write_text(root / "graph.json", jsonio.dumps(graph))
    for i, name in enumerate(names):
        doc = ({"new_version": None} if i % 4 == 0 else
               {"bad": f"Upstream: pypi: HTTP 404 from {name}"} if i % 9 == 0 else
               {"new_version": f"{i % 50}.{i % 7}.{i % 3}"})
        for folder, content in (("versions", doc), ("node_attrs", {"version": "0.1"})):
            path = root / sharded_relpath(folder, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(jsonio.dumps(content))
        if "new_version" in doc and doc["new_version"]:
            path = root / sharded_relpath("version_pr_info", name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(jsonio.dumps({"new_version": doc["new_version"]}))


def timed(label: str, fn) -> float:
    start = time.perf_counter()
    fn()
    took = time.perf_counter() - start
    print(f"{label:<48} {took:7.2f}s")
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=25000)
    parser.add_argument("--commits", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        timed(f"build {args.nodes} nodes", lambda: build(root, args.nodes))
        git(root, "init", "-q", "-b", "main")
        git(root, "add", "-A")
        out, err = io.StringIO(), io.StringIO()
        files = sum(1 for _ in root.rglob("*.json"))
        timed(f"validate --staged ({files} staged files)",
              lambda: validate([root], True, out, err))
        print("   ", err.getvalue().strip().splitlines()[-1])
        err = io.StringIO()
        timed("validate DIR (every file on disk)", lambda: validate([root], False, out, err))
        print("   ", err.getvalue().strip().splitlines()[-1])
        git(root, "commit", "-qm", "import")
        # COMMITS commits that change pkg00001's versions file (fast-import: one process)
        rel = sharded_relpath("versions", "pkg00001")
        stream = []
        for i in range(args.commits):
            body = jsonio.dumps({"new_version": f"1.{i}"}).encode()
            message = f"vbot sweep: 1 checked, 1 new, 0 unchanged, 0 errors\n\nVbot-Run: " \
                      f"sweep-20260101T000000Z-{i:06x}\n".encode()
            stream.append(b"commit refs/heads/main\n"
                          + f"committer b <b@example.invalid> {1700000000 + i} +0000\n".encode()
                          + f"data {len(message)}\n".encode() + message
                          + (b"from refs/heads/main^0\n" if i == 0 else b"")
                          + f"M 100644 inline {rel}\ndata {len(body)}\n".encode() + body + b"\n")
        git(root, "fast-import", "--quiet", stdin=b"".join(stream))
        git(root, "reset", "-q", "--hard", "main")
        entries: list = []
        timed(f"history pkg00001 ({args.commits} commits)",
              lambda: entries.extend(history(root, "pkg00001")))
        print(f"    {len(entries)} timeline entries")
        found: list = []
        timed("status (collect the page's figures)", lambda: found.append(collect(root)))
        print(f"    {found[0].as_dict()}")
    bench_inline_history(max(10, args.nodes // 5), min(args.commits, 200))


def bench_inline_history(nodes: int, commits: int) -> None:
    """history in inline layout: every merge rewrites graph.json (a big blob per commit)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "inline"
        root.mkdir()
        graph = {"directed": True, "multigraph": False, "graph": {}, "links": [],
                 "nodes": [{"id": f"pkg{i:05d}", "version": "1.0", "name": f"pkg{i:05d}",
                            "meta_yaml": {"about": {"summary": "x" * 80}}}
                           for i in range(nodes)]}
        stream = []
        for i in range(commits):
            graph["nodes"][1]["new_version"] = f"1.{i}"
            graph["nodes"][2 + i % (nodes - 2)]["new_version"] = f"2.{i}"
            body = jsonio.dumps(graph).encode()
            message = f"vbot merge: 2 updates\n\nVbot-Run: merge-20260101T000000Z-{i:06x}\n"
            stream.append(b"commit refs/heads/main\n"
                          + f"committer b <b@example.invalid> {1700000000 + i} +0000\n".encode()
                          + f"data {len(message)}\n{message}".encode()
                          + f"M 100644 inline graph.json\ndata {len(body)}\n".encode() + body
                          + b"\n")
        git(root, "init", "-q", "-b", "main")
        git(root, "fast-import", "--quiet", stdin=b"".join(stream))
        git(root, "reset", "-q", "--hard", "main")
        size = (root / "graph.json").stat().st_size
        entries: list = []
        timed(f"history, inline ({nodes} nodes, {size >> 20} MB graph.json, {commits} commits)",
              lambda: entries.extend(history(root, "pkg00001")))
        print(f"    {len(entries)} timeline entries")


if __name__ == "__main__":
    main()
