"""All git access of vbot, through GitPython: clone/update, commit, push with retry, log.

The workspace is a private clone of the data repo's remote. One vbot process at a time works in
it (an advisory lock); a crash can leave only uncommitted files, which the next run discards, or
an unpushed commit, which the next run rebases and pushes. A crash inside git can also leave
stale ``*.lock`` files, an interrupted rebase or a half-made clone; ``Workspace.open`` repairs
each of these under the workspace lock before anything else happens.

git never prompts (no terminal, no askpass), speaks English (its messages are matched) and gives
up on a stalled HTTP transfer; every git message shown is passed through ``vbot.redact``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import random
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import git
import platformdirs

from vbot.errors import PushError, VbotError
from vbot.names import READ_FLAGS, read_regular_fd
from vbot.redact import redact

IDENTITY = ("vbot", "vbot@users.noreply.example")
_SAFE_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def _secrets() -> list[str | None]:
    return [os.environ.get("GITHUB_TOKEN"), os.environ.get("GH_TOKEN")]


def git_env() -> dict[str, str]:
    """Environment for every git command: non-interactive, English, bounded transfers."""
    env = {"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never", "LC_ALL": "C",
           "LANGUAGE": "C", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}
    for key, default in (("GIT_HTTP_LOW_SPEED_LIMIT", "1000"), ("GIT_HTTP_LOW_SPEED_TIME", "60"),
                         ("GIT_SSH_COMMAND", "ssh -o BatchMode=yes -o ConnectTimeout=30")):
        env[key] = os.environ.get(key) or default
    return env


def _repo(path: Path) -> git.Repo:
    repo = git.Repo(path)
    repo.git.update_environment(**git_env())
    return repo


def _remove_stale_locks(gitdir: Path) -> None:
    """Lock files left by a killed git (we hold the workspace lock: no git is running here)."""
    candidates = [*gitdir.glob("*.lock"), *(gitdir / "refs").rglob("*.lock")]
    for lock in candidates:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()


def clean_error(exc: BaseException) -> str:
    """A one-line, secret-free description of a git failure."""
    if isinstance(exc, git.GitCommandError):
        stderr = (exc.stderr or "").strip().replace("\n", " ")
        stderr = re.sub(r"^stderr: ", "", stderr).strip("' ")
        text = stderr or f"git {exc.command[1] if len(exc.command) > 1 else ''} failed"
    else:
        text = str(exc)
    return redact(" ".join(text.split()), _secrets())[:500]


# git's words for "the remote branch moved under us" (another writer pushed first); anything
# else (unreachable, authentication, hook refusal) is not worth a retry
_MOVED = ("fetch first", "non-fast-forward", "failed to update ref", "cannot lock ref",
          "incorrect old value", "stale info")


def moved(message: str) -> bool:
    """True when a push failed only because the remote branch moved."""
    return any(words in message for words in _MOVED)


def _without_credentials(url: str) -> str:
    return re.sub(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@]*@", r"\1", url)


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
            if (path / ".git").exists() and cls._half_cloned(path):
                shutil.rmtree(path)  # a clone killed half-way: nothing of ours is in it
            cloned = (path / ".git").exists()
            yield cls._update(path, remote) if cloned else cls._clone(remote, path)

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
    def _clone(cls, remote: str, path: Path) -> Workspace:
        if path.exists() and any(path.iterdir()):
            raise VbotError(f"workdir {path} exists and is not a git clone")
        try:
            repo = git.Repo.clone_from(remote, path, env=git_env())
        except git.GitCommandError as exc:
            shutil.rmtree(path, ignore_errors=True)
            shown = redact(remote, _secrets())
            # a repo that cannot be cloned is a user error (exit 1), unlike a failed push
            raise VbotError(f"cannot clone {shown}: {clean_error(exc)}") from None
        repo.git.update_environment(**git_env())
        if not repo.head.is_valid():
            raise VbotError(f"{redact(remote, _secrets())}: the repository has no commits")
        ws = cls(path=path, repo=repo, branch=repo.active_branch.name)
        ws._ensure_identity()
        return ws

    @classmethod
    def _update(cls, path: Path, remote: str) -> Workspace:
        try:
            repo = _repo(path)
        except git.InvalidGitRepositoryError:
            raise VbotError(f"workdir {path} is not a git clone") from None
        origins = [r for r in repo.remotes if r.name == "origin"]
        if not origins or not repo.head.is_valid():
            raise VbotError(f"workdir {path} is not a vbot clone (no origin or no commit)")
        if origins[0].url != remote:
            if _without_credentials(origins[0].url) != _without_credentials(remote):
                raise VbotError(f"workdir {path} is a clone of another remote "
                                f"({redact(origins[0].url, _secrets())})")
            origins[0].set_url(remote)  # same remote, new credentials (e.g. a rotated token)
        _remove_stale_locks(path / ".git")
        g = repo.git
        # an interrupted rebase leaves HEAD detached: undo it before asking for the branch
        with contextlib.suppress(git.GitCommandError):
            g.rebase("--abort")
        if repo.head.is_detached:
            g.checkout("-f", cls._remote_branch(repo))
        ws = cls(path=path, repo=repo, branch=repo.active_branch.name)
        ws._ensure_identity()
        g.reset("--hard", "HEAD")
        g.clean("-ffdxq")
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
        try:
            self.repo.git.fetch("origin", self.branch)
        except git.GitCommandError as exc:
            raise PushError(f"cannot fetch from the remote: {clean_error(exc)}") from None

    def sync(self) -> None:
        """Fetch and move onto the remote branch, keeping (rebasing) unpushed commits."""
        self.fetch()
        upstream = f"origin/{self.branch}"
        behind, ahead = (int(n) for n in self.repo.git.rev_list(
            "--count", "--left-right", f"{upstream}...HEAD").split())
        if ahead:
            self._rebase(upstream)
        elif behind:
            self.repo.git.reset("--hard", upstream)
        # else HEAD is the remote branch already; the caller's reset made the tree match it

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
                if not moved(message) or attempt == attempts - 1:
                    raise PushError(
                        f"push failed (the commit is kept in {self.path}): {message}"
                    ) from None
            time.sleep(random.uniform(0, backoff * 2**attempt))
            self.fetch()
            self._rebase(f"origin/{self.branch}")

    def unpushed(self) -> int:
        return int(self.repo.git.rev_list("--count", f"origin/{self.branch}..HEAD"))

    # -- commits ---------------------------------------------------------------------------
    def commit(self, pathspecs: list[str], message: str,
               paths: Iterable[str] | None = None) -> str | None:
        """Commit every change under ``pathspecs``; None when nothing changed.

        ``paths``, when given, are the only files that may have changed (repo-relative posix
        paths the caller wrote or deleted; those outside ``pathspecs`` are ignored): they are
        compared with HEAD's tree (one ``git ls-tree``) instead of a ``git status`` over
        everything under ``pathspecs``. Listed files are committed whatever ``.gitignore``
        says. Without ``paths``, ``git status`` finds the changes.

        One ``git fast-import`` stream writes the blobs and trees into a single pack and moves
        the branch (``git add`` + ``git commit`` write one loose object file per blob and per
        tree, ~100,000 files for 25,000 sharded results); a kill before it finishes leaves the
        branch where it was. ``git update-index`` then brings the index entries of the
        committed paths (and only those) in line with the new commit.
        """
        if paths is None:
            found = self._changes(pathspecs)
            changes = [(rel, self._read_regular(rel)) for rel in found]
        else:
            changes = self._changes_among(pathspecs, paths)
        if not changes:
            return None
        reader = self.repo.config_reader()
        who = f"{reader.get_value('user', 'name', IDENTITY[0])} " \
              f"<{reader.get_value('user', 'email', IDENTITY[1])}>"
        head = self.repo.head.commit.hexsha
        # fast-import grows and shrinks its heap by tiny steps (one brk per tree entry); with
        # 25,000 sharded files that is ~200,000 system calls, 3 s of 4 s: padding the heap's
        # top stops it (glibc; other C libraries ignore the variable)
        env = {**os.environ, **git_env(), "MALLOC_TOP_PAD_": str(64 << 20)}
        proc = subprocess.Popen(["git", "fast-import", "--quiet", "--done"], cwd=self.path,
                                stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        assert proc.stdin is not None
        try:
            out = proc.stdin
            text = message.encode()
            out.write(f"commit refs/heads/{self.branch}\ncommitter {who} {int(time.time())} "
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
            raise VbotError(f"cannot commit: {redact(err.strip(), _secrets())[:500]}")
        self._sync_index(changes)
        return self.repo.head.commit.hexsha

    def _read_regular(self, rel: str) -> bytes | None:
        """The bytes of a regular file of the work tree; None for anything else (deleted):
        missing, a symlink (``O_NOFOLLOW``), a folder. One ``open`` + ``fstat`` per file."""
        try:
            fd = os.open(os.path.join(self.path, rel), READ_FLAGS)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ELOOP, errno.ENOTDIR):
                return None
            raise
        return read_regular_fd(fd)

    def _sync_index(self, changes: list[tuple[str, bytes | None]]) -> None:
        """Index entries of the committed paths as in HEAD: regular files re-added (hashed,
        with their stat data, by one ``git update-index``), the rest removed."""
        added = [rel for rel, data in changes if data is not None]
        removed = [rel for rel, data in changes if data is None]
        try:
            for flags, rels in ((["--add", "--remove"], added), (["--force-remove"], removed)):
                if rels:
                    _git(self.path, "update-index", *flags, "-z", "--stdin",
                         stdin="".join(f"{r}\0" for r in rels).encode("utf-8", "surrogateescape"))
        except VbotError:  # whatever went wrong: the slow, whole-tree way
            self.repo.git.reset("-q")

    def _changes_among(self, pathspecs: list[str], paths: Iterable[str]
                       ) -> list[tuple[str, bytes | None]]:
        """(path, new bytes or None for a deletion) for the listed paths that differ from HEAD."""
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
        in_head = self._head_entries(tops)
        changes = []
        for rel in wanted:
            data = self._read_regular(rel)
            mode_sha = in_head.get(rel)
            if data is None:
                if mode_sha is not None and not self._same_link(rel, mode_sha):
                    changes.append((rel, None))
                continue
            digest = hashlib.sha1(b"blob %d\0" % len(data))
            digest.update(data)
            sha = digest.hexdigest()
            if mode_sha is None or mode_sha[1] != sha or mode_sha[0] not in ("100644", "100755"):
                changes.append((rel, data))
        return changes

    def _same_link(self, rel: str, mode_sha: tuple[str, str]) -> bool:
        """True when ``rel`` is a symlink that HEAD holds as this very symlink (unchanged)."""
        if mode_sha[0] != "120000":
            return False
        try:
            target = os.readlink(self.path / rel).encode("utf-8", "surrogateescape")
        except OSError:
            return False
        return hashlib.sha1(b"blob %d\0" % len(target) + target).hexdigest() == mode_sha[1]

    def _head_entries(self, pathspecs: list[str]) -> dict[str, tuple[str, str]]:
        """``{path: (mode, sha)}`` of HEAD's files under ``pathspecs`` (one ``git ls-tree``)."""
        out = _git(self.path, "ls-tree", "-r", "-z", "--full-tree", "HEAD", "--",
                   *[f":(literal){p}" for p in pathspecs])
        entries = {}
        for record in out.decode("utf-8", "surrogateescape").split("\0"):
            meta, _, path = record.partition("\t")
            parts = meta.split()
            if len(parts) == 3:
                entries[path] = (parts[0], parts[2])
        return entries

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
        shutil.copytree(tree, scratch, dirs_exist_ok=True, symlinks=True)
        repo.git.add("-A")
        repo.git.commit("-q", "-m", message)
        git.Repo.clone_from(scratch, bare, bare=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return bare.resolve().as_uri()


def recent_commits(repo_path: Path | str, count: int = 2) -> str:
    """``git log --stat`` text of the last ``count`` commits of a (bare) repo."""
    repo = git.Repo(repo_path)
    return repo.git.log(f"-{count}", "--stat=100", "--format=commit %h  %ad%n    %s%n%n%b",
                        "--date=iso")


# -- read-only helpers for the maintainer commands (history, validate, status, revert) -----
# These run plain ``git`` subprocesses: one call each, output parsed in Python.

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


def _git(cwd: Path | str, *args: str, stdin: bytes | None = None) -> bytes:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True,
                              check=False)
    except OSError as exc:
        raise VbotError(f"cannot run git: {exc}") from None
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().replace("\n", " ")
        raise VbotError(f"git {args[0]} failed in {cwd}: "
                        f"{redact(message, _secrets())[:500] or 'exit ' + str(proc.returncode)}")
    return proc.stdout


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


