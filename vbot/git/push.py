"""Fetch, rebase and push with retry: how a workspace's commit reaches the remote.

Never forces: when another writer pushed first, the remote branch is fetched and the unpushed
commit rebased on top (our newer results win for the files we wrote), then pushed again.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import git

from vbot.errors import PushError
from vbot.git.env import clean_error, secrets
from vbot.redact import redact

if TYPE_CHECKING:
    from vbot.git.workspace import Workspace

# git's words for "the remote branch moved under us" (another writer pushed first); anything
# else (unreachable, authentication, hook refusal) is not worth a retry
_MOVED = ("fetch first", "non-fast-forward", "failed to update ref", "cannot lock ref",
          "incorrect old value", "stale info")


def moved(message: str) -> bool:
    """True when a push failed only because the remote branch moved."""
    return any(words in message for words in _MOVED)


def reason(exc: git.GitCommandError) -> str:
    """The lines of a failed push that say why, joined by "; ": the remote's first
    ``error:`` line (the rest of its text is advice), ``! [rejected]`` lines and git's own
    ``error:``/``fatal:`` lines; "" when there are none."""
    kept: list[str] = []
    remote_said = False
    text = str(exc.stderr or "").strip()
    if text.startswith("stderr: '") and text.endswith("'"):  # GitPython's wrapping
        text = text[len("stderr: '"):-1]
    for raw in text.splitlines():
        line = raw.strip()
        from_remote = line.startswith("remote:")
        line = re.sub(r"^remote:\s*", "", line)
        if not re.match(r"^(error|fatal):|^! \[", line) or (from_remote and remote_said):
            continue
        remote_said |= from_remote
        line = re.sub(r"^(error|fatal):\s*", "", line)
        if line and line not in kept:
            kept.append(line)
    return redact("; ".join(kept), secrets())[:500]


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
                    f"push failed (the commit is kept in {ws.path}): {reason(exc) or message}"
                ) from None
        time.sleep(random.uniform(0, backoff * 2**attempt))
        ws.fetch()
        ws.rebase(f"origin/{ws.branch}")
        if not ws.unpushed():
            return False
        if rebased is not None:
            rebased()
    return False  # pragma: no cover - the last attempt returns or raises
