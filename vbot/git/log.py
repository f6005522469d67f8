"""Readers of history and objects (log, blobs, trees, the index), for the maintainer commands.

Plain ``git`` subprocesses: one call each, output parsed in Python. They work on a maintainer's
own clone and on bare repos alike.
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vbot.errors import VbotError
from vbot.git.diff import ls_tree
from vbot.git.env import run_git

ZERO_SHA = "0" * 40
_RUN_TRAILER = re.compile(r"^Vbot-Run:\s*(\S+)\s*$", re.M)
_REVERTS_TRAILER = re.compile(r"^Vbot-Reverts:\s*(\S+)\s*$", re.M)


def run_id_of(message: str) -> str | None:
    """The ``Vbot-Run:`` trailer of a commit message (the last one), or None."""
    found = _RUN_TRAILER.findall(message)
    return found[-1] if found else None


def reverted_runs(message: str) -> list[str]:
    """Run ids named by ``Vbot-Reverts:`` trailers (written by ``vbot revert``)."""
    return _REVERTS_TRAILER.findall(message)


@dataclass(frozen=True)
class FileChange:
    path: str
    old_blob: str | None  # None: the file did not exist before the commit
    new_blob: str | None  # None: the commit deleted the file


@dataclass(frozen=True)
class LogEntry:
    sha: str
    date: str  # committer date, strict ISO 8601
    message: str
    changes: tuple[FileChange, ...] = ()

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0]

    @property
    def run_id(self) -> str | None:
        return run_id_of(self.message)


def log(repo_dir: Path | str, paths: list[str] | None = None, rev: str = "HEAD") -> list[LogEntry]:
    """Commits reachable from ``rev``, newest first, in ONE ``git log`` call.

    With ``paths`` only the commits touching them, each with its blob changes (``--raw``) to
    those paths, so callers read old and new contents with one :func:`read_blobs` call.
    """
    args = ["log", "-z", "--no-renames", "--no-abbrev", "--format=%x1e%H%x1f%cI%x1f%B%x1f"]
    if paths is not None:
        args += ["--raw", rev, "--", *paths]
    else:
        args.append(rev)
    out = run_git(repo_dir, *args).decode("utf-8", "surrogateescape")
    entries = []
    for chunk in out.split("\x1e")[1:]:
        sha, date, message, rest = chunk.split("\x1f", 3)
        fields = rest.lstrip("\0\n").split("\0")
        changes = []
        for meta, path in zip(fields[0::2], fields[1::2], strict=False):
            parts = meta.lstrip(":").split()
            if len(parts) < 4:
                continue
            old, new = parts[2], parts[3]
            changes.append(FileChange(path, None if old == ZERO_SHA else old,
                                      None if new == ZERO_SHA else new))
        entries.append(LogEntry(sha, date, message.rstrip("\n") + "\n", tuple(changes)))
    return entries


def iter_blobs(repo_dir: Path | str, specs: list[str]) -> Iterator[tuple[str, bytes | None]]:
    """``(spec, content)`` for objects (``<blob sha>``, ``<rev>:<path>``), in order, from ONE
    ``git cat-file --batch`` process; None for missing ones. Streams: only one object is held
    at a time, so many large blobs (graph.json versions) do not fill the memory."""
    wanted = list(dict.fromkeys(specs))
    if not wanted:
        return
    if any("\n" in s for s in wanted):
        raise VbotError("object names must not contain newlines")
    try:
        proc = subprocess.Popen(["git", "cat-file", "--batch"], cwd=repo_dir,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
    except OSError as exc:
        raise VbotError(f"cannot run git: {exc}") from None
    assert proc.stdin is not None and proc.stdout is not None

    def feed() -> None:
        try:
            for spec in wanted:
                proc.stdin.write(f"{spec}\n".encode("utf-8", "surrogateescape"))
            proc.stdin.close()
        except (BrokenPipeError, ValueError):
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        for spec in wanted:
            header = proc.stdout.readline().split()
            if not header:
                raise VbotError(f"git cat-file stopped early in {repo_dir}")
            if len(header) != 3 or header[1] == b"missing":
                yield spec, None
                continue
            data = proc.stdout.read(int(header[2]))
            proc.stdout.read(1)
            yield spec, data if header[1] == b"blob" else None
    finally:
        proc.stdout.close()
        proc.kill()
        proc.wait()
        writer.join()


def read_blobs(repo_dir: Path | str, specs: list[str]) -> dict[str, bytes | None]:
    """Contents of objects (``<blob sha>`` or ``<rev>:<path>``) in ONE ``git cat-file --batch``
    call; None for missing ones."""
    return dict(iter_blobs(repo_dir, specs))


def staged_blobs(repo_dir: Path | str) -> dict[str, str]:
    """``{path: blob sha}`` of the files added, copied, modified or renamed in the index
    (what a commit would write), from one ``git diff --cached --raw`` call."""
    out = run_git(repo_dir, "diff", "--cached", "--raw", "-z", "--no-renames", "--no-abbrev",
               "--diff-filter=ACMRT").decode("utf-8", "surrogateescape")
    fields = out.split("\0")
    staged = {}
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        parts = meta.lstrip(":").split()
        if len(parts) >= 4 and path:
            staged[path] = parts[3]
    return staged


def tree_files(repo_dir: Path | str, rev: str = "HEAD") -> dict[str, str]:
    """``{path: blob sha}`` of the regular files in ``rev``'s tree (one ``git ls-tree``).

    Works in bare repos too; symlinks and submodules are left out.
    """
    return {path: sha for path, (mode, kind, sha) in ls_tree(repo_dir, rev).items()
            if kind == "blob" and mode in ("100644", "100755")}
