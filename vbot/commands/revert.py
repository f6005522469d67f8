"""``vbot revert RUN_ID... [REPO]``: undo sweep or merge runs with ``git revert`` and push.

The commits are found by their ``Vbot-Run:`` trailer in one ``git log`` call (a shallow
workspace fetches older history until it holds them, see :func:`find_runs_deepening`) and reverted
newest first (a merge before the sweep it merged) into one commit, whose message carries a
``Vbot-Reverts:`` trailer per run and its own ``Vbot-Run: revert-...`` id. Nothing is forced:
the push is an ordinary fast-forward (rebased and retried when the remote moved).
"""

from __future__ import annotations

import re
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from vbot.errors import VbotError
from vbot.git import log as gitlog
from vbot.git import maintainer
from vbot.git.env import run_git
from vbot.git.push import push
from vbot.git.remote import check_pushable
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


class MissingRuns(VbotError):
    """No commit of the remote's history carries these run ids."""

    def __init__(self, run_ids: list[str]) -> None:
        super().__init__(f"no commit with Vbot-Run: {', '.join(run_ids)} (a run with no "
                         "changes, or whose changes were all already on the remote, made no "
                         "commit: its summary said 'no commit' or 'nothing left to push')")
        self.run_ids = run_ids


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
        raise MissingRuns(sorted(wanted))
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
        except MissingRuns as exc:
            found["error"] = exc
            return False
        boundary = shallow_boundary(ws.path)  # commits whose parents are not fetched yet
        return not any(sha in boundary for _, sha in found["runs"])

    if not ws.deepen_until(enough):
        raise found["error"]
    return found["runs"]


def landed_elsewhere(path: Path, run_ids: list[str]) -> list[str]:
    """The runs among ``run_ids`` whose commit this clone made but no longer holds on its
    branch: the rebase onto the remote dropped it as empty (another run had pushed the same
    changes). Found in the clone's reflog; [] in any other clone."""
    try:
        out = run_git(path, "log", "-g", "--format=%x1e%B", "HEAD")
    except VbotError:
        return []
    seen = {gitlog.run_id_of(chunk) for chunk in out.decode("utf-8", "replace").split("\x1e")}
    return [rid for rid in run_ids if rid in seen]


def merges_in_place(path: Path, runs: list[tuple[str, str]]) -> list[str]:
    """Warnings for sweeps reverted while a later merge of their results stays: the graph
    keeps the ``new_version`` values that merge took from them."""
    asked = {rid for rid, _ in runs}
    sweeps = {sha: rid for rid, sha in runs if rid.startswith("sweep-")}
    if not sweeps:
        return []
    entries = gitlog.log(path)
    reverted = {rid for e in entries for rid in gitlog.reverted_runs(e.message)}
    warnings = []
    later: list[str] = []  # merge runs newer than the commit being looked at
    for entry in entries:  # newest first
        rid = entry.run_id
        if entry.sha in sweeps and later:
            warnings.append(f"{later[-1]} merged {sweeps[entry.sha]}'s results and is still in "
                            f"place: the graph keeps the new_version values it set; revert "
                            f"it too (vbot revert {later[-1]} {sweeps[entry.sha]}) to undo them")
        if rid and rid.startswith("merge-") and entry.subject.startswith("vbot merge") \
                and rid not in asked and rid not in reverted:
            later.append(rid)
    return warnings


def revert_message(run_id: str, runs: list[tuple[str, str]]) -> str:
    names = ", ".join(rid for rid, _ in runs)
    lines = "".join(f"This reverts commit {sha} ({rid}).\n" for rid, sha in runs)
    trailers = "".join(f"Vbot-Reverts: {rid}\n" for rid, _ in runs)
    return f"vbot revert: {names}\n\n{lines}\n{trailers}Vbot-Run: {run_id}\n"


def revert(opts: RevertOptions, out: TextIO) -> RevertResult:
    remote = opts.remote or maintainer.origin_url(maintainer.repo_toplevel(Path.cwd()))
    run_id = new_run_id("revert")
    if opts.push:
        check_pushable(remote)  # before any work: a push there would be refused
    with ExitStack() as stack:
        ws = stack.enter_context(Workspace.open(remote, opts.workdir))
        try:
            runs = find_runs_deepening(ws, opts.run_ids)
        except MissingRuns as exc:
            dropped = landed_elsewhere(ws.path, exc.run_ids)
            if set(dropped) != set(exc.run_ids):
                raise
            for rid in dropped:  # known here: this workspace made the commit, then lost it
                print(f"run {rid}'s changes were already on the remote (pushed by another "
                      "run; its own commit was dropped when rebased): nothing to revert for "
                      "it", file=out)
            rest = tuple(r for r in opts.run_ids if r not in dropped)
            if not rest:
                return RevertResult(run_id, [], None, False)
            runs = find_runs_deepening(ws, rest)
        for warning in merges_in_place(ws.path, runs):
            print(f"vbot: warning: {warning}", file=sys.stderr)
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
