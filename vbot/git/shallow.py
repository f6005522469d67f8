"""Shallow, partial and sparse workspace clones, updated in place (never re-cloned).

A workspace holds ``depth`` commits of the branch (``--depth``), no blob outside what it checks
out (``--filter=blob:none``, where the server allows filters) and checks out only the folders
vbot reads from the work tree (cone-mode sparse checkout: :data:`SPARSE_FOLDERS` and the root
files). The checkout fetches the missing blobs of the sparse set in one batch; the folders read
from git fetch theirs in one batch when read (``vbot/git/headfiles.py``). A server that refuses
filters gets one log line and a clone without the filter.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import git

from vbot.errors import PushError, VbotError
from vbot.git.env import clean_error, git_env, open_repo, run_git, secrets
from vbot.git.options import SPARSE_FOLDERS, CloneOptions
from vbot.redact import redact

Log = Callable[[str], None]
_NO_FILTER = "filtering not recognized by server"


def stderr_log(message: str) -> None:
    print(f"vbot: {message}", file=sys.stderr)


def clone(remote: str, path: Path, options: CloneOptions, log: Log = stderr_log) -> git.Repo:
    """Clone ``remote`` into ``path`` as ``options`` say; VbotError when it cannot."""
    args = ["git", "clone", "--quiet", "--no-checkout"]
    if options.shallow or options.filter:
        args.append("--no-local")  # a local path: the real transport, so depth and filter apply
    if options.shallow:
        args.append(f"--depth={options.depth}")
    if options.filter:
        args.append("--filter=blob:none")
    args += ["--", remote, str(path)]
    done = subprocess.run(args, capture_output=True, env={**os.environ, **git_env()},
                          stdin=subprocess.DEVNULL, check=False)
    stderr = done.stderr.decode("utf-8", "replace")
    if done.returncode != 0:
        text = redact(" ".join(stderr.split()), secrets())[:500] or f"exit {done.returncode}"
        raise VbotError(f"cannot clone {redact(remote, secrets())}: {text}")
    repo = open_repo(path)
    if options.filter and _NO_FILTER in stderr:
        log("the remote refuses partial clones (uploadpack.allowFilter): cloned without "
            "--filter=blob:none")
        with repo.config_writer() as cw:
            cw.remove_option('remote "origin"', "promisor")
            cw.remove_option('remote "origin"', "partialclonefilter")
    if repo.head.is_valid():
        apply_sparse(repo, options)
        repo.git.reset("--hard", "HEAD")  # the sparse set's blobs in one fetch
    return repo


def apply_sparse(repo: git.Repo, options: CloneOptions) -> None:
    """Make the checkout sparse (cone: :data:`SPARSE_FOLDERS` and root files, with a sparse
    index) or full.

    A sparse index holds one entry per folder outside the cone instead of one per file:
    ``git reset --hard`` on opening the workspace and the index update after a commit
    rewrite a few entries instead of one per file of HEAD (benchmarks/RESULTS.md)."""
    enabled = _sparse_enabled(repo)
    if options.sparse:
        if enabled and _config_true(repo, "index.sparse") \
                and sparse_folders(repo) == SPARSE_FOLDERS:
            return
        try:
            repo.git.sparse_checkout("set", "--cone", "--sparse-index", *SPARSE_FOLDERS)
        except git.GitCommandError:  # git before 2.32: a full index, the same files
            repo.git.sparse_checkout("set", "--cone", *SPARSE_FOLDERS)
    elif enabled:
        repo.git.sparse_checkout("disable")


def _sparse_enabled(repo: git.Repo) -> bool:
    return _config_true(repo, "core.sparseCheckout")


def _config_true(repo: git.Repo, key: str) -> bool:
    try:
        return repo.git.config("--bool", "--get", key) == "true"
    except git.GitCommandError:  # not set
        return False


def sparse_folders(repo: git.Repo) -> tuple[str, ...] | None:
    """The folders of a cone-mode sparse checkout; None for a full checkout."""
    if not _sparse_enabled(repo):
        return None
    return tuple(sorted(line for line in repo.git.sparse_checkout("list").splitlines() if line))


def is_shallow(path: Path) -> bool:
    """True when the clone at ``path`` is shallow (``git rev-parse --is-shallow-repository``)."""
    return run_git(path, "rev-parse", "--is-shallow-repository").strip() == b"true"


def shallow_boundary(path: Path) -> set[str]:
    """The commits whose parents a shallow clone does not hold (empty for a full clone)."""
    shallow = Path(run_git(path, "rev-parse", "--path-format=absolute", "--git-path",
                           "shallow").decode().strip())
    return set(shallow.read_text().split()) if shallow.is_file() else set()


def fetch(repo: git.Repo, branch: str, depth: int | None) -> None:
    """Fetch ``branch`` from origin: ``depth`` commits of it (0: all of it), or None: the new
    commits down to what the clone holds (what a rebase of unpushed commits needs).

    A ``--depth`` fetch costs the server a shallow walk even when nothing changed, while
    asking for the remote tip is cheap, so the tip is asked first (``git ls-remote``)."""
    args = ["origin", branch]
    if depth == 0 and is_shallow(Path(repo.working_dir)):
        args.insert(0, "--unshallow")
    elif depth:
        args.insert(0, f"--depth={depth}")
    try:
        if depth and _remote_tip(repo, branch) == _tracking_tip(repo, branch):
            return
        repo.git.fetch(*args)
    except git.GitCommandError as exc:
        raise PushError(f"cannot fetch from the remote: {clean_error(exc)}") from None


def _remote_tip(repo: git.Repo, branch: str) -> str | None:
    out = repo.git.ls_remote("origin", f"refs/heads/{branch}").split()
    return out[0] if out else None


def _tracking_tip(repo: git.Repo, branch: str) -> str | None:
    try:
        return repo.git.rev_parse("--verify", "--quiet", f"refs/remotes/origin/{branch}")
    except git.GitCommandError:
        return None


def deepen_until(repo: git.Repo, branch: str, done: Callable[[], bool],
                 first: int = 64) -> bool:
    """Fetch older history of a shallow clone until ``done()`` or the whole history is there;
    returns ``done()``.

    The depth from the tip grows fourfold per step (``git fetch --depth``: absolute, so stale
    boundaries left by earlier ``--depth`` fetches cannot stall it as ``--deepen`` can);
    when a step brings nothing, ``--unshallow`` fetches the rest.
    """
    path = Path(repo.working_dir)
    held = _count(repo)
    depth = max(first, held * 4)
    while not done():
        if not is_shallow(path):
            return False
        try:
            repo.git.fetch(f"--depth={depth}", "origin", branch)
            now = _count(repo)
            if now <= held and is_shallow(path):  # nothing came: fetch all the rest
                repo.git.fetch("--unshallow", "origin", branch)
                now = _count(repo)
        except git.GitCommandError as exc:
            raise VbotError(f"cannot deepen the clone: {clean_error(exc)}") from None
        held, depth = now, now * 4
    return True


def _count(repo: git.Repo) -> int:
    return int(repo.git.rev_list("--count", "HEAD"))
