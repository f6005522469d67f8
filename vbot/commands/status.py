"""``vbot status [REPO] --html OUT``: one self-contained HTML page about a data repo.

What it shows: how many nodes are outdated (merged ``new_version`` above ``version``, conda
order), each with how many nodes depend on it (most first), the upstream failures by source
with the affected nodes (versions files with ``bad``, whose text reads ``Upstream: <source>:
<reason>``), and the sweep history (new versions and errors per run, from the ``vbot sweep:
...`` commit subjects) as an inline SVG chart.
No external assets: inline CSS and SVG only.
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TextIO

import networkx as nx

from vbot.errors import VbotError
from vbot.git import log as gitlog
from vbot.git import maintainer
from vbot.git.headfiles import fetch_missing
from vbot.git.options import CloneOptions
from vbot.git.shallow import is_shallow
from vbot.git.workspace import Workspace
from vbot.repo import jsonio
from vbot.repo.datarepo import CF, INLINE, LAZY
from vbot.repo.graph import by_dependents, dependents, from_node_link
from vbot.repo.paths import sharded_relpath, unsafe_reason
from vbot.repo.validation import classify
from vbot.run.statuspage import StatusData, SweepPoint, plural, render_html
from vbot.versioning import order

SWEEP_SUBJECT = re.compile(
    r"^vbot sweep: (\d+) checked, (\d+) new, (\d+) unchanged, (\d+) errors")
UPSTREAM = re.compile(r"^Upstream: ([^:]+): (.*)$", re.S)


def _doc(blobs: dict[str, bytes | None], sha: str | None) -> Any:
    data = blobs.get(sha) if sha else None
    try:
        return json.loads(data) if data is not None else None
    except ValueError:
        return None


def _find(files: dict[str, str], folder: str, name: str) -> str | None:
    """Blob of ``<folder>/<name>``: sharded first, then flat (as DataRepo reads it)."""
    return files.get(sharded_relpath(folder, name)) or files.get(f"{folder}/{name}.json")


def _outdated(graph: nx.Graph, files: dict[str, str], blobs: dict[str, bytes | None],
              cf: bool) -> tuple[int, list[tuple[str, str, str]]]:
    names = [n for n in graph if unsafe_reason(n) is None]
    found = []
    for name in names:
        node = graph.nodes[name]
        if cf:
            ref = (node.get("payload") or {}).get(LAZY)
            if not isinstance(ref, str) or "/" not in ref:
                continue
            folder, _, fname = ref.rpartition("/")
            attrs = _doc(blobs, _find(files, folder, fname.removesuffix(".json")))
            info = _doc(blobs, _find(files, "version_pr_info", name))
            new = info.get("new_version") if isinstance(info, dict) else None
        else:
            attrs, new = node, node.get("new_version")
        current = attrs.get("version") if isinstance(attrs, dict) else None
        if not isinstance(new, str) or current is None:
            continue
        if isinstance(attrs, dict) and attrs.get("archived"):  # no update is due: not outdated
            continue
        new_v, cur_v = order.parse(new), order.parse(str(current))
        if new_v is not None and cur_v is not None and new_v > cur_v:
            found.append((name, str(current), new))
    return len(names), found


def _failures(files: dict[str, str], blobs: dict[str, bytes | None],
              versions_files: list[str]) -> dict[str, list[tuple[str, str]]]:
    table: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for rel in versions_files:
        doc = _doc(blobs, files[rel])
        if not isinstance(doc, dict) or not isinstance(doc.get("bad"), str):
            continue
        match = UPSTREAM.match(doc["bad"])
        source, reason = (match.group(1), match.group(2)) if match else ("(unknown)", doc["bad"])
        table[source].append((rel.rsplit("/", 1)[-1][: -len(".json")], reason))
    return {k: sorted(v) for k, v in sorted(table.items())}


def collect(repo_dir: Path, rev: str = "HEAD") -> StatusData:
    """Everything the page shows, from the committed state ``rev`` of a clone or bare repo:
    one ``git ls-tree``, one ``git cat-file --batch`` and one ``git log`` call."""
    files = gitlog.tree_files(repo_dir, rev)
    if "graph.json" not in files:
        raise VbotError(f"{repo_dir}: no graph.json in {rev} (not a data repo?)")
    data = gitlog.read_blobs(repo_dir, [files["graph.json"]]).get(files["graph.json"])
    # a broken graph.json is named as a sweep names it: line and column
    doc = jsonio.loads(data if data is not None else b"", f"{repo_dir}: graph.json")
    try:
        graph = from_node_link(doc)
    except VbotError as exc:
        raise VbotError(f"{repo_dir}: {exc}") from None
    cf = any(isinstance(p, dict) and LAZY in p for _, p in graph.nodes(data="payload"))
    versions_files = sorted(p for p in files if classify(p) == "versions")
    wanted = [files[p] for p in versions_files]
    if cf:
        wanted += [sha for p, sha in files.items()
                   if p.endswith(".json") and p.split("/", 1)[0] in ("node_attrs",
                                                                      "version_pr_info")]
    for folder in ("versions", "version_pr_info"):  # a partial clone's sparse workspace
        fetch_missing(repo_dir, f"{rev}:{folder}")  # lacks them: one fetch, not one per blob
    blobs = gitlog.read_blobs(repo_dir, wanted)
    count, outdated = _outdated(graph, files, blobs, cf)
    counts = dependents(graph)
    rows = {row[0]: row for row in outdated}
    outdated = [rows[name] for name in by_dependents(list(rows), counts)]
    log = gitlog.log(repo_dir, rev=rev)
    reverted = {rid for e in log for rid in gitlog.reverted_runs(e.message)}
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
    return StatusData(head=log[0].sha if log else "", layout=CF if cf else INLINE, nodes=count,
                      outdated=outdated,
                      dependents={name: counts[name] for name, _, _ in outdated},
                      failures=_failures(files, blobs, versions_files),
                      sweeps=sweeps, merges=merges, reverts=reverts)


HISTORY = CloneOptions(depth=0)


def status(repo: str, html_out: Path, out: TextIO, workdir: Path | None = None) -> StatusData:
    with ExitStack() as stack:
        if maintainer.is_git_dir(repo):  # a clone or a bare repo: read its HEAD directly
            root = Path(repo).resolve()
            if is_shallow(root):
                print(f"vbot: note: {root} is a shallow clone: the sweep history shows only the "
                      "commits it holds; give the data repo's URL for all of them",
                      file=sys.stderr)
        else:
            # the page charts every sweep: the whole history (commits and trees; the blobs
            # only of the checked-out folders it reads)
            root = stack.enter_context(Workspace.open(repo, workdir, options=HISTORY)).path
        data = collect(root)
        title = f"vbot status: {Path(repo).name if Path(repo).name not in ('', '.') else root.name}"
        jsonio.atomic_write_text(html_out.resolve(), render_html(data, title))
        html_out.chmod(0o644)  # a page to publish, not a private temp file
    failed = sum(len(v) for v in data.failures.values())
    print(f"{plural(data.nodes, 'node')}, {len(data.outdated)} outdated, {failed} failing "
          f"({', '.join(f'{k} {len(v)}' for k, v in data.failures.items()) or 'none'}), "
          f"{plural(len(data.sweeps), 'sweep')}; wrote {html_out}", file=out)
    return data
