"""Remote URLs of the data repo and where its private clone lives."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import platformdirs

from vbot.errors import VbotError
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


def default_workdir(remote: str) -> Path:
    """The workspace folder of ``remote`` in the user's cache."""
    digest = hashlib.sha1(redact(remote).encode()).hexdigest()[:10]
    tail = _SAFE_SLUG.sub("-", redact(remote).rstrip("/").rsplit("/", 1)[-1])[:40] or "repo"
    return Path(platformdirs.user_cache_dir("vbot")) / "work" / f"{tail}-{digest}"
