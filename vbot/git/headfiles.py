"""A folder's files as HEAD holds them, read with two git calls instead of one file at a time.

A sweep compares every result with the node's versions file, and the incremental bookkeeping
asks whether that file holds an upstream's answer. Read from the work tree, each file is a
no-follow walk down its sharded folders (about eight ``open``/``close`` pairs) on the event
loop's thread, and while a hundred HTTP threads run every one of those system calls gives up
the GIL and waits to get it back: on the 25,000-node benchmark that was most of the check
phase's CPU (benchmarks/RESULTS.md). Read from git, the whole folder is one ``git ls-tree``
and one ``git cat-file --batch`` before the first check.

A workspace's sparse checkout holds ``node_attrs/`` only (``vbot/git/options.py``): the
versions and version_pr_info files are not in its work tree at all, and git is the only place
to read them. In a partial clone their blobs are not fetched by the checkout either:
:meth:`HeadFiles.load` fetches the missing ones in one batch (what git's own lazy fetch would
do one blob at a time).

The snapshot stands for the work tree only while the folder's tracked files are HEAD's: a
workspace is reset to HEAD when it is opened, and :meth:`HeadFiles.load` asks ``git status``
to be sure (entries outside the sparse checkout are not reported, as they are not in the work
tree); when git cannot say, or the folder differs, it returns None and the caller reads the
files themselves, or, when the folder is not checked out, stops (``Workspace.head_files``).
:meth:`HeadFiles.read` refuses what ``vbot.repo.paths.read_contained`` refuses (a path
outside the repo or through a symbolic link, here: a symlink HEAD holds).
"""

from __future__ import annotations

import os
import subprocess
from collections import deque
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import git

from vbot.errors import VbotError
from vbot.git.diff import ls_tree, tree_files
from vbot.git.env import git_env, run_git
from vbot.git.log import iter_blobs, read_blobs
from vbot.repo.jsonio import CANONICAL, Style, style_of

_REGULAR = ("100644", "100755")
_SYMLINK = "120000"


