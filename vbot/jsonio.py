"""Deterministic JSON files: sorted keys, 2-space indent, atomic writes, no churn."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from vbot.errors import VbotError


def dumps(obj: Any) -> str:
    """The one canonical text of a JSON document in a data repo."""
    return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def loads(text: str | bytes, where: str) -> Any:
    """Parse JSON, turning a syntax error into a VbotError naming the file and position."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise VbotError(f"{where}: invalid JSON at line {exc.lineno} column {exc.colno}: "
                        f"{exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise VbotError(f"{where}: not UTF-8 text at byte {exc.start}") from None
    except RecursionError:
        raise VbotError(f"{where}: invalid JSON: nested too deeply") from None


def load(path: Path, where: str | None = None) -> Any:
    """Read and parse a JSON file; errors name ``where`` (default: the path)."""
    label = where or str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise VbotError(f"{label}: cannot read: {exc.strerror or exc}") from None
    return loads(data, label)


def atomic_write_text(path: Path, text: str, fsync: bool = True) -> None:
    """Write ``text`` to ``path`` via a temp file in the same folder and a rename.

    ``fsync=False`` for files that a git commit makes durable (versions files, merge results):
    the rename still makes the write atomic for readers, and a file torn by a power cut before
    the commit is an uncommitted change, which the next run discards.

    Plain ``os`` calls on purpose: ``tempfile.mkstemp`` + a text wrapper + ``Path.mkdir``
    cost five times the syscalls' own time per small file (benchmarks/RESULTS.md). The temp
    name is unique per process and thread, and ``O_EXCL`` never follows or reuses a file.
    """
    data = text.encode("utf-8")
    tmp = f"{path.parent}/.{path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(tmp, flags, 0o644)
    except FileNotFoundError:  # mkdir only when needed: it is a syscall per file otherwise
        os.makedirs(path.parent, exist_ok=True)
        fd = os.open(tmp, flags, 0o644)
    except FileExistsError:  # left by a killed run of a process with the same pid and thread
        os.unlink(tmp)
        fd = os.open(tmp, flags, 0o644)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


_MISSING = object()


def read_if_valid(path: Path) -> Any:
    """Parsed content of ``path``, or a sentinel when it is missing or unparseable."""
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return _MISSING


def write_if_changed(path: Path, obj: Any, fsync: bool = True) -> bool:
    """Write ``obj`` canonically unless the file already parses to the same value.

    Returns True when the file was (re)written.
    """
    if read_if_valid(path) == obj:
        return False
    atomic_write_text(path, dumps(obj), fsync=fsync)
    return True
