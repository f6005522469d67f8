"""``vbot revert RUN_ID... [REPO]``: undo sweep or merge runs with ``git revert`` and push.

The commits are found by their ``Vbot-Run:`` trailer in one ``git log`` call (a shallow
workspace fetches older history until it holds them, see :func:`find_runs_deepening`) and reverted
newest first (a merge before the sweep it merged) into one commit, whose message carries a
``Vbot-Reverts:`` trailer per run and its own ``Vbot-Run: revert-...`` id. Nothing is forced:
the push is an ordinary fast-forward (rebased and retried when the remote moved).
"""

from __future__ import annotations

import re
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from vbot.errors import VbotError
from vbot.git import log as gitlog
from vbot.git import maintainer
from vbot.git.push import push
from vbot.git.shallow import shallow_boundary
from vbot.git.workspace import Workspace
from vbot.run.report import new_run_id

RUN_ID = re.compile(r"^(?:sweep|merge|revert)-\d{8}T\d{6}Z-[0-9a-f]+$")


@dataclass(frozen=True)
class RevertOptions:
    run_ids: tuple[str, ...]
    remote: str | None = None  # default: origin of the clone in the current directory
    workdir: Path | None = None
    push: bool = True


@dataclass(frozen=True)
class RevertResult:
    run_id: str
    reverted: list[tuple[str, str]]  # (run id, commit) in the order reverted
    commit: str | None
    pushed: bool


def split_args(args: list[str]) -> tuple[tuple[str, ...], str | None]:
    """RUN_IDs and an optional REPO from the positional arguments."""
    run_ids = [a for a in args if RUN_ID.match(a)]
    others = [a for a in args if not RUN_ID.match(a)]
    if len(others) > 1:
        raise VbotError(f"not run ids: {', '.join(others)} (run ids look like "
                        "sweep-20261122T041500Z-3f9a1c; give at most one REPO)")
    if not run_ids:
        raise VbotError("give at least one run id (see the Vbot-Run: trailer in git log)")
    return tuple(dict.fromkeys(run_ids)), (others[0] if others else None)


def find_runs(path: Path, run_ids: tuple[str, ...]) -> list[tuple[str, str]]:
    """``(run id, commit)`` for each asked run, newest commit first (one ``git log``)."""
    wanted = set(run_ids)
    found: list[tuple[str, str]] = []
    already: dict[str, str] = {}
    for entry in gitlog.log(path):
        for rid in gitlog.reverted_runs(entry.message):
            already.setdefault(rid, entry.sha)
        rid = entry.run_id
        if rid in wanted and not entry.subject.startswith("vbot revert"):
            found.append((rid, entry.sha))
            wanted.discard(rid)
    if wanted:
        raise VbotError(f"no commit with Vbot-Run: {', '.join(sorted(wanted))}")
    done = [rid for rid, _ in found if rid in already]
    if done:
        raise VbotError(f"already reverted: {done[0]} (by commit {already[done[0]][:12]})")
    return found


def find_runs_deepening(ws: Workspace, run_ids: tuple[str, ...]) -> list[tuple[str, str]]:
    """:func:`find_runs` in a shallow workspace: older history is fetched until each run's
    commit and its parent are there (or the whole history is, and a run is still missing)."""
    found: dict[str, Any] = {}

    def enough() -> bool:
        try:
            found["runs"] = find_runs(ws.path, run_ids)
        except VbotError as exc:
            if not str(exc).startswith("no commit with"):
                raise
            found["error"] = exc
            return False
        boundary = shallow_boundary(ws.path)  # commits whose parents are not fetched yet
        return not any(sha in boundary for _, sha in found["runs"])

    if not ws.deepen_until(enough):
        raise found["error"]
    return found["runs"]


def revert_message(run_id: str, runs: list[tuple[str, str]]) -> str:
    names = ", ".join(rid for rid, _ in runs)
    lines = "".join(f"This reverts commit {sha} ({rid}).\n" for rid, sha in runs)
    trailers = "".join(f"Vbot-Reverts: {rid}\n" for rid, _ in runs)
    return f"vbot revert: {names}\n\n{lines}\n{trailers}Vbot-Run: {run_id}\n"


def revert(opts: RevertOptions, out: TextIO) -> RevertResult:
    remote = opts.remote or maintainer.origin_url(maintainer.repo_toplevel(Path.cwd()))
    run_id = new_run_id("revert")
    with ExitStack() as stack:
        ws = stack.enter_context(Workspace.open(remote, opts.workdir))
        runs = find_runs_deepening(ws, opts.run_ids)
        sha = maintainer.revert_commits(ws, [c for _, c in runs], revert_message(run_id, runs))
        for rid, commit in runs:
            print(f"reverting {rid} (commit {commit[:12]})", file=out)
        pushed = False
        if sha is None:
            print("nothing to revert: the tree already matches", file=out)
        elif opts.push:
            push(ws)
            pushed = True
        print(f"revert {run_id}: commit {(sha or 'none')[:12]}"
              f"{', pushed' if pushed else ' (not pushed)' if sha else ''}", file=out)
    return RevertResult(run_id, runs, sha, pushed)
