"""``vbot status [REPO] --html OUT``: one self-contained HTML page about a data repo.

What it shows: how many nodes are outdated (merged ``new_version`` above ``version``, conda
order), the upstream failures by source with the affected nodes (versions files with ``bad``,
whose text reads ``Upstream: <source>: <reason>``), and the sweep history (new versions and
errors per run, from the ``vbot sweep: ...`` commit subjects) as an inline SVG chart.
No external assets: inline CSS and SVG only.
"""

from __future__ import annotations

import re
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

from vbot import gitrepo, jsonio, versions
from vbot.datarepo import CF, DataRepo, NodeDocError
from vbot.errors import VbotError
from vbot.gitrepo import Workspace
from vbot.statuspage import StatusData, SweepPoint, render_html
from vbot.validation import FOLDERS, data_files

SWEEP_SUBJECT = re.compile(
    r"^vbot sweep: (\d+) checked, (\d+) new, (\d+) unchanged, (\d+) errors")
UPSTREAM = re.compile(r"^Upstream: ([^:]+): (.*)$", re.S)


def _outdated(repo: DataRepo) -> tuple[int, list[tuple[str, str, str]]]:
    names = repo.safe_names()[0]
    found = []
    for name in names:
        try:
            attrs = repo.node_attrs(name)
            if repo.layout == CF:
                info = repo.read_doc("version_pr_info", name)
                new = info.get("new_version") if isinstance(info, dict) else None
            else:
                new = attrs.get("new_version")
        except NodeDocError:
            continue
        current = attrs.get("version")
        if not isinstance(new, str) or current is None:
            continue
        new_v, cur_v = versions.parse(new), versions.parse(str(current))
        if new_v is not None and cur_v is not None and new_v > cur_v:
            found.append((name, str(current), new))
    return len(names), found


def _failures(root: Path) -> dict[str, list[tuple[str, str]]]:
    table: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for rel in data_files(root):
        if not rel.startswith(f"{FOLDERS[0]}/"):
            continue
        try:
            doc = jsonio.load(root / rel, rel)
        except VbotError:
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("bad"), str):
            continue
        match = UPSTREAM.match(doc["bad"])
        source, reason = (match.group(1), match.group(2)) if match else ("(unknown)", doc["bad"])
        table[source].append((rel.rsplit("/", 1)[-1][: -len(".json")], reason))
    return {k: sorted(v) for k, v in sorted(table.items())}


def collect(root: Path) -> StatusData:
    """Everything the page shows, from the work tree and one ``git log`` call."""
    repo = DataRepo.open(root)
    count, outdated = _outdated(repo)
    log = gitrepo.log(root)
    reverted = {rid for e in log for rid in gitrepo.reverted_runs(e.message)}
    sweeps = []
    merges = reverts = 0
    for entry in reversed(log):
        match = SWEEP_SUBJECT.match(entry.subject)
        if match:
            n = [int(g) for g in match.groups()]
            sweeps.append(SweepPoint(entry.date, entry.sha, entry.run_id, *n,
                                     reverted=entry.run_id in reverted))
        elif entry.subject.startswith("vbot merge:"):
            merges += 1
        elif entry.subject.startswith("vbot revert:"):
            reverts += 1
    return StatusData(head=log[0].sha if log else "", layout=repo.layout, nodes=count,
                      outdated=outdated, failures=_failures(root), sweeps=sweeps,
                      merges=merges, reverts=reverts)


def status(repo: str, html_out: Path, out: TextIO, workdir: Path | None = None) -> StatusData:
    with ExitStack() as stack:
        if gitrepo.is_work_tree(repo):
            root = gitrepo.repo_toplevel(repo)
        else:
            root = stack.enter_context(Workspace.open(repo, workdir)).path
        data = collect(root)
        title = f"vbot status: {Path(repo).name if Path(repo).name not in ('', '.') else root.name}"
        jsonio.atomic_write_text(html_out.resolve(), render_html(data, title))
        html_out.chmod(0o644)  # a page to publish, not a private temp file
    failed = sum(len(v) for v in data.failures.values())
    print(f"{data.nodes} nodes, {len(data.outdated)} outdated, {failed} failing "
          f"({', '.join(f'{k} {len(v)}' for k, v in data.failures.items()) or 'none'}), "
          f"{len(data.sweeps)} sweeps; wrote {html_out}", file=out)
    return data
