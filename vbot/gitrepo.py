"""All git access of vbot, through GitPython: clone/update, commit, push with retry, log.

The workspace is a private clone of the data repo's remote. One vbot process at a time works in
it (an advisory lock); a crash can leave only uncommitted files, which the next run discards, or
an unpushed commit, which the next run rebases and pushes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import random
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import git
import platformdirs

from vbot.errors import PushError, VbotError
from vbot.redact import redact

IDENTITY = ("vbot", "vbot@users.noreply.example")
_SAFE_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def _secrets() -> list[str | None]:
    return [os.environ.get("GITHUB_TOKEN"), os.environ.get("GH_TOKEN")]


def clean_error(exc: BaseException) -> str:
    """A one-line, secret-free description of a git failure."""
    if isinstance(exc, git.GitCommandError):
        stderr = (exc.stderr or "").strip().replace("\n", " ")
        stderr = re.sub(r"^stderr: ", "", stderr).strip("' ")
        text = stderr or f"git {exc.command[1] if len(exc.command) > 1 else ''} failed"
    else:
        text = str(exc)
    return redact(" ".join(text.split()), _secrets())[:500]


def normalise_remote(remote: str) -> str:
    """A URL stays a URL; a local path becomes absolute (and must exist)."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", remote) or re.match(r"^[^/]+@[^/]+:", remote):
        return remote
    path = Path(remote).expanduser()
    if not path.exists():
        raise VbotError(f"repository not found: {remote}")
    return str(path.resolve())


def default_workdir(remote: str) -> Path:
    digest = hashlib.sha1(redact(remote).encode()).hexdigest()[:10]
    tail = _SAFE_SLUG.sub("-", redact(remote).rstrip("/").rsplit("/", 1)[-1])[:40] or "repo"
    return Path(platformdirs.user_cache_dir("vbot")) / "work" / f"{tail}-{digest}"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise VbotError(f"another vbot is working in {path.with_suffix('')}") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@dataclass
