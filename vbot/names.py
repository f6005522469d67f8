"""Node names become file names: what is safe, and where a node's documents live."""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

from vbot.errors import VbotError

MAX_NAME_BYTES = 200
SHARD_DEPTH = 5


def unsafe_reason(name: object) -> str | None:
    """Why ``name`` cannot be used as a file name, or None when it is safe."""
    if not isinstance(name, str):
        return f"node id is a {type(name).__name__}, not a string"
    if not name:
        return "empty node name"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates (from "\ud800" in JSON) make no file name
        return "node name is not valid Unicode text"
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        return f"node name longer than {MAX_NAME_BYTES} bytes"
    if name.startswith("."):
        return "node name starts with a dot"
    if "/" in name or "\\" in name:
        return "node name contains a path separator"
    if ".." in name:
        return "node name contains '..'"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "node name contains a control character"
    return None


def shard_parts(name: str) -> list[str]:
    """The hashmap folders of a node: the first five hex digits of sha1("<name>.json")."""
    digest = hashlib.sha1(f"{name}.json".encode()).hexdigest()
    return list(digest[:SHARD_DEPTH])


def sharded_relpath(folder: str, name: str) -> str:
    """``<folder>/h0/h1/h2/h3/h4/<name>.json`` as a posix path."""
    return "/".join([folder, *shard_parts(name), f"{name}.json"])


@functools.lru_cache(maxsize=1 << 16)
def _real_dir(path: str) -> str:
    """``os.path.realpath`` of a folder, one ``lstat`` per new folder thanks to the cache.

    Folders vbot creates are never symlinks, so a cached answer stays right for a run.
    """
    parent, base = os.path.split(path)
    if not base or parent == path:
        return os.path.realpath(path)
    joined = os.path.join(_real_dir(parent), base)
    return os.path.realpath(joined) if os.path.islink(joined) else joined


def contained(root: Path, relpath: str) -> Path:
    """``root / relpath``, refusing anything that would resolve outside ``root``.

    Symbolic links inside the data repo are refused too (wherever they point): a checked-out
    link could otherwise redirect a write to another file of the repo or outside it.
    Folders are resolved once per run (``_real_dir``): one ``lstat`` per new folder.
    """
    base = _real_dir(os.path.abspath(root))
    lexical = os.path.normpath(os.path.join(base, relpath))
    folder, leaf = os.path.split(lexical)
    joined = os.path.join(_real_dir(folder), leaf)
    target = os.path.realpath(joined) if os.path.islink(joined) else joined
    if os.path.commonpath([base, target]) != base or target == base:
        raise VbotError(f"refusing path outside the data repo: {relpath!r}")
    if target != lexical:
        raise VbotError(f"refusing path through a symbolic link in the data repo: {relpath!r}")
    return Path(target)
