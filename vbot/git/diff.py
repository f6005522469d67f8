"""What changed between two commits of the workspace, and files as a commit holds them.

Incremental sweeps and merges (``vbot/run/incremental.py``, ``vbot merge``) compare the commit
their cursor names (``base``) with HEAD. A workspace is usually a shallow clone holding one
commit: :func:`ensure_commit` fetches the base commit alone (``--depth=1``; in a partial clone
its trees only), which is all ``git diff --name-only`` needs. Every function answers None or
False instead of raising when git cannot say: the caller then does the full work.
"""

from __future__ import annotations

import re
from pathlib import Path

import git

from vbot.errors import VbotError
from vbot.git.env import open_repo, run_git
from vbot.git.shallow import is_shallow

MAX_DEPTH = 512  # commits looked back for a cursor's base before giving up (full work)
_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


def has_commit(path: Path, sha: str) -> bool:
    """True when the clone at ``path`` holds the commit ``sha`` (a full hex object id)."""
    if not _SHA.match(sha):
        return False
    try:
        run_git(path, "cat-file", "-e", f"{sha}^{{commit}}")
    except VbotError:
        return False
    return True


def ensure_commit(path: Path, sha: str) -> bool:
    """Make the commit ``sha`` available in the clone at ``path``, fetching it from origin
    when it is missing (``--depth=1`` in a shallow clone, so history does not come with it);
    False when it cannot be had (an unknown or unreachable commit, a server that refuses)."""
    if not _SHA.match(sha):
        return False
    if has_commit(path, sha):
        return True
    try:
        repo = open_repo(path)
        args = ["--quiet", "--no-tags"]
        if is_shallow(path):
            args.append("--depth=1")
        repo.git.fetch(*args, "origin", sha)
    except (git.GitCommandError, VbotError, OSError):
        return False
    return has_commit(path, sha)


def changed_paths(path: Path, base: str, head: str = "HEAD",
                  exclude: tuple[str, ...] = (), only: tuple[str, ...] = ()) -> list[str] | None:
    """Repo-relative paths that differ between the commits ``base`` and ``head`` (added,
    changed, deleted; renames count as both sides), or None when git cannot say. ``only``:
    folders or files to look at (default: everything); ``exclude``: folders to leave out."""
    specs = [f":(literal){p}" for p in only] or ["."]
    specs += [f":(exclude,literal){p}" for p in exclude]
    try:
        out = run_git(path, "-c", "core.quotePath=false", "diff", "--name-only", "--no-renames",
                      "--no-ext-diff", "-z", base, head, "--", *specs)
    except VbotError:
        return None
    return [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]


def blob_at(path: Path, rev: str, rel: str) -> bytes | None:
    """The bytes of the regular file ``rel`` as the commit ``rev`` holds it; None when it
    holds none there (absent, a symlink, a folder) or git cannot read it."""
    try:
        out = run_git(path, "ls-tree", "-z", rev, "--", f":(literal){rel}")
    except VbotError:
        return None
    meta, _, name = out.decode("utf-8", "surrogateescape").rstrip("\0").partition("\t")
    parts = meta.split()
    if name != rel or len(parts) != 3 or parts[0] not in ("100644", "100755") \
            or parts[1] != "blob":
        return None
    try:
        return run_git(path, "cat-file", "blob", parts[2])
    except VbotError:
        return None


def head_tree(path: Path) -> str:
    """The root tree id of HEAD: what a cursor names as its base (equal trees, equal base,
    so two repos with the same content and results hold the same cursor)."""
    return run_git(path, "rev-parse", "--verify", "HEAD^{tree}").decode().strip()


def _commits_by_tree(path: Path, limit: int) -> tuple[dict[str, str], int]:
    out = run_git(path, "log", f"-n{limit}", "--format=%T %H", "HEAD").decode()
    found: dict[str, str] = {}
    count = 0
    for line in out.splitlines():
        tree, _, commit = line.partition(" ")
        found.setdefault(tree, commit)
        count += 1
    return found, count


def commit_with_tree(path: Path, branch: str, tree: str, max_depth: int = MAX_DEPTH
                     ) -> str | None:
    """The newest commit of HEAD's history whose root tree is ``tree``; a shallow clone
    fetches older commits (``--depth`` 8, 32, ... up to ``max_depth``; trees only in a partial
    clone) until it holds one. None when none of the last ``max_depth`` commits has it."""
    if not _SHA.match(tree):
        return None
    try:
        held, count = _commits_by_tree(path, max_depth)
        while tree not in held:
            if count >= max_depth or not is_shallow(path):
                return None
            depth = min(max_depth, max(8, count * 4))
            open_repo(path).git.fetch("--quiet", "--no-tags", f"--depth={depth}", "origin",
                                      branch)
            held, now = _commits_by_tree(path, max_depth)
            if now <= count:
                return None
            count = now
    except (git.GitCommandError, VbotError, OSError):
        return None
    return held[tree]