@dataclass(frozen=True)
class HeadFiles:
    """The files under ``folder`` in HEAD: ``{path: (mode, blob id)}`` and the blobs' bytes."""

    folder: str
    files: dict[str, tuple[str, str]]
    blobs: dict[str, bytes]
    root: Path | None = None  # the clone, for the blob :meth:`style` reads when not loaded

    @classmethod
    def load(cls, root: Path, folder: str, paths: Iterable[str] | None = None,
             checked_out: bool = True) -> HeadFiles | None:
        """The snapshot of ``folder``, or None when git cannot give one that equals the work
        tree (then read the files). ``paths``: the only files that will be read, so that
        only their blobs are fetched and read; reading another regular file of the folder
        is a KeyError. ``checked_out``: whether the work tree holds the folder at all (a
        sparse checkout may not: then there is nothing for ``git status`` to compare)."""
        files = tree_files(root, "HEAD", folder)
        if files is None or (checked_out and _dirty(root, folder)):
            return None
        return cls._with_blobs(root, folder, files, paths)

    def loaded_for(self, paths: Iterable[str] | None) -> HeadFiles | None:
        """The same snapshot with the blobs of ``paths`` (None: every file) read, from the
        same listing (no second ``git ls-tree``); None as :meth:`load`."""
        assert self.root is not None  # set by load
        return self._with_blobs(self.root, self.folder, self.files, paths)

    @classmethod
    def _with_blobs(cls, root: Path, folder: str, files: dict[str, tuple[str, str]],
                    paths: Iterable[str] | None) -> HeadFiles | None:
        regular = {rel: sha for rel, (mode, sha) in files.items() if mode in _REGULAR}
        if paths is not None:
            chosen = {os.path.normpath(p) for p in paths}
            regular = {rel: sha for rel, sha in regular.items() if rel in chosen}
        wanted = sorted(set(regular.values()))
        # a subset is fetched as asked (a fetch of objects the clone holds costs nothing);
        # the whole folder: only what ``git rev-list`` says is missing
        if wanted and not fetch_missing(root, f"HEAD:{folder}",
                                        None if paths is None else set(wanted)):
            return None  # git cat-file would fetch them one request at a time
        blobs = _held(root, wanted)
        if len(blobs) != len(wanted):  # a partial clone that cannot fetch them: read files
            return None
        return cls(folder, files, blobs, root)

    def read(self, relpath: str) -> bytes | None:
        """The bytes of the regular file ``relpath`` as HEAD holds it, None when there is
        none; VbotError for a path outside the repo or through a symbolic link."""
        found = self.entry(relpath)
        if found is None:
            return None
        if found[1] not in self.blobs:
            raise KeyError(f"{relpath}: not among the paths the snapshot was loaded for")
        return self.blobs[found[1]]

    def entry(self, relpath: str) -> tuple[str, str] | None:
        """(mode, blob id) of the regular file ``relpath`` in HEAD, None when there is none;
        VbotError for a path outside the repo or through a symbolic link."""
        rel = inside(relpath)
        parts = rel.split("/")
        if self._links and any("/".join(parts[:end]) in self._links  # the folders on the way,
                               for end in range(1, len(parts) + 1)):  # then the leaf
            raise VbotError(f"refusing path through a symbolic link in the data repo: {relpath!r}")
        found = self.files.get(rel)
        return found if found is not None and found[0] in _REGULAR else None

    @cached_property
    def _links(self) -> frozenset[str]:
        """The symbolic links HEAD holds in the folder (usually none)."""
        return frozenset(rel for rel, (mode, _) in self.files.items() if mode == _SYMLINK)

    @cached_property
    def _folders(self) -> frozenset[str]:
        found: set[str] = set()
        for rel in self.files:
            folder = rel.rpartition("/")[0]
            while folder and folder not in found:
                found.add(folder)
                folder = folder.rpartition("/")[0]
        return frozenset(found)

    def unwritable(self, relpath: str) -> str | None:
        """Why a file cannot be written at ``relpath`` where HEAD holds a folder there, or a
        file where one of its folders goes (what writing into the checked-out folder would
        meet, and what a commit of the path would silently replace); None when it can."""
        rel = os.path.normpath(relpath)
        if rel in self._folders:
            return f"{relpath}: cannot write: Is a directory"
        parts = rel.split("/")
        if any("/".join(parts[:end]) in self.files for end in range(1, len(parts))):
            return f"{relpath}: cannot write: Not a directory"
        return None

    def listing(self) -> list[str]:
        """The ``.json`` files of the folder (not hidden, not below a symlink), sorted like
        paths: what a walk of the checked-out folder would list. A symlink named ``*.json``
        is listed, for the reader to refuse."""
        return sorted(_json_files(self.files), key=lambda r: r.split("/"))

    def style(self) -> Style:
        """The style of the folder's first ``.json`` file in ``jsonio.folder_style``'s order
        (a folder's own files before its subfolders, each sorted by name; symlinks skipped),
        for a new file of the folder; the canonical style when there is none."""
        first = min(_json_files(self.files, links=False), key=_walk_order, default=None)
        if first is None:
            return CANONICAL
        sha = self.files[first][1]
        data = self.blobs.get(sha)
        if data is None and self.root is not None and fetch_missing(
                self.root, f"HEAD:{self.folder}", {sha}):  # not among the paths loaded
            data = _held(self.root, [sha]).get(sha)
        return CANONICAL if data is None else style_of(data)


def _held(root: Path, shas: list[str]) -> dict[str, bytes]:
    """The bytes of the blobs git has among ``shas`` (one ``git cat-file --batch``)."""
    try:
        return {sha: data for sha, data in read_blobs(root, shas).items() if data is not None}
    except VbotError:
        return {}


def inside(relpath: str) -> str:
    """``relpath`` normalised; VbotError when it leaves the repo."""
    rel = os.path.normpath(relpath)
    if os.path.isabs(rel) or rel in (".", "..") or rel.startswith("../"):
        raise VbotError(f"refusing path outside the data repo: {relpath!r}")
    return rel


