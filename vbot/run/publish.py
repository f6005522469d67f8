"""The end of every writing command: one commit, push (unless asked not to), the JSON report."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from vbot.git.commit import commit
from vbot.git.push import push as push_head
from vbot.git.workspace import Workspace
from vbot.run.report import RunReport


def commit_and_push(ws: Workspace, report: RunReport, pathspecs: list[str], message: str,
                    push: bool, report_path: Path | None,
                    paths: Iterable[str] | None = None) -> str | None:
    """Commit ``pathspecs`` once, push when asked (also an earlier unpushed commit), and write
    the report even when the push fails. Returns the new commit's sha, or None.

    ``paths``: every file the command wrote or deleted under ``pathspecs``, when it knows
    them (see ``Workspace.commit``); None to find the changes with ``git status``."""
    with report.phase("commit"):
        sha = commit(ws, pathspecs, message, paths)
    report.extra["commit"] = sha
    report.extra["pushed"] = False
    try:
        if push and (sha or ws.unpushed()):
            with report.phase("push"):
                push_head(ws)
            report.extra["pushed"] = True
    finally:
        if report_path:
            report.write(report_path)
    return sha
