"""Fetch, rebase and push with retry: how a workspace's commit reaches the remote.

Never forces: when another writer pushed first, the remote branch is fetched and the unpushed
commit rebased on top (our newer results win for the files we wrote), then pushed again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import git

from vbot.errors import PushError
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


def push(ws: Workspace, attempts: int = 5, backoff: float = 0.5,
         rebased: Callable[[], None] | None = None) -> bool:
    """Push HEAD; when the remote moved, fetch, rebase and try again. Never forces.

    Returns False when nothing was left to push: the rebase dropped every unpushed commit
    (each one's changes were already on the remote, pushed by another writer). ``rebased``
    is called after each rebase that left something to push (e.g. to reword the commit
    from its rebased diff); HEAD is then the commit that will be pushed."""
    for attempt in range(attempts):
        try:
            ws.repo.git.push("origin", f"HEAD:refs/heads/{ws.branch}")
            return True
        except git.GitCommandError as exc:
            message = clean_error(exc)
            if not moved(message) or attempt == attempts - 1:
                raise PushError(
                    f"push failed (the commit is kept in {ws.path}): {message}"
                ) from None
        time.sleep(random.uniform(0, backoff * 2**attempt))
        ws.fetch()
        ws.rebase(f"origin/{ws.branch}")
        if not ws.unpushed():
            return False
        if rebased is not None:
            rebased()
    return False  # pragma: no cover - the last attempt returns or raises