@dataclass
class TreeReader:
    """Any file of HEAD, read one at a time: how a workspace reads the node documents, which
    its sparse checkout leaves out (``vbot/git/options.py``), for ``DataRepo``'s reader.

    A top folder is listed once (one ``git ls-tree``) the first time a file of it is read,
    if HEAD's root holds it (a graph naming thousands of folders that do not exist costs no
    listing each); each file is then one request to GitPython's persistent ``git cat-file --batch``
    process, so only the document being parsed is held, not the folder's 25,000 documents.
    The refusals are :meth:`HeadFiles.read`'s.

    :meth:`prefetch` is told which files will be read next, in order: in a partial clone their
    missing blobs are fetched in one batch first (else git fetches each on its own as it is
    read: correct, one request per file), and one ``git cat-file --batch`` reads them ahead,
    so that git inflates the next blobs on the other core while this one is parsed (a
    request per file waits for git each time; benchmarks/RESULTS.md). A file asked for out
    of that order skips the
    read-ahead forward to it when it is further on, else it is read on its own.
    :meth:`close` stops the read-ahead."""

    root: Path
    repo: git.Repo
    _folders: dict[str, HeadFiles] = field(default_factory=dict)
    _ahead: Generator[tuple[str, bytes | None], None, None] | None = None  # read ahead
    _order: deque[str] = field(default_factory=deque)  # the blob ids it will give, in order
    _left: set[str] = field(default_factory=set)  # the same, to look up

    @cached_property
    def _root(self) -> dict[str, tuple[str, str, str]]:
        """HEAD's root entries: ``{name: (mode, type, id)}`` (one ``git ls-tree``)."""
        try:
            return ls_tree(self.root, "HEAD", recursive=False)
        except VbotError as exc:
            raise VbotError(f"cannot list HEAD in {self.root}: {exc}") from None

    def _folder(self, top: str) -> HeadFiles:
        head = self._folders.get(top)
        if head is None:
            mode, kind, sha = self._root.get(top, ("", "", ""))
            if kind == "tree":
                files = tree_files(self.root, "HEAD", top)
                if files is None:
                    raise VbotError(f"cannot list {top}/ of HEAD in {self.root}")
            else:  # a file at the root (a symlink there is refused by entry) or nothing
                files = {top: (mode, sha)} if kind == "blob" else {}
            head = self._folders[top] = HeadFiles(top, files, {}, self.root)
        return head

    def __call__(self, relpath: str) -> bytes | None:
        found = self._folder(inside(relpath).partition("/")[0]).entry(relpath)
        if found is None:
            return None
        data = self._read_ahead(found[1])
        if data is not None:
            return data
        try:
            return self.repo.git.get_object_data(found[1])[3]
        except (ValueError, OSError, git.GitCommandError) as exc:
            raise VbotError(f"{relpath}: cannot read it from git: {exc}") from None

    def _read_ahead(self, sha: str) -> bytes | None:
        """The blob from the read-ahead, when it is further on there; None: read it alone."""
        if sha not in self._left or self._ahead is None:
            return None
        try:
            while self._order:
                head = self._order.popleft()
                self._left.discard(head)
                data = next(self._ahead)[1]
                if head == sha:
                    return data
        except (StopIteration, VbotError):  # git stopped early: read on their own
            self.close()
        return None

    def close(self) -> None:
        """Stop the read-ahead (its git process ends)."""
        if self._ahead is not None:
            self._ahead.close()
        self._ahead = None
        self._order.clear()
        self._left.clear()

    def prefetch(self, paths: Iterable[str]) -> None:
        """``paths`` will be read next, in this order: in a partial clone, fetch in one
        batch per top folder the blobs the clone lacks (nothing to do in a full clone;
        VbotError when the fetch fails), then start reading them ahead. Paths HEAD does not
        hold or refuses are left for the read to report."""
        self.close()
        wanted: dict[str, set[str]] = {}
        order: list[str] = []
        for path in paths:
            try:
                top = inside(path).partition("/")[0]
                found = self._folder(top).entry(path)
            except VbotError:
                continue
            if found is not None:
                wanted.setdefault(top, set()).add(found[1])
                order.append(found[1])
        self._fetch_missing(wanted)
        self._order = deque(dict.fromkeys(order))
        self._left = set(self._order)
        self._ahead = iter_blobs(self.root, list(self._order)) if self._order else None

    def _fetch_missing(self, wanted: dict[str, set[str]]) -> None:
        remote = _promisor(self.root)
        if remote is None:
            return
        for top, shas in sorted(wanted.items()):
            # asking for a blob the clone holds costs git a local lookup, about six times a
            # file's share of listing what the folder lacks (benchmarks/RESULTS.md): a few
            # files are asked for as they are, most of a folder through the listing
            few = len(shas) * 6 < len(self._folder(top).files)
            missing = shas if few else _missing(self.root, f"HEAD:{top}")
            if missing is None or not _fetch(self.root, remote, shas & missing):
                raise VbotError(f"cannot fetch the files of {top}/ into {self.root} (is the "
                                f"remote reachable for the blobs of a partial clone?)")


