"""Fetch, rebase and push with retry: how a workspace's commit reaches the remote.

Never forces: when another writer pushed first, the remote branch is fetched and the unpushed
commit rebased on top (our newer results win for the files we wrote), then pushed again.
"""

from __future__ import annotations

import random
import time
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
        ws.fetch()
        ws.rebase(f"origin/{ws.branch}")
