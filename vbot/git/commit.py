"""One commit of the files vbot wrote, by ``git fast-import``, and the index brought in line.

Only the listed paths (or ``git status`` under the pathspecs) are compared with HEAD; a kill
before fast-import finishes leaves the branch where it was.
"""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from vbot.errors import VbotError
from vbot.git.diff import ls_tree
from vbot.git.env import IDENTITY, git_env, run_git, secrets
from vbot.redact import redact
from vbot.repo.jsonio import atomic_write_bytes
from vbot.repo.paths import READ_FLAGS, contained, read_regular_fd

if TYPE_CHECKING:
    from vbot.git.workspace import Workspace


def commit(ws: Workspace, pathspecs: list[str], message: str,
           paths: Iterable[str] | None = None,
           contents: Mapping[str, bytes] | None = None) -> str | None:
    """Commit every change under ``pathspecs``; None when nothing changed.

    ``paths``, when given, are the only files that may have changed (repo-relative posix
    paths the caller wrote or deleted; those outside ``pathspecs`` are ignored): they are
    compared with HEAD's tree (one ``git ls-tree``) instead of a ``git status`` over
    everything under ``pathspecs``. Listed files are committed whatever ``.gitignore``
    says. Without ``paths``, ``git status`` finds the changes.

    ``contents``: new bytes of listed paths that the caller did not write into the work
    tree (a sparse checkout leaves their folders out: writing them only to read them back
    costs a file and its folders each); a full checkout gets them written first, so that
    its work tree shows what is committed.

    One ``git fast-import`` stream writes the blobs and trees into a single pack and moves
    the branch (``git add`` + ``git commit`` write one loose object file per blob and per
    tree, ~100,000 files for 25,000 sharded results); a kill before it finishes leaves the
    branch where it was. ``git update-index`` then brings the index entries of the
    committed paths (and only those) in line with the new commit.

    In a sparse checkout a listed file outside the checked-out folders that is missing from
    the work tree is left as it is in HEAD: a sweep never deletes what it cannot see.
    """
    if contents and ws.sparse is None:
        for rel, data in contents.items():  # no fsync: this commit makes them durable
            atomic_write_bytes(contained(ws.path, rel), data, fsync=False)
        contents = None
    if paths is None:
        found = _changes(ws, pathspecs)
        changes = [(rel, read_regular(ws, rel)) for rel in found]
    else:
        changes = _changes_among(ws, pathspecs, paths, contents or {})
    if ws.sparse is not None:  # a file outside the sparse checkout is absent, not deleted
        changes = [(rel, data) for rel, data in changes
                   if data is not None or in_sparse(ws.sparse, rel)]
    if not changes:
        return None
    reader = ws.repo.config_reader()
    who = f"{reader.get_value('user', 'name', IDENTITY[0])} " \
          f"<{reader.get_value('user', 'email', IDENTITY[1])}>"
    head = ws.repo.head.commit.hexsha
    # fast-import grows and shrinks its heap by tiny steps (one brk per tree entry); with
    # tens of thousands of sharded files those system calls are most of its time: padding
    # the heap's top stops them (glibc; other C libraries ignore the variable)
    env = {**os.environ, **git_env(), "MALLOC_TOP_PAD_": str(64 << 20)}
    proc = subprocess.Popen(["git", "fast-import", "--quiet", "--done"], cwd=ws.path,
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdin is not None
    try:
        out = proc.stdin
        text = message.encode()
        out.write(f"commit refs/heads/{ws.branch}\ncommitter {who} {int(time.time())} "
                  f"+0000\ndata {len(text)}\n".encode() + text + f"\nfrom {head}\n".encode())
        for rel, data in changes:
            if data is not None:
                out.write(f"M 100644 inline {rel}\ndata {len(data)}\n".encode() + data + b"\n")
            else:
                out.write(f"D {rel}\n".encode())
        out.write(b"done\n")
        out.close()
    except BrokenPipeError:
        pass
    err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    if proc.wait() != 0:
        raise VbotError(f"cannot commit: {redact(err.strip(), secrets())[:500]}")
    _sync_index(ws, changes)
    return ws.repo.head.commit.hexsha


def reword_head(ws: Workspace, message: str) -> str:
    """Give HEAD a new message (same tree, same parents, same author); the new sha.

    ``git commit-tree`` + ``git update-ref``: the index and work tree are not touched (in a
    sparse checkout too), and no hook runs."""
    head = ws.repo.head.commit
    parents = [arg for p in head.parents for arg in ("-p", p.hexsha)]
    env = {"GIT_AUTHOR_NAME": head.author.name or IDENTITY[0],
           "GIT_AUTHOR_EMAIL": head.author.email or IDENTITY[1],
           "GIT_AUTHOR_DATE": f"{head.authored_date} +0000"}
    try:
        proc = subprocess.run(["git", "commit-tree", head.tree.hexsha, *parents],
                              cwd=ws.path, input=message.encode(), capture_output=True,
                              env={**os.environ, **git_env(), **env}, check=False)
    except OSError as exc:
        raise VbotError(f"cannot run git: {exc}") from None
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise VbotError(f"cannot reword the commit: {redact(err, secrets())[:500]}")
    sha = proc.stdout.decode().strip()
    run_git(ws.path, "update-ref", "-m", "vbot: reword after rebase", f"refs/heads/{ws.branch}",
            sha, head.hexsha)
    return sha


def in_sparse(folders: tuple[str, ...], rel: str) -> bool:
    """True when the cone-mode sparse checkout of ``folders`` holds ``rel`` (root files and
    everything under the folders)."""
    return "/" not in rel or any(rel.startswith(f.rstrip("/") + "/") for f in folders)


def read_regular(ws: Workspace, rel: str) -> bytes | None:
    """The bytes of a regular file of the work tree; None for anything else (deleted):
    missing, a symlink (``O_NOFOLLOW``), a folder. One ``open`` + ``fstat`` per file."""
    try:
        fd = os.open(os.path.join(ws.path, rel), READ_FLAGS)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ELOOP, errno.ENOTDIR):
            return None
        raise
    return read_regular_fd(fd)


