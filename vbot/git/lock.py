"""The workspace lock (one vbot per clone) and the clean-up of locks a killed git left."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from vbot.errors import VbotError


@contextlib.contextmanager
def locked(path: Path, guards: Path | None = None) -> Iterator[None]:
    """Hold an advisory lock on the file ``path`` (created, and removed again on release);
    VbotError naming ``guards`` (the folder the lock is for) and the lock file when another
    process holds it, or when the lock file cannot be made.

    The file is removed while still locked. A process that opened it just before that would
    then lock a file no longer in the folder, so after locking, the file at ``path`` must be
    the one locked; else it is opened again.
    """
    what = guards or path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VbotError(f"{path.parent}: cannot make the folder for {what}: "
                        f"{exc.strerror or exc}") from None
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise VbotError(f"{path}: cannot create the lock file for {what}: "
                            f"{exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise VbotError(f"another vbot is working in {what} (it holds {path})") from None
        try:
            current = os.stat(path).st_ino
        except FileNotFoundError:
            current = None
        if current == os.fstat(fd).st_ino:
            break
        os.close(fd)  # the holder removed it after we opened it: take the new one
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def remove_stale_locks(gitdir: Path) -> None:
    """Lock files left by a killed git (we hold the workspace lock: no git is running here)."""
    candidates = [*gitdir.glob("*.lock"), *(gitdir / "refs").rglob("*.lock")]
    for lock in candidates:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()
