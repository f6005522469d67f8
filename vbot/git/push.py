"""Fetch, rebase and push with retry: how a workspace's commit reaches the remote.

Never forces: when another writer pushed first, the remote branch is fetched and the unpushed
commit rebased on top (our newer results win for the files we wrote), then pushed again.
"""

from __future__ import annotations

import contextlib
import random
import time
from typing import TYPE_CHECKING

import git

from vbot.errors import PushError
from vbot.git import shallow
from vbot.git.env import clean_error

if TYPE_CHECKING:
    from vbot.git.workspace import Workspace

# git's words for "the remote branch moved under us" (another writer pushed first); anything
# else (unreachable, authentication, hook refusal) is not worth a retry
_MOVED = ("fetch first", "non-fast-forward", "failed to update ref", "cannot lock ref",
          "incorrect old value", "stale info")


def moved(message: str) -> bool:
    """True when a push failed only because the remote branch moved."""
    return any(words in message for words in _MOVED)


def fetch(ws: Workspace) -> None:
    """Fetch the workspace's branch from origin down to the commits the workspace holds
    (what a rebase needs, also in a shallow clone); PushError when that fails."""
    shallow.fetch(ws.repo, ws.branch, None)


def sync(ws: Workspace) -> None:
    """Fetch and move onto the remote branch, keeping (rebasing) unpushed commits.

    With nothing unpushed a shallow workspace fetches only ``depth`` commits of the branch
    (however far the remote moved) and resets onto it; with unpushed commits, the new remote
    commits down to the ones held, and the unpushed commits are rebased on top. Unpushed is
    decided before fetching: a ``--depth`` fetch cuts the new tip's history, so afterwards
    the old tip no longer looks like part of it.
    """
    try:
        ahead = unpushed(ws)
    except git.GitCommandError:  # no remote-tracking branch yet
        ahead = 0
    shallow.fetch(ws.repo, ws.branch, None if ahead else ws.options.depth)
    upstream = f"origin/{ws.branch}"
    if ahead:
        rebase(ws, upstream)
    elif ws.repo.head.commit.hexsha != ws.repo.commit(upstream).hexsha:
        ws.repo.git.reset("--hard", upstream)
    # else HEAD is the remote branch already; the caller's reset made the tree match it


def rebase(ws: Workspace, upstream: str) -> None:
    """Rebase the unpushed commits onto ``upstream``; PushError (rebase undone) on failure."""
    try:
        # on conflict our (newer) results win for the files we wrote
        ws.repo.git.rebase("-X", "theirs", upstream)
    except git.GitCommandError as exc:
        with contextlib.suppress(git.GitCommandError):
            ws.repo.git.rebase("--abort")
        raise PushError(f"cannot rebase onto the remote: {clean_error(exc)}") from None


def push(ws: Workspace, attempts: int = 5, backoff: float = 0.5) -> None:
    """Push HEAD; when the remote moved, fetch, rebase and try again. Never forces."""
    for attempt in range(attempts):
        try:
            ws.repo.git.push("origin", f"HEAD:refs/heads/{ws.branch}")
            return
        except git.GitCommandError as exc:
            message = clean_error(exc)
            if not moved(message) or attempt == attempts - 1:
                raise PushError(
                    f"push failed (the commit is kept in {ws.path}): {message}"
                ) from None
        time.sleep(random.uniform(0, backoff * 2**attempt))
        fetch(ws)
        rebase(ws, f"origin/{ws.branch}")


def unpushed(ws: Workspace) -> int:
    """How many commits of HEAD the remote branch does not have."""
    return int(ws.repo.git.rev_list("--count", f"origin/{ws.branch}..HEAD"))
