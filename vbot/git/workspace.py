"""The workspace: a private clone of the data repo's remote, locked while vbot works in it.

One vbot process at a time works in it (an advisory lock); a crash can leave only uncommitted
files, which the next run discards, or an unpushed commit, which the next run rebases and
pushes. A crash inside git can also leave stale ``*.lock`` files, an interrupted rebase or a
half-made clone; ``Workspace.open`` repairs each of these under the workspace lock before
anything else happens. Committing is in :mod:`vbot.git.commit`, pushing in :mod:`vbot.git.push`.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import git

from vbot.config import CONFIG_NAME
from vbot.errors import PushError, VbotError
from vbot.git.env import IDENTITY, clean_error, open_repo, secrets
from vbot.git.headfiles import HeadFiles, TreeReader
from vbot.git.lock import locked, remove_stale_locks
from vbot.git.options import CloneOptions, clone_options
from vbot.git.remote import default_workdir, normalise_remote, without_credentials
from vbot.git.shallow import (
    Log,
    apply_sparse,
    clone,
    deepen_until,
    fetch,
    sparse_folders,
    stderr_log,
)
from vbot.redact import redact


@dataclass
class Workspace:
    path: Path
    repo: git.Repo
    branch: str
    options: CloneOptions = field(default_factory=CloneOptions)
    # the folders of the sparse checkout (None: everything is checked out)
    sparse: tuple[str, ...] | None = None

    # -- set-up ----------------------------------------------------------------------------
    @classmethod
    @contextlib.contextmanager
    def open(cls, remote: str, workdir: Path | None = None, *,
             options: CloneOptions | None = None, depth: int | None = None,
             config: Path | None = None, log: Log = stderr_log) -> Iterator[Workspace]:
        """Clone ``remote`` into ``workdir`` or bring an existing clone up to date; lock it.

        ``options`` say how much to hold (:mod:`vbot.git.options`); without them, ``[git]``
        of the repo's vbot.toml and of ``config``, then ``depth``, decide. The repo's file is
        read from the fetched tree, after the update: a broken or stale copy left in the
        workdir by an earlier run only guides the fetch (ignored when it cannot be read), so
        it never blocks the run that brings its fix. The lock is ``.NAME.lock`` beside the
        workdir ``NAME``, removed when the run ends.
        """
        remote = normalise_remote(remote)
        path = (workdir or default_workdir(remote)).expanduser().resolve()
        if path.exists() and not path.is_dir():
            raise VbotError(f"workdir {path} is not a folder")
        with locked(path.parent / f".{path.name}.lock", guards=path):
            if (path / ".git").exists() and cls._half_cloned(path):
                shutil.rmtree(path)  # a clone killed half-way: nothing of ours is in it
            cloned = (path / ".git").exists()
            chosen = options
            extra = [config] if config else []
            if options is None:
                options = clone_options(extra, depth, stale=path / CONFIG_NAME)
            ws = (cls._update(path, remote, options) if cloned
                  else cls._clone(remote, path, options, log))
            if chosen is None:  # the fetched tree's own settings, read strictly
                ws._settle(clone_options([ws.path / CONFIG_NAME, *extra], depth))
            yield ws

    def _settle(self, options: CloneOptions) -> None:
        """Take the options of the fetched tree: the sparse checkout at once, ``depth`` from
        the next fetch (this one is done), ``filter`` at the next clone."""
        if options == self.options:
            return
        if options.sparse != self.options.sparse:
            apply_sparse(self.repo, options)
            self.sparse = sparse_folders(self.repo)
        self.options = options

    @staticmethod
    def _half_cloned(path: Path) -> bool:
        """True for a clone killed before its checkout: only ``.git``, no commit or no origin.

        Anything else in the folder means it is not (only) ours: it is never deleted.
        """
        if [p.name for p in path.iterdir()] != [".git"]:
            return False
        try:
            repo = git.Repo(path)
            return not repo.head.is_valid() or "origin" not in [r.name for r in repo.remotes]
        except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError):
            return (path / ".git").is_dir()  # a .git folder git cannot read: a killed clone

    @classmethod
    def _clone(cls, remote: str, path: Path, options: CloneOptions, log: Log) -> Workspace:
        if path.exists() and any(path.iterdir()):
            raise VbotError(f"workdir {path} exists and is not a git clone")
        try:
            # a repo that cannot be cloned is a user error (exit 1), unlike a failed push
            repo = clone(remote, path, options, log)
        except VbotError:
            shutil.rmtree(path, ignore_errors=True)
            raise
        if not repo.head.is_valid():
            raise VbotError(f"{redact(remote, secrets())}: the repository has no commits")
        ws = cls(path=path, repo=repo, branch=repo.active_branch.name, options=options,
                 sparse=sparse_folders(repo))
        ws._ensure_identity()
        return ws

    @classmethod
    def _update(cls, path: Path, remote: str, options: CloneOptions) -> Workspace:
        try:
            repo = open_repo(path)
        except git.InvalidGitRepositoryError:
            raise VbotError(f"workdir {path} is not a git clone") from None
        origins = [r for r in repo.remotes if r.name == "origin"]
        if not origins or not repo.head.is_valid():
            raise VbotError(f"workdir {path} is not a vbot clone (no origin or no commit)")
        if origins[0].url != remote:
            if without_credentials(origins[0].url) != without_credentials(remote):
                raise VbotError(f"workdir {path} is a clone of another remote "
                                f"({redact(origins[0].url, secrets())})")
            origins[0].set_url(remote)  # same remote, new credentials (e.g. a rotated token)
        remove_stale_locks(path / ".git")
        g = repo.git
        # an interrupted rebase leaves HEAD detached: undo it before asking for the branch
        with contextlib.suppress(git.GitCommandError):
            g.rebase("--abort")
        if repo.head.is_detached:
            g.checkout("-f", cls._remote_branch(repo))
        apply_sparse(repo, options)
        ws = cls(path=path, repo=repo, branch=repo.active_branch.name, options=options,
                 sparse=sparse_folders(repo))
        ws._ensure_identity()
        g.reset("--hard", "HEAD")
        g.clean("-ffdxq")  # whatever an earlier run left behind
        ws.sync()
        return ws

    @staticmethod
    def _remote_branch(repo: git.Repo) -> str:
        """The branch the clone tracks (from origin/HEAD), for repairing a detached HEAD."""
        try:
            ref = repo.git.symbolic_ref("refs/remotes/origin/HEAD")
        except git.GitCommandError:
            return "main"
        return ref.rsplit("/", 1)[-1]

    def _ensure_identity(self) -> None:
        reader = self.repo.config_reader()
        with self.repo.config_writer() as cw:
            if not reader.get_value("user", "name", ""):
                cw.set_value("user", "name", IDENTITY[0])
            if not reader.get_value("user", "email", ""):
                cw.set_value("user", "email", IDENTITY[1])

    # -- remote ----------------------------------------------------------------------------
    def fetch(self) -> None:
        """Fetch the branch from origin down to the commits the workspace holds (what a
        rebase needs, also in a shallow clone); PushError when that fails."""
        fetch(self.repo, self.branch, None)

    def sync(self) -> None:
        """Fetch and move onto the remote branch, keeping (rebasing) unpushed commits.

        With nothing unpushed a shallow workspace fetches only ``depth`` commits of the branch
        (however far the remote moved) and resets onto it; with unpushed commits, the new
        remote commits down to the ones held, and the unpushed commits are rebased on top.
        Unpushed is decided before fetching: a ``--depth`` fetch cuts the new tip's history,
        so afterwards the old tip no longer looks like part of it.
        """
        try:
            ahead = self.unpushed()
        except git.GitCommandError:  # no remote-tracking branch yet
            ahead = 0
        fetch(self.repo, self.branch, None if ahead else self.options.depth)
        upstream = f"origin/{self.branch}"
        if ahead:
            self.rebase(upstream)
        elif self.repo.head.commit.hexsha != self.repo.commit(upstream).hexsha:
            self.repo.git.reset("--hard", upstream)
        # else HEAD is the remote branch already; the caller's reset made the tree match it

    def rebase(self, upstream: str) -> None:
        """Rebase the unpushed commits onto ``upstream``; PushError (rebase undone) on
        failure. On conflict our (newer) results win for the files we wrote."""
        try:
            self.repo.git.rebase("-X", "theirs", upstream)
        except git.GitCommandError as exc:
            with contextlib.suppress(git.GitCommandError):
                self.repo.git.rebase("--abort")
            raise PushError(f"cannot rebase onto the remote: {clean_error(exc)}") from None

    def unpushed(self) -> int:
        """How many commits of HEAD the remote branch does not have."""
        return int(self.repo.git.rev_list("--count", f"origin/{self.branch}..HEAD"))

    def deepen_until(self, done: Callable[[], bool]) -> bool:
        """Fetch older history (``git fetch --deepen``) until ``done()`` or all of it is here."""
        return deepen_until(self.repo, self.branch, done)

    # -- reading ---------------------------------------------------------------------------
    def holds(self, folder: str) -> bool:
        """Whether the work tree holds ``folder``'s files (a full checkout, or a sparse one
        that includes it)."""
        return self.sparse is None or any(folder == f or folder.startswith(f"{f}/")
                                          for f in self.sparse)

    def head_files(self, folder: str, paths: Iterable[str] | None = None
                   ) -> HeadFiles | None:
        """``folder``'s files as HEAD holds them (:mod:`vbot.git.headfiles`), or None when
        git cannot give them and the work tree holds the folder (then read its files).

        VbotError when git cannot give them and the sparse checkout leaves the folder out:
        the work tree has none of its files, and reading them as missing would rewrite
        every one of them. ``paths``: see :meth:`HeadFiles.load`."""
        head = HeadFiles.load(self.path, folder, paths, checked_out=self.holds(folder))
        if head is None and not self.holds(folder):
            raise VbotError(f"cannot read {folder}/ from git in {self.path}, and the sparse "
                            f"checkout does not hold it (is the remote reachable for the "
                            f"blobs of a partial clone?)")
        return head

    def reader(self) -> TreeReader:
        """Reads any file as HEAD holds it (:class:`vbot.git.headfiles.TreeReader`): how
        ``DataRepo`` reads the node documents, which the sparse checkout leaves out. The work
        tree was reset to HEAD when the workspace was opened, and vbot never writes a node
        document, so a full checkout reads the same."""
        return TreeReader(self.path, self.repo)

    def changed_files(self, rev: str = "HEAD") -> list[str]:
        out = self.repo.git.show("--name-only", "--format=", rev)
        return [line for line in out.splitlines() if line]
