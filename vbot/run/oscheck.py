"""Paths checked before any work: a folder or file vbot will write must be writable.

A workdir under ``/sys``, a cache under ``/proc``, a report next to a file instead of in a
folder: each would fail only after the clone, the checks or even the push, as a traceback.
These checks run first (``vbot/main.py``) and turn each into one line and exit 1. They
create nothing: the nearest existing folder of the path must be a folder where a file can
be created (probed with a temporary file, as permissions alone do not tell for root or on
read-only or pseudo file systems); folders that do not exist yet are created later by the
command itself.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from vbot.errors import VbotError


def describe(exc: OSError) -> str:
    """An OS error as a short text: ``Permission denied`` (no errno, no traceback)."""
    return exc.strerror or str(exc) or type(exc).__name__


def _nearest(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists (as anything)."""
    probe = path
    while not os.path.lexists(probe) and probe != probe.parent:
        probe = probe.parent
    return probe


def _can_create_in(folder: Path) -> str | None:
    """None when a file can be created in ``folder``; else why not."""
    try:
        fd, name = tempfile.mkstemp(prefix=".vbot-probe-", dir=folder)
    except OSError as exc:
        return describe(exc)
    os.close(fd)
    try:
        os.unlink(name)
    except OSError as exc:  # pragma: no cover - created but not removable
        return describe(exc)
    return None


def writable_dir(path: Path, what: str) -> None:
    """VbotError unless ``path`` is a folder vbot can write in, or can be created as one."""
    path = Path(os.path.abspath(path.expanduser()))
    nearest = _nearest(path)
    if nearest.exists() and not nearest.is_dir():
        where = "" if nearest == path else f" ({nearest} is a file)"
        raise VbotError(f"{what} {path}: not a folder{where}")
    if not nearest.exists():  # a dangling symlink
        raise VbotError(f"{what} {path}: {nearest} is a broken symbolic link")
    why = _can_create_in(nearest)
    if why:
        action = "cannot write in it" if nearest == path else f"cannot create it in {nearest}"
        raise VbotError(f"{what} {path}: {action}: {why}")


def writable_file(path: Path, what: str) -> None:
    """VbotError unless vbot can create or replace the file ``path`` (its folder may be
    created)."""
    path = Path(os.path.abspath(path.expanduser()))
    if path.is_dir():
        raise VbotError(f"{what} {path}: is a folder, not a file")
    writable_dir(path.parent, f"{what} {path}: folder")
