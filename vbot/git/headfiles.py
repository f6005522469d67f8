"""A folder's files as HEAD holds them, read with two git calls instead of one file at a time.

A sweep compares every result with the node's versions file, and the incremental bookkeeping
asks whether that file holds an upstream's answer. Read from the work tree, each file is a
no-follow walk down its sharded folders (about eight ``open``/``close`` pairs) on the event
loop's thread, and while a hundred HTTP threads run every one of those system calls gives up
the GIL and waits to get it back: on the 25,000-node benchmark that was most of the check
phase's CPU (benchmarks/RESULTS.md). Read from git, the whole folder is one ``git ls-tree``
and one ``git cat-file --batch`` before the first check.

The snapshot stands for the work tree only while the folder's tracked files are HEAD's: a
workspace is reset to HEAD when it is opened, and :meth:`HeadFiles.load` asks ``git status``
to be sure; when git cannot say, or the folder differs, it returns None and the caller reads
the files themselves. :meth:`HeadFiles.read` refuses what ``vbot.repo.paths.read_contained``
refuses (a path outside the repo or through a symbolic link, here: a symlink HEAD holds).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vbot.errors import VbotError
from vbot.git.diff import read_blobs, tree_files
from vbot.git.env import run_git

_REGULAR = ("100644", "100755")
_SYMLINK = "120000"


@dataclass(frozen=True)
class HeadFiles:
    """The files under ``folder`` in HEAD: ``{path: (mode, blob id)}`` and the blobs' bytes."""

    folder: str
    files: dict[str, tuple[str, str]]
    blobs: dict[str, bytes]

    @classmethod
    def load(cls, root: Path, folder: str) -> HeadFiles | None:
        """The snapshot of ``folder``, or None when git cannot give one that equals the work
        tree (then read the files)."""
        files = tree_files(root, "HEAD", folder)
        if files is None or _dirty(root, folder):
            return None
        wanted = sorted({sha for mode, sha in files.values() if mode in _REGULAR})
        blobs = read_blobs(root, wanted)
        if len(blobs) != len(wanted):  # a partial clone that cannot fetch them: read files
            return None
        return cls(folder, files, blobs)

    def read(self, relpath: str) -> bytes | None:
        """The bytes of the regular file ``relpath`` as HEAD holds it, None when there is
        none; VbotError for a path outside the repo or through a symbolic link."""
        rel = os.path.normpath(relpath)
        if os.path.isabs(rel) or rel in (".", "..") or rel.startswith("../"):
            raise VbotError(f"refusing path outside the data repo: {relpath!r}")
        parts = rel.split("/")
        for end in range(1, len(parts) + 1):  # the folders on the way, then the leaf
            found = self.files.get("/".join(parts[:end]))
            if found is not None and found[0] == _SYMLINK:
                raise VbotError(
                    f"refusing path through a symbolic link in the data repo: {relpath!r}")
        found = self.files.get(rel)
        if found is None or found[0] not in _REGULAR:
            return None
        return self.blobs[found[1]]


def _dirty(root: Path, folder: str) -> bool:
    """Whether the work tree's tracked files under ``folder`` may differ from HEAD's."""
    try:
        return bool(run_git(root, "status", "--porcelain", "--untracked-files=no", "--",
                            f":(literal){folder}").strip())
    except VbotError:
        return True