class Workspace:
    path: Path
    repo: git.Repo
    branch: str

    # -- set-up ----------------------------------------------------------------------------
    @classmethod
    @contextlib.contextmanager
    def open(cls, remote: str, workdir: Path | None = None) -> Iterator[Workspace]:
        """Clone ``remote`` into ``workdir`` or bring an existing clone up to date; lock it."""
        remote = normalise_remote(remote)
        path = (workdir or default_workdir(remote)).expanduser().resolve()
        with _locked(path.parent / f".{path.name}.lock"):
            ws = cls._clone(remote, path) if not (path / ".git").exists() else cls._update(path)
            yield ws

    @classmethod
    def _clone(cls, remote: str, path: Path) -> Workspace:
        if path.exists() and any(path.iterdir()):
            raise VbotError(f"workdir {path} exists and is not a git clone")
        try:
            repo = git.Repo.clone_from(remote, path)
        except git.GitCommandError as exc:
            raise VbotError(f"cannot clone {redact(remote, _secrets())}: {clean_error(exc)}") from None
        if not repo.head.is_valid():
            raise VbotError(f"{redact(remote, _secrets())}: the repository has no commits")
        ws = cls(path=path, repo=repo, branch=repo.active_branch.name)
        ws._ensure_identity()
        return ws

    @classmethod
    def _update(cls, path: Path) -> Workspace:
        try:
            repo = git.Repo(path)
        except git.InvalidGitRepositoryError:
            raise VbotError(f"workdir {path} is not a git clone") from None
        lock = path / ".git" / "index.lock"
        if lock.exists():  # left by a killed git; we hold the workspace lock
            lock.unlink()
        ws = cls(path=path, repo=repo, branch=repo.active_branch.name)
        ws._ensure_identity()
        g = repo.git
        with contextlib.suppress(git.GitCommandError):
            g.rebase("--abort")
        g.reset("--hard", "HEAD")
        g.clean("-fdq")
        ws.sync()
        return ws

    def _ensure_identity(self) -> None:
        reader = self.repo.config_reader()
        with self.repo.config_writer() as cw:
            if not reader.get_value("user", "name", ""):
                cw.set_value("user", "name", IDENTITY[0])
            if not reader.get_value("user", "email", ""):
                cw.set_value("user", "email", IDENTITY[1])

    # -- remote ----------------------------------------------------------------------------
    def fetch(self) -> None:
        try:
            self.repo.git.fetch("origin", self.branch)
        except git.GitCommandError as exc:
            raise PushError(f"cannot fetch from the remote: {clean_error(exc)}") from None

    def sync(self) -> None:
        """Fetch and move onto the remote branch, keeping (rebasing) unpushed commits."""
        self.fetch()
        upstream = f"origin/{self.branch}"
        ahead = int(self.repo.git.rev_list("--count", f"{upstream}..HEAD"))
        if ahead:
            self._rebase(upstream)
        else:
            self.repo.git.reset("--hard", upstream)

    def _rebase(self, upstream: str) -> None:
        try:
            # on conflict our (newer) results win for the files we wrote
            self.repo.git.rebase("-X", "theirs", upstream)
        except git.GitCommandError as exc:
            with contextlib.suppress(git.GitCommandError):
                self.repo.git.rebase("--abort")
            raise PushError(f"cannot rebase onto the remote: {clean_error(exc)}") from None

    def push(self, attempts: int = 5, backoff: float = 0.5) -> None:
        """Push HEAD; when the remote moved, fetch, rebase and try again. Never forces."""
        for attempt in range(attempts):
            try:
                self.repo.git.push("origin", f"HEAD:refs/heads/{self.branch}")
                return
            except git.GitCommandError as exc:
                message = clean_error(exc)
                rejected = any(w in message for w in ("rejected", "fetch first", "non-fast-forward",
                                                      "failed to update ref", "cannot lock ref"))
                if not rejected or attempt == attempts - 1:
                    raise PushError(
                        f"push failed (the commit is kept in {self.path}): {message}"
                    ) from None
            time.sleep(random.uniform(0, backoff * 2**attempt))
            self.fetch()
            self._rebase(f"origin/{self.branch}")

    def unpushed(self) -> int:
        return int(self.repo.git.rev_list("--count", f"origin/{self.branch}..HEAD"))

    # -- commits ---------------------------------------------------------------------------
    def commit(self, pathspecs: list[str], message: str) -> str | None:
        """Commit every change under ``pathspecs``; None when nothing changed.

        Two git calls whatever the number of files: ``git status`` finds the changes and one
        ``git fast-import`` stream writes the blobs and trees into a single pack and moves the
        branch (``git add`` + ``git commit`` write one loose object file per blob and per
        tree, ~100,000 files for 25,000 sharded results). ``git reset`` then syncs the index.
        """
        changed = self._changes(pathspecs)
        if not changed:
            return None
        reader = self.repo.config_reader()
        who = f"{reader.get_value('user', 'name', IDENTITY[0])} " \
              f"<{reader.get_value('user', 'email', IDENTITY[1])}>"
        head = self.repo.head.commit.hexsha
        proc = subprocess.Popen(["git", "fast-import", "--quiet", "--done"], cwd=self.path,
                                stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdin is not None
        try:
            out = proc.stdin
            text = message.encode()
            out.write(f"commit refs/heads/{self.branch}\ncommitter {who} {int(time.time())} "
                      f"+0000\ndata {len(text)}\n".encode() + text + f"\nfrom {head}\n".encode())
            for rel in changed:
                path = self.path / rel
                if path.is_file() and not path.is_symlink():
                    data = path.read_bytes()
                    out.write(f"M 100644 inline {rel}\ndata {len(data)}\n".encode() + data + b"\n")
                else:
                    out.write(f"D {rel}\n".encode())
            out.write(b"done\n")
            out.close()
        except BrokenPipeError:
            pass
        err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        if proc.wait() != 0:
            raise VbotError(f"cannot commit: {redact(err.strip(), _secrets())[:500]}")
        self.repo.git.reset("-q")
        return self.repo.head.commit.hexsha

    def _changes(self, pathspecs: list[str]) -> list[str]:
        """Changed, new and deleted files under ``pathspecs`` (one ``git status`` call)."""
        existing = [p for p in pathspecs if (self.path / p).exists()
                    or self.repo.git.ls_files("--", p)]
        if not existing:
            return []
        out = self.repo.git.status("--porcelain", "-z", "--untracked-files=all",
                                   "--no-renames", "--", *existing, strip_newline_in_stdout=False)
        paths = [entry[3:] for entry in out.split("\0") if len(entry) > 3]
        for rel in paths:
            if rel.startswith('"') or "\n" in rel:
                raise VbotError(f"cannot commit a file named {rel!r}")
        return sorted(set(paths))

    def changed_files(self, rev: str = "HEAD") -> list[str]:
        out = self.repo.git.show("--name-only", "--format=", rev)
        return [line for line in out.splitlines() if line]


def create_remote(tree: Path, bare: Path, message: str = "Import data repo") -> str:
    """Make a bare repo at ``bare`` whose one commit holds the files of ``tree``.

    Used by ``vbot demo``, the tests and the benchmarks. Returns the ``file://`` URL.
    """
    if bare.exists():
        raise VbotError(f"{bare} already exists")
    scratch = bare.parent / f".{bare.name}.import"
    repo = git.Repo.init(scratch, initial_branch="main")
    try:
        with repo.config_writer() as cw:
            cw.set_value("user", "name", IDENTITY[0])
            cw.set_value("user", "email", IDENTITY[1])
        import shutil

        shutil.copytree(tree, scratch, dirs_exist_ok=True)
        repo.git.add("-A")
        repo.git.commit("-q", "-m", message)
        git.Repo.clone_from(scratch, bare, bare=True)
    finally:
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)
    return bare.resolve().as_uri()


def recent_commits(repo_path: Path | str, count: int = 2) -> str:
    """``git log --stat`` text of the last ``count`` commits of a (bare) repo."""
    repo = git.Repo(repo_path)
    return repo.git.log(f"-{count}", "--stat=100", "--format=commit %h  %ad%n    %s%n%n%b",
                        "--date=iso")
