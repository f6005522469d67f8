"""What changed between two commits of the workspace, and files as a commit holds them.

Incremental sweeps and merges (``vbot/run/incremental.py``, ``vbot merge``) compare the tree
their cursor names (``base``: a root tree id, so equal contents give equal cursors) with HEAD.
A workspace is usually a shallow clone holding one commit: :func:`tree_at` fetches the base
tree by its id (trees only in a partial clone: all ``git diff --name-only`` needs), and
:func:`commit_with_tree` and :func:`last_trailer` fetch older commits step by step
(``--depth`` 8, 32...) until they hold what they look for, up to :data:`MAX_DEPTH` commits.
Every function answers None instead of raising when git cannot say: the caller then does the
full work.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import git

from vbot.errors import VbotError
from vbot.git.env import open_repo, run_git
from vbot.git.shallow import is_shallow

MAX_DEPTH = 64  # commits looked back for a cursor's base before giving up (full work)
T = TypeVar("T")
_SHARD_CURSOR = re.compile(r"^\.vbot/sweep-cursor-(\d{1,6})-of-(\d{1,6})\.json$")
_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


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


def ls_tree(path: Path | str, rev: str, pathspecs: tuple[str, ...] = (),
            recursive: bool = True) -> dict[str, tuple[str, str, str]]:
    """``{path: (mode, type, id)}`` of the entries of ``rev``'s tree under the (literal)
    ``pathspecs``, every file at any depth (``recursive``) or the entries at their level,
    from one ``git ls-tree``; VbotError when git cannot list them."""
    out = run_git(path, "ls-tree", "-z", "--full-tree", *(["-r"] if recursive else []), rev,
                  "--", *[f":(literal){p}" for p in pathspecs])
    found = {}
    for record in out.decode("utf-8", "surrogateescape").split("\0"):
        meta, _, rel = record.partition("\t")
        parts = meta.split()
        if len(parts) == 3:
            found[rel] = (parts[0], parts[1], parts[2])
    return found


def blob_at(path: Path, rev: str, rel: str) -> bytes | None:
    """The bytes of the regular file ``rel`` as the commit ``rev`` holds it; None when it
    holds none there (absent, a symlink, a folder) or git cannot read it."""
    try:
        mode, kind, sha = ls_tree(path, rev, (rel,), recursive=False).get(rel, ("", "", ""))
        if mode not in ("100644", "100755") or kind != "blob":
            return None
        return run_git(path, "cat-file", "blob", sha)
    except VbotError:
        return None


def head_tree(path: Path) -> str:
    """The root tree id of HEAD: what a cursor names as its base (equal trees, equal base,
    so two repos with the same content and results hold the same cursor)."""
    return run_git(path, "rev-parse", "--verify", "HEAD^{tree}").decode().strip()


def _log(path: Path, limit: int, fmt: str) -> list[str]:
    out = run_git(path, "log", f"-n{limit}", f"--format={fmt}%x00", "HEAD")
    return [entry.strip("\n") for entry in out.decode("utf-8", "replace").split("\0")[:-1]]


def _search(path: Path, branch: str, fmt: str, pick: Callable[[list[str]], T | None],
            max_depth: int) -> T | None:
    """``pick(log entries, newest first)`` over HEAD's history; a shallow clone fetches older
    commits (``--depth`` 8, 32, ... up to ``max_depth``; trees only in a partial clone) until
    ``pick`` finds something. None when it does not within ``max_depth`` commits."""
    try:
        entries = _log(path, max_depth, fmt)
        while (found := pick(entries)) is None:
            if len(entries) >= max_depth or not is_shallow(path):
                return None
            depth = min(max_depth, max(8, len(entries) * 4))
            open_repo(path).git.fetch("--quiet", "--no-tags", f"--depth={depth}", "origin",
                                      branch)
            now = _log(path, max_depth, fmt)
            if len(now) <= len(entries):
                return None
            entries = now
    except (git.GitCommandError, VbotError, OSError):
        return None
    return found


def has_object(path: Path, sha: str, kind: str = "tree") -> bool:
    """True when the clone at ``path`` holds the object ``sha`` of type ``kind``."""
    if not _SHA.match(sha):
        return False
    try:
        return run_git(path, "cat-file", "-t", sha).decode().strip() == kind
    except VbotError:
        return False


def tree_at(path: Path, branch: str, tree: str, max_depth: int = MAX_DEPTH) -> str | None:
    """A tree-ish of the clone at ``path`` whose root tree is ``tree``, for ``git diff``:
    the tree itself when the clone holds it or origin hands it out by id (one fetch; a
    partial clone gets its trees only), else a commit of the branch's history that has it
    (:func:`commit_with_tree`, fetching older history). None when neither is to be had."""
    if not _SHA.match(tree):
        return None
    if has_object(path, tree):
        return tree
    with contextlib.suppress(git.GitCommandError, VbotError, OSError):
        open_repo(path).git.fetch("--quiet", "--no-tags", "--no-write-fetch-head", "origin",
                                  tree)
    if has_object(path, tree):
        return tree
    return commit_with_tree(path, branch, tree, max_depth)


def commit_with_tree(path: Path, branch: str, tree: str, max_depth: int = MAX_DEPTH
                     ) -> str | None:
    """The newest commit of HEAD's history whose root tree is ``tree`` (fetching older
    history of a shallow clone as needed, see :func:`_search`); None when none of the last
    ``max_depth`` commits has it."""
    if not _SHA.match(tree):
        return None

    def pick(entries: list[str]) -> str | None:
        return next((e.split()[1] for e in entries if e.split()[:1] == [tree]), None)

    return _search(path, branch, "%T %H", pick, max_depth)


def last_trailer(path: Path, branch: str, key: str, max_depth: int = MAX_DEPTH
                 ) -> tuple[str, str] | None:
    """(commit, value) of the ``key:`` trailer of the newest commit of HEAD's history that
    has one (fetching older history of a shallow clone as needed); None when none has."""

    def pick(entries: list[str]) -> tuple[str, str] | None:
        for entry in entries:
            commit, _, value = entry.partition(" ")
            if value.strip():
                return commit, value.strip().splitlines()[0].strip()
        return None

    return _search(path, branch, f"%H %(trailers:key={key},valueonly)", pick, max_depth)


def parent_tree(path: Path, branch: str, commit: str) -> str | None:
    """The root tree of ``commit``'s first parent; a shallow clone whose history stops at
    ``commit`` fetches one commit more. None when it has none or git cannot say."""
    for attempt in range(2):
        try:
            return run_git(path, "rev-parse", "--verify", "--quiet",
                           f"{commit}^^{{tree}}").decode().strip() or None
        except VbotError:
            if attempt or not is_shallow(path):
                return None
        try:
            open_repo(path).git.fetch("--quiet", "--no-tags", "--deepen=1", "origin", branch)
        except (git.GitCommandError, VbotError, OSError):
            return None
    return None


def tree_files(path: Path, rev: str, folder: str) -> dict[str, tuple[str, str]] | None:
    """``{path: (mode, blob id)}`` of every file under ``folder`` in ``rev`` (one ``git
    ls-tree``); None when git cannot say."""
    try:
        entries = ls_tree(path, rev, (folder,))
    except VbotError:
        return None
    return {rel: (mode, sha) for rel, (mode, kind, sha) in entries.items() if kind == "blob"}


def current_branch(path: Path) -> str:
    """The branch checked out at ``path`` (``HEAD`` when detached)."""
    try:
        return run_git(path, "rev-parse", "--abbrev-ref", "HEAD").decode().strip() or "HEAD"
    except VbotError:
        return "HEAD"


def shard_cursors(path: Path) -> list[tuple[int, int]]:
    """The ``(I, N)`` of every ``.vbot/sweep-cursor-I-of-N.json`` HEAD holds."""
    try:
        out = run_git(path, "ls-tree", "--name-only", "HEAD", "--", ".vbot/")
    except VbotError:
        return []
    found = []
    for line in out.decode("utf-8", "replace").splitlines():
        match = _SHARD_CURSOR.match(line)
        if match and int(match.group(1)) < int(match.group(2)):
            found.append((int(match.group(1)), int(match.group(2))))
    return found
