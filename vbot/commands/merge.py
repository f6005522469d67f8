"""``vbot merge``: validate every versions file and merge the results into the graph.

For each node, ``new_version`` becomes the larger (conda order) of the found version and the
node's current ``version``: in cf layout in ``version_pr_info/<shard>/<name>.json`` (created if
missing, other keys kept), in inline layout in the node's attributes in ``graph.json``.
"""

from __future__ import annotations

import os
import sys
from collections import defaultdict
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from vbot import jsonio, schema, versions
from vbot.datarepo import CF, DataRepo, NodeDocError
from vbot.errors import VbotError
from vbot.gitrepo import Workspace
from vbot.progress import Progress
from vbot.report import RunReport, new_run_id


@dataclass(frozen=True)
class MergeOptions:
    remote: str
    workdir: Path | None = None
    push: bool = True
    report: Path | None = None
    progress: bool = True


@dataclass
class MergeResult:
    report: RunReport
    listed: dict[str, list[str]]  # reason -> paths
    changed: int
    unchanged: int


def versions_files(root: Path) -> list[Path]:
    folder = root / "versions"
    if not folder.is_dir():
        return []
    found = []
    for top, dirs, names in os.walk(folder):  # os.walk: several times faster than rglob
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [os.path.join(top, n) for n in names
                  if n.endswith(".json") and not n.startswith(".")]
    return [Path(p) for p in sorted(found) if os.path.isfile(p)]


def _merge_one(repo: DataRepo, name: str, found: str) -> bool:
    """Write the node's new_version; True when a file changed."""
    attrs = repo.node_attrs(name)
    current = attrs.get("version")
    value = versions.newer(found, str(current) if current is not None else None) or found
    if schema.problems("new_version", value):
        raise NodeDocError(f"{name}: merged value {value!r} is not a valid version")
    if repo.layout == CF:
        path = repo.doc_path("version_pr_info", name)
        if path.is_file():  # the sharded file; read_doc also looks for a flat one
            try:
                doc = jsonio.load(path, f"version_pr_info/{name}.json")
            except VbotError as exc:
                raise NodeDocError(str(exc)) from None
        else:
            doc = repo.read_doc("version_pr_info", name) or {}
        if not isinstance(doc, dict):
            raise NodeDocError(f"{name}: version_pr_info is not a JSON object")
        if doc.get("new_version") == value:
            return False
        jsonio.atomic_write_text(path, jsonio.dumps({**doc, "new_version": value}), fsync=False)
        return True
    node = repo._node_entry(name)
    if node.get("new_version") == value:
        return False
    node["new_version"] = value
    return True


def _one_file(repo: DataRepo, known: set[str], root: Path, path: Path
              ) -> tuple[str, str, bool]:
    """(what happened, the listed entry, whether a file changed) for one versions file."""
    rel = path.relative_to(root).as_posix()
    name = path.name[: -len(".json")]
    try:
        doc: Any = jsonio.load(path, rel)
    except VbotError as exc:
        return "invalid", f"{rel} ({exc})", False
    found = schema.problems("versions", doc)
    if found:
        return "invalid", f"{rel} ({found[0]})", False
    if name not in known:
        return "unknown node", rel, False
    if "bad" in doc:
        return "bad", rel, False
    if doc["new_version"] is None:
        return "null", rel, False
    try:
        return "merged", rel, _merge_one(repo, name, doc["new_version"])
    except NodeDocError as exc:
        return "invalid", f"{rel} ({exc})", False


def merge(opts: MergeOptions) -> MergeResult:
    report = RunReport("merge", new_run_id("merge"))
    listed: dict[str, list[str]] = defaultdict(list)
    changed = unchanged = 0
    with ExitStack() as stack:
        with report.phase("clone"):
            ws = stack.enter_context(Workspace.open(opts.remote, opts.workdir))
        with report.phase("load"):
            repo = DataRepo.open(ws.path)
            known = set(repo.safe_names()[0])
            files = versions_files(ws.path)
        progress = Progress(len(files), "merge", sys.stderr, enabled=opts.progress)
        inline_dirty = False
        with report.phase("merge"):
            # serial on purpose: the work is file-system calls, and threads measured no faster
            for path in files:
                kind, entry, did = _one_file(repo, known, ws.path, path)
                progress.advance()
                if kind != "merged":
                    listed[kind].append(entry)
                    continue
                changed += did
                unchanged += not did
                inline_dirty |= did and repo.layout != CF
            if inline_dirty:
                repo.write_graph()
        progress.close()
        report.extra.update({"merged": changed, "unchanged": unchanged,
                             "listed": {k: sorted(v) for k, v in sorted(listed.items())}})
        message = (f"vbot merge: {changed} new_version updates, {unchanged} unchanged, "
                   f"{sum(len(v) for v in listed.values())} files not merged\n\n"
                   + "".join(f"{k}: {len(v)}\n" for k, v in sorted(listed.items()))
                   + f"\nVbot-Run: {report.run_id}\n")
        with report.phase("commit"):
            sha = ws.commit(["version_pr_info", "graph.json"], message)
        report.extra["commit"] = sha
        report.extra["pushed"] = False
        try:
            if opts.push and (sha or ws.unpushed()):
                with report.phase("push"):
                    ws.push()
                report.extra["pushed"] = True
        finally:
            if opts.report:
                report.write(opts.report)
    return MergeResult(report, dict(listed), changed, unchanged)


def print_summary(result: MergeResult, out: TextIO) -> None:
    extra = result.report.extra
    print(f"merge {result.report.run_id}: {result.changed} new_version updates, "
          f"{result.unchanged} unchanged, commit {(extra.get('commit') or 'none')[:12]}"
          f"{', pushed' if extra.get('pushed') else ''}", file=out)
    for reason, paths in sorted(result.listed.items()):
        print(f"  not merged ({reason}): {len(paths)}", file=out)
        for path in paths[:5]:
            print(f"    {path}", file=out)
        if len(paths) > 5:
            print(f"    … and {len(paths) - 5} more", file=out)
