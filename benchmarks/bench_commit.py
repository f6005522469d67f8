"""Time committing N changed sharded versions files: vbot's Workspace.commit (git status + one
fast-import pack) against the plain ``git add -A`` + ``git commit`` it replaced.

    python benchmarks/bench_commit.py -n 25000
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import genrepo  # noqa: E402

from vbot.gitrepo import Workspace, create_remote  # noqa: E402
from vbot.names import sharded_relpath  # noqa: E402


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
        for label in ("vbot Workspace.commit", "git add -A + git commit"):
            with Workspace.open(remote, tmp / f"work-{len(rows)}") as ws:
                for name in names:
                    path = ws.path / sharded_relpath("versions", name)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(json.dumps({"new_version": "1.0"}) + "\n")
                start = time.perf_counter()
                if label.startswith("vbot"):
                    ws.commit(["versions"], "results\n")
                else:
                    ws.repo.git.add("-A", "--", "versions")
                    ws.repo.git.commit("-q", "-m", "results")
                rows.append((label, time.perf_counter() - start,
                             len(ws.changed_files())))
        for label, secs, count in rows:
            print(f"{label:28} {count:6d} files  {secs:6.2f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
