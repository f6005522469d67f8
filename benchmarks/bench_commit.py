"""Time committing N changed sharded versions files: vbot's commit from memory in the default
sparse workspace (nothing written, one fast-import pack), and in a full checkout: with git
status finding the written files, given the list of written paths (no git status), against the
plain ``git add -A`` + ``git commit`` it replaced. Wall and CPU (with git's) seconds; the
writing of the files is not timed.

    python benchmarks/bench_commit.py -n 25000
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import genrepo  # noqa: E402

from vbot.git.commit import commit  # noqa: E402
from vbot.git.options import FULL  # noqa: E402
from vbot.git.workspace import Workspace  # noqa: E402
from vbot.repo.paths import sharded_relpath  # noqa: E402
from vbot.testing.gitfixtures import create_remote  # noqa: E402


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the git commands)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--files", type=int, default=25000)
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="vbot-commit-"))
    try:
        tree = tmp / "tree"
        (tree / "versions").mkdir(parents=True)
        (tree / "graph.json").write_text('{"nodes": []}\n')
        remote = create_remote(tree, tmp / "remote.git")
        names = [name for name, _ in genrepo.plan(args.files, ("pypi",))]
        rows = []
        labels = ("vbot commit(contents=...), sparse", "vbot commit (git status), full",
                  "vbot commit(paths=written), full", "git add -A + git commit, full")
        text = (json.dumps({"new_version": "1.0"}) + "\n").encode()
        for label in labels:
            options = None if label == labels[0] else FULL
            with Workspace.open(remote, tmp / f"work-{len(rows)}", options=options) as ws:
                written = [sharded_relpath("versions", name) for name in names]
                for rel in written if options is FULL else ():
                    path = ws.path / rel
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(text)
                start, cpu = time.perf_counter(), _cpu()
                if label == labels[0]:
                    commit(ws, ["versions"], "results\n", written, dict.fromkeys(written, text))
                elif label == labels[1]:
                    commit(ws, ["versions"], "results\n")
                elif label == labels[2]:
                    commit(ws, ["versions"], "results\n", written)
                else:
                    ws.repo.git.add("-A", "--", "versions")
                    ws.repo.git.commit("-q", "-m", "results")
                rows.append((label, time.perf_counter() - start, _cpu() - cpu,
                             len(ws.changed_files())))
        for label, secs, used, count in rows:
            print(f"{label:36} {count:6d} files  {secs:6.2f} s wall  {used:6.2f} s CPU")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
