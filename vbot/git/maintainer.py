"""Helpers on a maintainer's own clone: where it is, its hooks, its origin; reverting runs."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import git

from vbot.errors import VbotError
from vbot.git.env import clean_error, run_git

if TYPE_CHECKING:
    from vbot.git.workspace import Workspace


def repo_toplevel(path: Path | str) -> Path:
    """The work tree root of the git clone containing ``path``."""
    if not Path(path).is_dir():
        raise VbotError(f"not a directory: {path}")
    try:
        out = run_git(path, "rev-parse", "--show-toplevel")
    except VbotError:
        raise VbotError(f"{path} is not inside a git clone of a data repo") from None
    return Path(out.decode().strip())


def is_git_dir(path: Path | str) -> bool:
    """True for a local clone or bare repository (something ``git log`` can read)."""
    try:
        return Path(path).is_dir() and bool(run_git(path, "rev-parse", "--git-dir").strip())
    except VbotError:
        return False


def hooks_dir(repo_dir: Path | str) -> Path:
    """The folder git runs hooks from (honours ``core.hooksPath``)."""
    out = run_git(repo_dir, "rev-parse", "--path-format=absolute", "--git-path", "hooks")
    return Path(out.decode().strip())


def origin_url(repo_dir: Path | str) -> str:
    """The ``origin`` remote URL of a clone."""
    try:
        return run_git(repo_dir, "remote", "get-url", "origin").decode().strip()
    except VbotError:
        raise VbotError(f"{repo_dir}: the clone has no 'origin' remote; give REPO") from None


def revert_commits(ws: Workspace, shas: list[str], message: str) -> str | None:
    """Revert ``shas`` (in that order) into ONE new commit with ``message``.

    Returns the new commit, or None when the reverts change nothing. A conflict (later
    commits changed the same lines) aborts and raises VbotError naming the files.
    """
    g = ws.repo.git
    for sha in shas:
        try:
            g.revert("--no-commit", "--no-edit", sha)
        except git.GitCommandError as exc:
            conflicted = g.diff("--name-only", "--diff-filter=U").split()
            with contextlib.suppress(git.GitCommandError):
                g.revert("--abort")
            g.reset("--hard", "HEAD")
            detail = (f"{len(conflicted)} file(s) changed again later, e.g. {conflicted[0]}"
                      if conflicted else clean_error(exc))
            raise VbotError(f"cannot revert {sha[:12]}: {detail}; revert the later runs too "
                            "(newest first) or resolve by hand with git revert") from None
    if not g.diff("--cached", "--name-only"):
        with contextlib.suppress(git.GitCommandError):
            g.revert("--quit")
        return None
    g.commit("-q", "-m", message)
    with contextlib.suppress(git.GitCommandError):
        g.revert("--quit")
    return ws.repo.head.commit.hexsha