def repo_toplevel(path: Path | str) -> Path:
    """The work tree root of the git clone containing ``path``."""
    if not Path(path).is_dir():
        raise VbotError(f"not a directory: {path}")
    try:
        out = _git(path, "rev-parse", "--show-toplevel")
    except VbotError:
        raise VbotError(f"{path} is not inside a git clone of a data repo") from None
    return Path(out.decode().strip())


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
    out = _git(repo_dir, *args).decode("utf-8", "surrogateescape")
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
    out = _git(repo_dir, "diff", "--cached", "--raw", "-z", "--no-renames", "--no-abbrev",
               "--diff-filter=ACMRT").decode("utf-8", "surrogateescape")
    fields = out.split("\0")
    staged = {}
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        parts = meta.lstrip(":").split()
        if len(parts) >= 4 and path:
            staged[path] = parts[3]
    return staged


def hooks_dir(repo_dir: Path | str) -> Path:
    """The folder git runs hooks from (honours ``core.hooksPath``)."""
    out = _git(repo_dir, "rev-parse", "--path-format=absolute", "--git-path", "hooks")
    return Path(out.decode().strip())


def origin_url(repo_dir: Path | str) -> str:
    """The ``origin`` remote URL of a clone."""
    try:
        return _git(repo_dir, "remote", "get-url", "origin").decode().strip()
    except VbotError:
        raise VbotError(f"{repo_dir}: the clone has no 'origin' remote; give REPO") from None