def _sync_index(ws: Workspace, changes: list[tuple[str, bytes | None]]) -> None:
    """Index entries of the committed paths as in HEAD: regular files re-added (hashed,
    with their stat data, by one ``git update-index``), the rest removed. A sparse
    checkout's sparse index (``vbot/git/shallow.py``) is read from HEAD instead (``git
    read-tree --reset``: a few entries, the folders' new trees; ``update-index`` of paths
    outside the cone, and git 2.39's ``reset``, expand it to one entry per file first)."""
    if ws.sparse is not None:
        ws.repo.git.read_tree("--reset", "HEAD")
        return
    added = [rel for rel, data in changes if data is not None]
    removed = [rel for rel, data in changes if data is None]
    try:
        for flags, rels in ((["--add", "--remove"], added), (["--force-remove"], removed)):
            if rels:
                run_git(ws.path, "update-index", *flags, "-z", "--stdin",
                        stdin="".join(f"{r}\0" for r in rels).encode("utf-8", "surrogateescape"))
    except VbotError:  # whatever went wrong: the slow, whole-tree way
        ws.repo.git.reset("-q")


def _changes_among(ws: Workspace, pathspecs: list[str], paths: Iterable[str],
                   contents: Mapping[str, bytes]) -> list[tuple[str, bytes | None]]:
    """(path, new bytes or None for a deletion) for the listed paths that differ from HEAD
    (read from the work tree unless ``contents`` holds them)."""
    prefixes = tuple(p.rstrip("/") + "/" for p in pathspecs)
    wanted = sorted({p for p in paths if p in pathspecs or p.startswith(prefixes)})
    for rel in wanted:
        if rel.startswith(('"', "/")) or "\n" in rel or "\0" in rel \
                or ".." in rel.split("/") or "" in rel.split("/"):
            raise VbotError(f"cannot commit a file named {rel!r}")
    if not wanted:
        return []
    tops = sorted({p for p in pathspecs if any(r == p or r.startswith(p.rstrip("/") + "/")
                                               for r in wanted)})
    in_head = _head_entries(ws, tops)
    changes = []
    for rel in wanted:
        data = contents[rel] if rel in contents else read_regular(ws, rel)
        mode_sha = in_head.get(rel)
        if data is None:
            if mode_sha is not None and not _same_link(ws, rel, mode_sha):
                changes.append((rel, None))
            continue
        digest = hashlib.sha1(b"blob %d\0" % len(data))
        digest.update(data)
        sha = digest.hexdigest()
        if mode_sha is None or mode_sha[1] != sha or mode_sha[0] not in ("100644", "100755"):
            changes.append((rel, data))
    return changes


def _same_link(ws: Workspace, rel: str, mode_sha: tuple[str, str]) -> bool:
    """True when ``rel`` is a symlink that HEAD holds as this very symlink (unchanged)."""
    if mode_sha[0] != "120000":
        return False
    try:
        target = os.readlink(ws.path / rel).encode("utf-8", "surrogateescape")
    except OSError:
        return False
    return hashlib.sha1(b"blob %d\0" % len(target) + target).hexdigest() == mode_sha[1]


def _head_entries(ws: Workspace, pathspecs: list[str]) -> dict[str, tuple[str, str]]:
    """``{path: (mode, sha)}`` of HEAD's files under ``pathspecs`` (one ``git ls-tree``)."""
    return {path: (mode, sha)
            for path, (mode, _, sha) in ls_tree(ws.path, "HEAD", tuple(pathspecs)).items()}


def _changes(ws: Workspace, pathspecs: list[str]) -> list[str]:
    """Changed, new and deleted files under ``pathspecs`` (one ``git status`` call)."""
    existing = [p for p in pathspecs if (ws.path / p).exists()
                or ws.repo.git.ls_files("--", p)]
    if not existing:
        return []
    out = ws.repo.git.status("--porcelain", "-z", "--untracked-files=all",
                             "--no-renames", "--", *existing, strip_newline_in_stdout=False)
    paths = [entry[3:] for entry in out.split("\0") if len(entry) > 3]
    for rel in paths:
        if rel.startswith('"') or "\n" in rel:
            raise VbotError(f"cannot commit a file named {rel!r}")
    return sorted(set(paths))
