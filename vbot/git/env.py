"""The environment every git command runs in, the plain-``git`` runner and error texts."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import git

from vbot.errors import VbotError
from vbot.redact import redact

IDENTITY = ("vbot", "vbot@users.noreply.example")


def secrets() -> list[str | None]:
    """Tokens that must never appear in a message shown to the user."""
    return [os.environ.get("GITHUB_TOKEN"), os.environ.get("GH_TOKEN")]


def git_env() -> dict[str, str]:
    """Environment for every git command: non-interactive, English, bounded transfers."""
    env = {"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never", "LC_ALL": "C",
           "LANGUAGE": "C", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}
    for key, default in (("GIT_HTTP_LOW_SPEED_LIMIT", "1000"), ("GIT_HTTP_LOW_SPEED_TIME", "60"),
                         ("GIT_SSH_COMMAND", "ssh -o BatchMode=yes -o ConnectTimeout=30")):
        env[key] = os.environ.get(key) or default
    return env


def open_repo(path: Path) -> git.Repo:
    """A GitPython repo whose commands run in :func:`git_env`."""
    repo = git.Repo(path)
    repo.git.update_environment(**git_env())
    return repo


def clean_error(exc: BaseException) -> str:
    """A one-line, secret-free description of a git failure."""
    if isinstance(exc, git.GitCommandError):
        stderr = (exc.stderr or "").strip().replace("\n", " ")
        stderr = re.sub(r"^stderr: ", "", stderr).strip("' ")
        text = stderr or f"git {exc.command[1] if len(exc.command) > 1 else ''} failed"
    else:
        text = str(exc)
    return redact(" ".join(text.split()), secrets())[:500]


def run_git(cwd: Path | str, *args: str, stdin: bytes | None = None) -> bytes:
    """stdout of one plain ``git`` subprocess; VbotError (redacted stderr) when it fails."""
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True,
                              check=False)
    except OSError as exc:
        raise VbotError(f"cannot run git: {exc}") from None
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().replace("\n", " ")
        raise VbotError(f"git {args[0]} failed in {cwd}: "
                        f"{redact(message, secrets())[:500] or 'exit ' + str(proc.returncode)}")
    return proc.stdout
