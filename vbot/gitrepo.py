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
import fcntl
import hashlib
import os
import random
import re
import shutil
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
    def commit(self, pathspecs: list[str], message: str) -> str | None:
        """Stage ``pathspecs`` in one git call and commit; None when nothing changed."""
        existing = [p for p in pathspecs if (self.path / p).exists()]
        if existing:
            self.repo.git.add("-A", "--", *existing)
        if not self.repo.git.diff("--cached", "--name-only"):
            return None
        self.repo.git.commit("-q", "-m", message)
        return self.repo.head.commit.hexsha

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
