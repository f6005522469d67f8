"""The end of every writing command: one commit, push (unless asked not to), the JSON report.

What the report and the summary name is what the remote holds: when another run pushed
first, the commit is rebased onto the remote before it is pushed, so the commit reported is
the rebased one (``rebased_from`` keeps the local one), and its message is rebuilt from the
rebased diff (a sweep's "N new" counts the files that commit really changes). When the
rebase leaves nothing (every change of the run was already on the remote), there is no
commit of this run on the remote: the report says so (``landed_elsewhere``, "nothing left to
push") instead of naming a commit that was dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from vbot.git.commit import commit, reword_head
from vbot.git.log import run_id_of
from vbot.git.push import push as push_head
from vbot.git.workspace import Workspace
from vbot.run.report import RunReport

_SWEEP_SUBJECT = re.compile(r"^(vbot sweep: \d+ checked, )(\d+) new, (\d+) unchanged")


def commit_and_push(ws: Workspace, report: RunReport, pathspecs: list[str], message: str,
                    push: bool, report_path: Path | None,
                    paths: Iterable[str] | None = None,
                    contents: Mapping[str, bytes] | None = None) -> str | None:
    """Commit ``pathspecs`` once, push when asked (also an earlier unpushed commit), and write
    the report even when the push fails. Returns the run's commit as the remote holds it
    (rebased when another run pushed first), or None (no changes, or none left to push).

    ``paths``: every file the command wrote or deleted under ``pathspecs``, when it knows
    them (see ``vbot.git.commit.commit``); None to find the changes with ``git status``.
    ``contents``: the new bytes of listed files not written into the work tree (same).

    A report that cannot be written does not stop anything (the commit is pushed, the
    summary printed): ``report.extra["report_error"]`` says why, and the command exits 1.
    Its path is checked before any work (``vbot/main.py``)."""
    with report.phase("commit"):
        sha = commit(ws, pathspecs, message, paths, contents)
    report.extra["commit"] = sha
    report.extra["pushed"] = False
    try:
        if push and (sha or ws.unpushed()):
            with report.phase("push"):
                left = push_head(ws, rebased=lambda: _reword(ws, report.run_id))
            report.extra["pushed"] = True
            if sha is not None:
                sha = _as_pushed(ws, report, sha, left)
    finally:
        if report_path:
            try:
                report.write(report_path)
            except OSError as exc:
                report.extra["report_error"] = (f"cannot write the report {report_path}: "
                                                f"{exc.strerror or exc}")
    return sha


def _as_pushed(ws: Workspace, report: RunReport, sha: str, left: bool) -> str | None:
    """The run's commit on the remote after the push (None: the rebase dropped it)."""
    head = ws.repo.head.commit
    if not left or run_id_of(head.message) != report.run_id:
        report.extra["commit"] = None
        report.extra["landed_elsewhere"] = True
        report.extra["dropped_commit"] = sha
        return None
    if head.hexsha != sha:
        report.extra["commit"] = head.hexsha
        report.extra["rebased_from"] = sha
    return head.hexsha


def _reword(ws: Workspace, run_id: str) -> None:
    """After a rebase onto the remote: rebuild the message of the run's commit (HEAD) from
    what it now changes."""
    head = ws.repo.head.commit
    if run_id_of(head.message) != run_id or not head.parents:
        return  # an earlier run's unpushed commit, or the root: left as it is
    changed = len(ws.changed_files("HEAD"))
    message = rebased_message(head.message, changed, head.parents[0].hexsha)
    if message != head.message:
        reword_head(ws, message)


def rebased_message(message: str, changed: int, onto: str) -> str:
    """``message`` of a commit rebased onto ``onto`` that now changes ``changed`` files: a
    sweep's subject counts those files as new (the rest were already on the remote, so they
    count as unchanged), and a line before the trailers says what happened."""
    subject, _, rest = message.partition("\n")
    match = _SWEEP_SUBJECT.match(subject)
    note = f"Rebased onto {onto[:12]}: this commit changes {changed} files"
    if match:
        new, unchanged = int(match.group(2)), int(match.group(3))
        if changed < new:
            note += f" ({new - changed} of the {new} written were already on the remote)"
            subject = (f"{match.group(1)}{changed} new, {unchanged + new - changed} unchanged"
                       + subject[match.end():])
    lines = [line for line in rest.split("\n") if not line.startswith("Rebased onto ")]
    body = "\n".join(lines).strip("\n")
    paragraphs = [p for p in re.split(r"\n{2,}", body) if p]
    trailers = paragraphs.pop() if paragraphs and paragraphs[-1].startswith("Vbot-") else ""
    paragraphs.append(note + ".")
    if trailers:
        paragraphs.append(trailers)
    return subject + "\n\n" + "\n\n".join(paragraphs) + "\n"