def revert_commits(ws: Workspace, shas: list[str], message: str) -> str | None:
    """Revert ``shas`` (in that order) into ONE new commit with ``message``.

    Returns the new commit, or None when the reverts change nothing. A conflict (later
    commits changed the same lines) aborts and raises VbotError naming the files.
    """
    g = ws.repo.git
    for sha in shas:
        try:
            g.revert("--no-commit", "--no-edit", sha)
        except git.GitCommandError as exc:
            conflicted = g.diff("--name-only", "--diff-filter=U").split()
            with contextlib.suppress(git.GitCommandError):
                g.revert("--abort")
            g.reset("--hard", "HEAD")
            detail = (f"{len(conflicted)} file(s) changed again later, e.g. {conflicted[0]}"
                      if conflicted else clean_error(exc))
            raise VbotError(f"cannot revert {sha[:12]}: {detail}; revert the later runs too "
                            "(newest first) or resolve by hand with git revert") from None
    if not g.diff("--cached", "--name-only"):
        with contextlib.suppress(git.GitCommandError):
            g.revert("--quit")
        return None
    g.commit("-q", "-m", message)
    with contextlib.suppress(git.GitCommandError):
        g.revert("--quit")
    return ws.repo.head.commit.hexsha


def tree_files(repo_dir: Path | str, rev: str = "HEAD") -> dict[str, str]:
    """``{path: blob sha}`` of the regular files in ``rev``'s tree (one ``git ls-tree``).

    Works in bare repos too; symlinks and submodules are left out.
    """
    out = _git(repo_dir, "ls-tree", "-r", "-z", "--full-tree", rev)
    files = {}
    for record in out.decode("utf-8", "surrogateescape").split("\0"):
        meta, _, path = record.partition("\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == "blob" and parts[0] in ("100644", "100755"):
            files[path] = parts[2]
    return files


def is_git_dir(path: Path | str) -> bool:
    """True for a local clone or bare repository (something ``git log`` can read)."""
    try:
        return Path(path).is_dir() and bool(_git(path, "rev-parse", "--git-dir").strip())
    except VbotError:
        return False


# -- upstream tags (the gittags source) ------------------------------------------------------
REMOTE_SCHEMES = ("https", "http", "git", "ssh")
_TRANSIENT_GIT = ("could not resolve", "timed out", "connection refused", "connection reset",
                  "unable to access", "early eof", "temporary failure", "http 5", "error: 5")


def remote_url_allowed(url: str) -> bool:
    """Only ``https``, ``http``, ``git`` and ``ssh`` URLs with a host; never ``file://``,
    ``ext::`` or scp-like spellings (transports that can run commands or read local files)."""
    match = re.match(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<rest>[^/?#]+)", url)
    if not match or match.group("scheme").lower() not in REMOTE_SCHEMES:
        return False
    host = match.group("rest").rpartition("@")[2]
    return bool(host) and not host.startswith("-") and not re.search(r"\s", url)


def ls_remote_tags(url: str, timeout: float, rewrite: tuple[tuple[str, str], ...] = ()
                   ) -> list[str]:
    """Tag names of a remote repository, by ``git ls-remote --tags --refs``.

    ``rewrite`` pairs (old prefix, new prefix) become ``url.<new>.insteadOf=<old>``. Only the
    transports of ``REMOTE_SCHEMES`` are allowed, also after rewriting and on redirects; no
    prompts; killed after ``timeout`` seconds. Failures raise ``UpstreamError`` (transient
    for network trouble and timeouts).
    """
    import subprocess

    from vbot.errors import UpstreamError

    shown = redact(url, _secrets())
    if not remote_url_allowed(url):
        raise UpstreamError(f"refusing git URL {shown}: only {', '.join(REMOTE_SCHEMES)} URLs")
    cmd = ["git", "-c", "protocol.allow=never"]
    for scheme in REMOTE_SCHEMES:
        cmd += ["-c", f"protocol.{scheme}.allow=always"]
    for old, new in rewrite:
        cmd += ["-c", f"url.{new}.insteadOf={old}"]
    cmd += ["ls-remote", "--tags", "--refs", "--", url]
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true",
           "SSH_ASKPASS": "true", "GIT_ALLOW_PROTOCOL": ":".join(REMOTE_SCHEMES),
           "GIT_SSH_COMMAND": f"ssh -o BatchMode=yes -o ConnectTimeout={max(1, int(timeout))}",
           "GIT_HTTP_LOW_SPEED_LIMIT": "1000", "GIT_HTTP_LOW_SPEED_TIME": str(max(1, int(timeout)))}
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                              stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        raise UpstreamError(f"git ls-remote {shown} timed out after {timeout:g}s",
                            transient=True) from None
    except OSError as exc:
        raise UpstreamError(f"cannot run git: {exc.strerror or exc}") from None
    if done.returncode != 0:
        err = redact(" ".join(done.stderr.split()), _secrets())[:300] or f"exit {done.returncode}"
        transient = any(word in err.lower() for word in _TRANSIENT_GIT) and "404" not in err
        raise UpstreamError(f"git ls-remote {shown}: {err}", transient=transient)
    tags = []
    for line in done.stdout.splitlines():
        _sha, _, ref = line.partition("\t")
        if ref.startswith("refs/tags/"):
            tags.append(ref[len("refs/tags/") :])
    return tags


def make_tag_repo(bare: Path, tags: list[str]) -> None:
    """A bare repo at ``bare`` with one commit and a lightweight tag per name, prepared for
    dumb-HTTP serving (``git update-server-info``). Used by the fake upstream."""
    import subprocess

    env = {**os.environ, "GIT_AUTHOR_NAME": IDENTITY[0], "GIT_AUTHOR_EMAIL": IDENTITY[1],
           "GIT_COMMITTER_NAME": IDENTITY[0], "GIT_COMMITTER_EMAIL": IDENTITY[1],
           "GIT_AUTHOR_DATE": "2025-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2025-01-01T00:00:00Z"}

    def run(*args: str, stdin: str | None = None) -> str:
        return subprocess.run(["git", *args], input=stdin, text=True, check=True, cwd=bare,
                              env=env, capture_output=True).stdout.strip()

    bare.mkdir(parents=True, exist_ok=True)
    run("init", "-q", "--bare", "--initial-branch=main")
    tree = run("hash-object", "-t", "tree", "-w", "--stdin", stdin="")
    commit = run("commit-tree", tree, "-m", "upstream")
    run("update-ref", "refs/heads/main", commit)
    if tags:
        run("update-ref", "--stdin", stdin="".join(f"create refs/tags/{t} {commit}\n"
                                                   for t in tags))
    run("update-server-info")
