"""Node names become file names: what is safe, and where a node's documents live."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from pathlib import Path

from vbot.errors import VbotError

MAX_NAME_BYTES = 200
SHARD_DEPTH = 5
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def unsafe_reason(name: object) -> str | None:
    """Why ``name`` cannot be used as a file name, or None when it is safe."""
    if not isinstance(name, str):
        return f"node id is a {type(name).__name__}, not a string"
    if not name:
        return "empty node name"
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:  # lone surrogates (from "\ud800" in JSON) make no file name
        return "node name is not valid Unicode text"
    if size > MAX_NAME_BYTES:
        return f"node name longer than {MAX_NAME_BYTES} bytes"
    if name.startswith("."):
        return "node name starts with a dot"
    if "/" in name or "\\" in name:
        return "node name contains a path separator"
    if ".." in name:
        return "node name contains '..'"
    if _CONTROL.search(name):
        return "node name contains a control character"
    return None


def _shard_dirs(name: str) -> str:
    """``h0/h1/h2/h3/h4``: the hashmap folders of a node, from sha1("<name>.json")."""
    return "/".join(hashlib.sha1(f"{name}.json".encode()).hexdigest()[:SHARD_DEPTH])


def shard_parts(name: str) -> list[str]:
    """The hashmap folders of a node: the first five hex digits of sha1("<name>.json")."""
    return _shard_dirs(name).split("/")


def sharded_relpath(folder: str, name: str) -> str:
    """``<folder>/h0/h1/h2/h3/h4/<name>.json`` as a posix path."""
    return f"{folder}/{_shard_dirs(name)}/{name}.json"


def contained_str(root: str | os.PathLike[str], relpath: str) -> str:
    """:func:`contained` as a string."""
    base = os.path.realpath(os.fspath(root))
    prefix = base.rstrip("/") + "/"
    lexical = os.path.normpath(os.path.join(base, relpath))
    # every folder and the leaf are looked at now, on every call: a folder swapped for a
    # symlink between two calls is seen (nothing about the file system is remembered)
    target = os.path.realpath(lexical)
    if not target.startswith(prefix) or target == base:  # outside root, or root itself
        raise VbotError(f"refusing path outside the data repo: {relpath!r}")
    if target != lexical:
        raise VbotError(f"refusing path through a symbolic link in the data repo: {relpath!r}")
    return target


def contained(root: Path, relpath: str) -> Path:
    """``root / relpath``, refusing anything that would resolve outside ``root``.

    Symbolic links inside the data repo are refused too (wherever they point): a checked-out
    link could otherwise redirect a write to another file of the repo or outside it.
    """
    return Path(contained_str(root, relpath))


READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
"""Flags to open a file for reading without following a symlink at the leaf (nor blocking on
a FIFO)."""


def read_regular_fd(fd: int) -> bytes | None:
    """The bytes of the file open at ``fd`` when it is a regular file, else None; closes
    ``fd``. One ``fstat`` and the reads: what every "read this file, but only a plain file"
    of the data repo needs."""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)


def _open_below(root: str | os.PathLike[str], rel: str) -> int | None:
    """An fd for ``root/rel`` opened one folder at a time below ``root``, none of them nor
    the leaf followed when it is a symlink; None when the file is missing. Raises OSError for
    anything else (a symlink, a file where a folder should be): the caller then takes the
    checking path, which words the refusal. Looks at every folder on every call, like
    :func:`contained_str`, in a few system calls instead of a Python ``realpath``."""
    parts = rel.split("/")
    fd = os.open(root, _DIR_FLAGS)
    try:
        for part in parts[:-1]:
            below = os.open(part, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = below
        return os.open(parts[-1], READ_FLAGS, dir_fd=fd)
    except FileNotFoundError:
        return None
    finally:
        os.close(fd)


def read_contained(root: str | os.PathLike[str], relpath: str) -> bytes | None:
    """The bytes of the regular file ``root/relpath``, None when there is none.

    The same refusals as :func:`contained` (outside the root, through a symbolic link); the
    leaf is opened with ``O_NOFOLLOW`` and anything that is not a regular file reads as no
    file. Raises VbotError for a refused path or a file that cannot be read.
    """
    rel = os.path.normpath(relpath)
    fd: int | None = -1
    if not (os.path.isabs(rel) or rel in (".", "..") or rel.startswith("../")):
        try:
            fd = _open_below(root, rel)
        except OSError:
            fd = -1  # a symlink, not a folder, unreadable: the checking path below says which
        if fd is None:
            return None
    if fd == -1:
        path = contained_str(root, relpath)
        try:
            fd = os.open(path, READ_FLAGS)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                return None
            if exc.errno == errno.ELOOP:  # swapped for a symlink after the check
                raise VbotError(f"refusing path through a symbolic link in the data repo: "
                                f"{relpath!r}") from None
            raise VbotError(f"{relpath}: cannot read: {exc.strerror or exc}") from None
    try:
        return read_regular_fd(fd)
    except OSError as exc:
        raise VbotError(f"{relpath}: cannot read: {exc.strerror or exc}") from None
