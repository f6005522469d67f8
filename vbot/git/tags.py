"""Tags of upstream git repositories (the gittags source) and the fake upstream's tag repos."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from vbot.errors import UpstreamError, VbotError
from vbot.git.env import IDENTITY, secrets
from vbot.redact import redact

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


    shown = redact(url, secrets())
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
    except OSError as exc:  # the machine's failure, not the remote's answer: no result is written
        raise VbotError(f"cannot run git: {exc.strerror or exc}") from None
    if done.returncode != 0:
        err = redact(" ".join(done.stderr.split()), secrets())[:300] or f"exit {done.returncode}"
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