def _json_files(files: dict[str, tuple[str, str]], links: bool = True) -> list[str]:
    """:meth:`HeadFiles.listing`, unsorted."""
    kinds = (*_REGULAR, _SYMLINK) if links else _REGULAR
    below = tuple(f"{rel}/" for rel, (mode, _) in files.items() if mode == _SYMLINK)
    return [rel for rel, (mode, _) in files.items()
            if mode in kinds and rel.endswith(".json")
            and not rel.rpartition("/")[2].startswith(".")
            and not (below and rel.startswith(below))]


def _walk_order(rel: str) -> tuple[tuple[int, str], ...]:
    """``os.walk``'s top-down order with sorted names: at each level files, then folders."""
    parts = rel.split("/")
    return tuple((1, p) for p in parts[:-1]) + ((0, parts[-1]),)


def fetch_missing(root: Path, tree: str, only: set[str] | None = None) -> bool:
    """In a partial clone, fetch the objects under ``tree`` (those among ``only``, when
    given) that the clone lacks, in ONE ``git fetch`` (``git cat-file`` would fetch them one
    request at a time). False when git cannot list them or the fetch fails; True with
    nothing to do (a full clone: nothing is missing). With ``only``, those are asked for
    without listing the tree first (git skips a fetch of objects it holds)."""
    remote = _promisor(root)
    if remote is None:  # a full clone
        return True
    missing = only if only is not None else _missing(root, tree)
    return missing is not None and _fetch(root, remote, missing)


def _missing(root: Path, tree: str) -> set[str] | None:
    """The objects under ``tree`` a partial clone lacks (``--missing=print`` lists them
    without fetching them); None when git cannot say."""
    try:
        out = run_git(root, "rev-list", "--objects", "--missing=print", tree)
    except VbotError:
        return None
    return {line[1:] for line in out.decode().splitlines() if line.startswith("?")}


def _fetch(root: Path, remote: str, shas: set[str]) -> bool:
    """Fetch ``shas`` from ``remote`` in one ``git fetch --stdin``; True when done."""
    if not shas:
        return True
    try:
        done = subprocess.run(["git", "-c", "fetch.negotiationAlgorithm=noop", "fetch", remote,
                               "--no-tags", "--no-write-fetch-head", "--recurse-submodules=no",
                               "--filter=blob:none", "--stdin"], cwd=root,
                              input="".join(f"{sha}\n" for sha in sorted(shas)).encode(),
                              capture_output=True, env={**os.environ, **git_env()},
                              check=False)
    except OSError:
        return False
    return done.returncode == 0


def _dirty(root: Path, folder: str) -> bool:
    """Whether the work tree's tracked files under ``folder`` may differ from HEAD's."""
    try:
        return bool(run_git(root, "status", "--porcelain", "--untracked-files=no", "--",
                            f":(literal){folder}").strip())
    except VbotError:
        return True


def _promisor(root: Path) -> str | None:
    """The remote a partial clone fetches missing objects from; None for a full clone."""
    try:  # git 2.20+: remote.<name>.promisor; older clones: extensions.partialClone
        out = run_git(root, "config", "--get-regexp", r"^remote\..*\.promisor$")
    except VbotError:  # none set
        out = b""
    for line in out.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lower() in ("true", "yes", "on", "1"):
            return key[len("remote."):-len(".promisor")]
    try:
        return run_git(root, "config", "--get", "extensions.partialClone").decode().strip() or None
    except VbotError:
        return None
