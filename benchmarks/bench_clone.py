"""Clone and update phase of vbot's workspace against a plain full clone, on a data repo with a
long history of big blobs outside vbot's folders (issue 13).

The remote is the bundled demo repo plus ``--commits`` commits that each rewrite a ``--size``
byte file under pr_info/, served over ``file://`` (git's real transport: upload-pack, so depth
and filters apply). Phases: the first clone, then an update after the remote moved by
``--update`` more such commits. "held" is the size of the clone's ``.git/objects`` (what was
fetched: packs as received, plus the index git builds for each); wall seconds per phase.

    python benchmarks/bench_clone.py --commits 4000 --size 16384 --update 200
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from vbot.git.options import CloneOptions  # noqa: E402
from vbot.git.workspace import Workspace  # noqa: E402
from vbot.shipped import resource_dir  # noqa: E402
from vbot.testing.gitfixtures import add_history, create_remote  # noqa: E402


def held(path: Path) -> int:
    return sum(p.stat().st_size for p in (path / "objects").rglob("*") if p.is_file())


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def timed(step: Callable[[], object]) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def plain_clone(url: str, path: Path) -> None:
    """What vbot did before: a plain clone (GitPython clone_from) of everything."""
    subprocess.run(["git", "clone", "-q", url, str(path)], check=True, capture_output=True)


def plain_update(path: Path) -> None:
    """...and its update: fetch the branch, reset onto it."""
    git(path, "fetch", "-q", "origin", "main")
    git(path, "reset", "-q", "--hard", "origin/main")


def vbot_open(url: str, path: Path, options: CloneOptions | None = None) -> None:
    with Workspace.open(url, path, options=options, log=lambda _m: None):
        pass


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--commits", type=int, default=4000)
    ap.add_argument("--size", type=int, default=16384)
    ap.add_argument("--update", type=int, default=200)
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="vbot-clone-"))
    try:
        tree = tmp / "tree"
        shutil.copytree(resource_dir("data") / "repo", tree)
        url = create_remote(tree, tmp / "remote.git")
        bare = tmp / "remote.git"
        add_history(bare, args.commits, args.size)
        git(bare, "gc", "-q")  # one pack, as a forge serves it
        refusing = tmp / "refusing.git"
        subprocess.run(["git", "clone", "-q", "--bare", "--no-local", url, str(refusing)],
                       check=True, capture_output=True)
        git(refusing, "config", "uploadpack.allowFilter", "false")
        print(f"remote: {args.commits + 1} commits, .git/objects {held(bare) / 1e6:.1f} MB")
        cases = [
            ("plain full clone (vbot before)", url, None),
            ("vbot default (depth 1, blob:none, sparse)", url, CloneOptions()),
            ("vbot, server refuses filters (depth 1, sparse)", refusing.as_uri(),
             CloneOptions()),
            ("vbot depth 0 (blob:none, sparse)", url, CloneOptions(depth=0)),
        ]
        rows = []
        for label, remote, options in cases:
            work = tmp / f"work-{len(rows)}"
            if options is None:
                first = timed(lambda r=remote, w=work: plain_clone(r, w))
            else:
                first = timed(lambda r=remote, w=work, o=options: vbot_open(r, w, o))
            size = held(work / ".git")
            rows.append([label, first, size, 0.0, 0])
        # the remote moves on: another bot pushes --update commits of pr_info
        for bare_repo in (bare, refusing):
            add_history(bare_repo, args.update, args.size, seed=1)
        for row, (_label, remote, options) in zip(rows, cases, strict=True):
            work = tmp / f"work-{rows.index(row)}"
            before = held(work / ".git")
            if options is None:
                row[3] = timed(lambda w=work: plain_update(w))
            else:
                row[3] = timed(lambda r=remote, w=work, o=options: vbot_open(r, w, o))
            row[4] = held(work / ".git") - before
        print(f"{'':50} {'clone s':>8} {'held MB':>8} {'update s':>9} {'+MB':>7}")
        for label, first, size, update, grown in rows:
            print(f"{label:50} {first:8.2f} {size / 1e6:8.3f} {update:9.2f} {grown / 1e6:7.3f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
