"""Bare data repos made from a folder, for ``vbot demo``, the tests and the benchmarks."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import git

from vbot.errors import VbotError
from vbot.git.env import IDENTITY


def create_remote(tree: Path, bare: Path, message: str = "Import data repo") -> str:
    """Make a bare repo at ``bare`` whose one commit holds the files of ``tree``.

    Used by ``vbot demo``, the tests and the benchmarks; it serves partial clones
    (``uploadpack.allowFilter``). Returns the ``file://`` URL.
    """
    if bare.exists():
        raise VbotError(f"{bare} already exists")
    scratch = bare.parent / f".{bare.name}.import"
    repo = git.Repo.init(scratch, initial_branch="main")
    try:
        with repo.config_writer() as cw:
            cw.set_value("user", "name", IDENTITY[0])
            cw.set_value("user", "email", IDENTITY[1])
        shutil.copytree(tree, scratch, dirs_exist_ok=True, symlinks=True)
        repo.git.add("-A")
        repo.git.commit("-q", "-m", message)
        served = git.Repo.clone_from(scratch, bare, bare=True)
        with served.config_writer() as cw:  # partial clones, as the big forges allow them
            cw.set_value("uploadpack", "allowFilter", "true")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return bare.resolve().as_uri()


def recent_commits(repo_path: Path | str, count: int = 2) -> str:
    """``git log --stat`` text of the last ``count`` commits of a (bare) repo."""
    repo = git.Repo(repo_path)
    return repo.git.log(f"-{count}", "--stat=100", "--format=commit %h  %ad%n    %s%n%n%b",
                        "--date=iso")


def add_history(bare: Path, commits: int, size: int = 16384, path: str = "pr_info/bot.json",
                branch: str = "main", seed: int = 0) -> str:
    """Grow ``bare``'s ``branch`` by ``commits`` commits that each rewrite ``path`` with
    ``size`` bytes of fresh (hardly compressible, deterministic) text: the long history of
    big blobs a real graph repo has outside vbot's folders. One ``git fast-import`` stream,
    fixed dates, so equal arguments give equal commits. Returns the new tip."""
    rng = random.Random(seed)
    parent = git.Repo(bare).commit(branch).hexsha
    out = bytearray()
    for i in range(commits):
        data = rng.randbytes(size // 2).hex().encode()
        out += (f"commit refs/heads/{branch}\ncommitter other bot <bot@example.invalid> "
                f"{1700000000 + i} +0000\ndata 13\nbot: pr_info\n").encode()
        if i == 0:
            out += f"from {parent}\n".encode()
        out += f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n"
    out += b"done\n"
    subprocess.run(["git", "fast-import", "--quiet", "--done"], cwd=bare, input=bytes(out),
                   check=True, capture_output=True)
    return git.Repo(bare).commit(branch).hexsha
