"""The workspace lock (one vbot per clone) and the clean-up of locks a killed git left."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from vbot.errors import VbotError


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an advisory lock on ``path`` (created); VbotError when another process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise VbotError(f"another vbot is working in {path.with_suffix('')}") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def remove_stale_locks(gitdir: Path) -> None:
    """Lock files left by a killed git (we hold the workspace lock: no git is running here)."""
    candidates = [*gitdir.glob("*.lock"), *(gitdir / "refs").rglob("*.lock")]
    for lock in candidates:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()
