"""Remote URLs of the data repo and where its private clone lives."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import platformdirs

from vbot.errors import VbotError
from vbot.git.env import run_git
from vbot.redact import redact

_SAFE_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def without_credentials(url: str) -> str:
    """``url`` without its ``user:token@`` part."""
    return re.sub(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@]*@", r"\1", url)


def normalise_remote(remote: str) -> str:
    """A URL stays a URL; a local path becomes absolute (and must exist)."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", remote) or re.match(r"^[^/]+@[^/]+:", remote):
        return remote
    path = Path(remote).expanduser()
    if not path.exists():
        raise VbotError(f"repository not found: {remote}")
    return str(path.resolve())


def check_pushable(remote: str) -> None:
    """VbotError (one line, before any work) when ``remote`` is a local clone with a work
    tree whose checked-out branch git refuses to update by a push (its default,
    ``receive.denyCurrentBranch = refuse``): the sweep would do all its work and then fail.
    URLs other than ``file://`` and bare repositories pass."""
    if re.match(r"^file://", remote):
        local = Path(unquote(urlsplit(remote).path))
    elif re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", remote) or re.match(r"^[^/]+@[^/]+:", remote):
        return
    else:
        local = Path(remote).expanduser()
    if not local.is_dir():
        return  # not found: the clone says so
    try:
        bare = run_git(local, "rev-parse", "--is-bare-repository").strip() == b"true"
    except VbotError:
        return  # not a repository: the clone says so
    if bare:
        return
    try:
        deny = run_git(local, "config", "receive.denyCurrentBranch").decode().strip().lower()
    except VbotError:  # unset: git refuses
        deny = "refuse"
    if deny in ("updateinstead", "ignore", "warn", "false", "no", "off", "0"):
        return
    raise VbotError(f"{redact(remote)} is a clone with a work tree, and git refuses pushes to "
                    "its checked-out branch: give a bare repository (git clone --bare), set "
                    "receive.denyCurrentBranch=updateInstead in it, or use --no-push")


def default_workdir(remote: str) -> Path:
    """The workspace folder of ``remote`` in the user's cache."""
    digest = hashlib.sha1(redact(remote).encode()).hexdigest()[:10]
    tail = _SAFE_SLUG.sub("-", redact(remote).rstrip("/").rsplit("/", 1)[-1])[:40] or "repo"
    return Path(platformdirs.user_cache_dir("vbot")) / "work" / f"{tail}-{digest}"
