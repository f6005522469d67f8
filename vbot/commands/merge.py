"""``vbot merge``: validate every versions file and merge the results into the graph.

For each node, ``new_version`` becomes the larger (conda order) of the found version and the
node's current ``version``, and never lower than the ``new_version`` already there (conda-forge's
bot's rule, ``-`` read as ``.``): in cf layout in ``version_pr_info/<shard>/<name>.json``
(created if missing, other keys kept), in inline layout in the node's attributes in
``graph.json``. A changed ``version_pr_info`` file keeps its own indent and final-newline
convention (the real bot writes 1-space indent, no final newline), so its diff is the changed
line only; a new one takes the style of an existing file of the folder.

Incremental: a merge commit carries a ``Vbot-Merge-Base: <tree>`` trailer, the root tree
the merge read (a trailer, not a file: a merge commit touches only what it merged). The next
merge finds the newest such commit (a shallow clone fetches older commits until it holds one)
and reads only the versions files of the nodes that can merge differently since that commit
(``git diff --name-only``; a revert of its results shows up there too): a changed versions
file, a changed node document or ``graph.json`` entry (the node's ``version``), a changed
``version_pr_info`` file (its ``new_version``). When that merge was rebased onto commits it
never read (its parent's tree is not the trailer's), what changed since the trailer's tree
is read as well. Every other node would merge to what it holds already, so the result is a
full merge's. No usable base (none in the last ``MAX_DEPTH`` commits, not a tree id),
``--full``, or a merge that could not write a file: every file, as before.

The workspace's sparse checkout holds neither folder (``vbot/git/options.py``): the versions
files are listed and read, and the version_pr_info files read, as HEAD holds them
(``vbot/git/headfiles.py``); a changed version_pr_info file goes to the commit from memory
(``vbot/git/commit.py``), never into the work tree.
"""

from __future__ import annotations

import functools
import os
import sys
from collections import defaultdict
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from vbot.check.outcome import BAD, FOUND, INVALID, NONE, Outcome
from vbot.errors import VbotError
from vbot.git.diff import head_tree, last_trailer, parent_tree
from vbot.git.headfiles import HeadFiles
from vbot.git.workspace import Workspace
from vbot.repo import cursor as cursors
from vbot.repo import jsonio, schema
from vbot.repo.datarepo import CF, DataRepo, NodeDocError
from vbot.repo.paths import read_contained, sharded_relpath
from vbot.run.progress import Progress
from vbot.run.publish import commit_and_push
from vbot.run.report import RunReport, new_run_id
from vbot.run.since import changed_since, changed_since_tree
from vbot.versioning import order

MERGE_BASE = "Vbot-Merge-Base"  # trailer: the root tree a merge read
MAX_DEPTH = 128  # commits looked back for the last merge before merging every file


@dataclass(frozen=True)
class MergeOptions:
    remote: str
    workdir: Path | None = None
    push: bool = True
    report: Path | None = None
    progress: bool = True
    depth: int | None = None  # commits the clone holds (default: [git] depth, else 1; 0: all)
    config: Path | None = None  # a vbot.toml whose [git] table says how to clone
    full: bool = False  # every versions file, whatever the merge cursor says


@dataclass
class MergeResult:
    report: RunReport
    listed: dict[str, list[str]]  # reason -> paths
    changed: int
    unchanged: int


def versions_relpaths(root: Path) -> list[str]:
    """Every ``versions/**/*.json`` file (not hidden; symlinked folders are not entered; a
    symlink to a file is listed, for the reader to refuse), sorted like paths."""
    top = os.path.join(root, "versions")
    if not os.path.isdir(top):
        return []
    found: list[str] = []
    stack = ["versions"]
    while stack:
        rel = stack.pop()
        try:
            with os.scandir(os.path.join(root, rel)) as entries:
                listed = list(entries)
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        for entry in listed:
            try:
                if entry.is_dir():
                    if not entry.is_symlink():
                        stack.append(f"{rel}/{entry.name}")
                    continue
                if (entry.name.endswith(".json") and not entry.name.startswith(".")
                        and entry.is_file()):
                    found.append(f"{rel}/{entry.name}")
            except OSError:
                continue
    return sorted(found, key=lambda r: r.split("/"))


def _listed_like_full(root: Path, rel: str) -> bool:
    """Whether the full listing (:func:`versions_relpaths`) would hold ``rel``."""
    name = rel.rpartition("/")[2]
    return (rel.startswith("versions/") and name.endswith(".json") and not name.startswith(".")
            and os.path.isfile(os.path.join(root, rel))
            and not any(os.path.islink(os.path.join(root, *rel.split("/")[:i]))
                        for i in range(2, rel.count("/") + 1)))


def files_to_merge(ws: Workspace, repo: DataRepo, full: bool = False,
                   versions: HeadFiles | None = None) -> tuple[list[str], dict[str, Any]]:
    """The versions files to merge, and what the report says about how they were chosen:
    since the merge cursor's base when it is usable, else every file. ``versions``: the
    versions files as HEAD holds them (listed from it; None: listed from the work tree)."""
    root = ws.path
    if versions is not None:
        listing = versions.listing()
        every, held = listing.copy, set(listing).__contains__
    else:
        every = functools.partial(versions_relpaths, root)
        held = functools.partial(_listed_like_full, root)
    head = head_tree(root)
    last = None if full else last_trailer(root, ws.branch, MERGE_BASE, MAX_DEPTH)
    problem = "--full" if full else f"no {MERGE_BASE} trailer in the last {MAX_DEPTH} commits"
    how: dict[str, Any] = {"base": {"from": last[1] if last else None, "to": head}}
    found = None
    if last is not None:
        # since the merge itself (what came after it, also what undid its results, e.g. a
        # revert); when it was rebased onto commits it did not read, since the tree it read
        found, problem = changed_since(root, repo, last[0], exclude=(cursors.FOLDER,))
        if found is not None and parent_tree(root, ws.branch, last[0]) != last[1]:
            before, problem = changed_since_tree(root, repo, last[1], ws.branch,
                                                 exclude=(cursors.FOLDER,))
            found = None if before is None else (found[0] | before[0],
                                                 sorted({*found[1], *before[1]}))
    if found is None:
        how.update(incremental=False, note=f"{problem}: merging every versions file")
        return every(), how
    names, paths = found
    rels = {p for p in paths if p.startswith("versions/")}
    names |= {p.rpartition("/")[2].removesuffix(".json") for p in paths
              if p.startswith("version_pr_info/")}
    for name in names:
        if name.endswith((".", "/")) or "/" in name:
            continue
        rels.add(sharded_relpath("versions", name))
        rels.add(f"versions/{name}.json")
    files = sorted((r for r in rels if held(r)), key=lambda r: r.split("/"))
    how.update(incremental=True, files=len(files))
    return files, how


def _node_name(rel: str) -> str:
    """The node a versions file is about: its file name without ``.json``."""
    return rel.rpartition("/")[2].removesuffix(".json")


def _pr_info_paths(files: list[str]) -> list[str]:
    """Where the version_pr_info documents of the nodes of these versions files can be."""
    names = {_node_name(rel) for rel in files}
    return [rel for name in names
            for rel in (sharded_relpath("version_pr_info", name), f"version_pr_info/{name}.json")]


def merged_value(found: str, version: Any, existing: Any) -> str:
    """The node's new ``new_version``: the larger of ``found`` and the node's ``version``,
    and never below a valid ``new_version`` already set (``existing``)."""
    value = order.newer(found, str(version) if version is not None else None) or found
    if isinstance(existing, str) and not schema.problems("new_version", existing):
        value = order.not_lower(value, existing)
    return value


def _merge_one(repo: DataRepo, name: str, found: str,
               new_style: Callable[[], jsonio.Style] = lambda: jsonio.CANONICAL,
               pr_info: HeadFiles | None = None,
               contents: dict[str, bytes] | None = None) -> bool:
    """Write the node's new_version; True when a file changed. ``new_style``: the style of
    a version_pr_info file that does not exist yet. ``pr_info``: the version_pr_info files
    as HEAD holds them (None: read the files). ``contents``: where a changed version_pr_info
    file goes, by path, for the commit (None: written into the work tree)."""
    attrs = repo.node_attrs(name)
    if repo.layout == CF:
        # the sharded file, else the flat one (refused through a symlink)
        raw = repo.read_doc_bytes("version_pr_info", name,
                                  None if pr_info is None else pr_info.read)
        try:
            doc = {} if raw is None else jsonio.loads(raw[1], raw[0])
        except VbotError as exc:
            raise NodeDocError(str(exc)) from None
        if not isinstance(doc, dict):
            raise NodeDocError(f"{name}: version_pr_info is not a JSON object")
        value = _checked(name, merged_value(found, attrs.get("version"), doc.get("new_version")))
        if doc.get("new_version") == value:
            return False
        style = jsonio.style_of(raw[1]) if raw is not None else new_style()
        blocked = None if pr_info is None else pr_info.unwritable(
            repo.doc_relpath("version_pr_info", name))
        if blocked:  # not checked out: refused as writing into the folder would be
            raise VbotError(blocked)
        # the sharded file, if any, is ``doc``, which differs: written without reading it again
        text = jsonio.dumps_styled({**doc, "new_version": value}, style)
        if contents is not None:
            contents[repo.doc_relpath("version_pr_info", name)] = text.encode("utf-8")
        else:  # no fsync: the git commit makes the file durable (benchmarks/RESULTS.md)
            jsonio.atomic_write_text(repo.doc_path("version_pr_info", name), text, fsync=False)
        return True
    node = repo._node_entry(name)
    value = _checked(name, merged_value(found, attrs.get("version"), node.get("new_version")))
    if node.get("new_version") == value:
        return False
    node["new_version"] = value
    return True


def _checked(name: str, value: str) -> str:
    if schema.problems("new_version", value):
        raise NodeDocError(f"{name}: merged value {value!r} is not a valid version")
    return value


def _bad_outcome(name: str, text: str) -> Outcome:
    """A failed node of a versions file: ``Upstream: <source>: <reason>``."""
    source, _, reason = text.removeprefix("Upstream: ").partition(": ")
    return Outcome(name, BAD, source=source if reason else None, reason=reason or text)


def merge(opts: MergeOptions) -> MergeResult:
    report = RunReport("merge", new_run_id("merge"))
    listed: dict[str, list[str]] = defaultdict(list)
    changed = unchanged = 0
    with ExitStack() as stack:
        with report.phase("clone"):
            ws = stack.enter_context(Workspace.open(opts.remote, opts.workdir, depth=opts.depth,
                                                    config=opts.config))
        with report.phase("load"):
            reader = ws.reader()  # the node documents are not checked out: read from git
            stack.callback(reader.close)
            repo = DataRepo.open(ws.path, reader)
            known = set(repo.safe_names()[0])
            # not checked out: listed from git, then only the files to merge are read
            versions = ws.head_files("versions", ())
            files, how = files_to_merge(ws, repo, opts.full, versions)
            if versions is not None:
                versions = versions.loaded_for(files)
                if versions is None and not ws.holds("versions"):  # else: read the files
                    raise VbotError(f"cannot read versions/ from git in {ws.path}")
            reader.prefetch(repo.node_doc_paths(
                name for rel in files if (name := _node_name(rel)) in known))
            # only the version_pr_info files of the nodes to merge (sharded, then flat)
            pr_info = ws.head_files("version_pr_info", _pr_info_paths(files)) \
                if repo.layout == CF else None
        report.extra["incremental"] = how
        retry = False  # a file could not be written: the next merge looks at everything again
        progress = Progress(len(files), "merge", sys.stderr, enabled=opts.progress)
        inline_dirty = False
        new_style = functools.cache(lambda: jsonio.folder_style(ws.path, "version_pr_info")
                                    if pr_info is None else pr_info.style())
        written: list[str] = []  # what the commit takes: no `git status` over 25,000 files
        # the changed version_pr_info files, committed from here (the sparse checkout leaves
        # the folder out: no file and folders made only for the commit to read back)
        contents: dict[str, bytes] | None = {} if pr_info is not None else None
        with report.phase("merge"):
            for rel in files:
                progress.advance()
                name = _node_name(rel)
                try:
                    # never read through a symlink (it may point outside)
                    data = (read_contained(ws.path, rel) if versions is None
                            else versions.read(rel))
                    if data is None:
                        raise VbotError(f"{rel}: cannot read: No such file or directory")
                    doc: Any = jsonio.loads(data, rel)
                except VbotError as exc:
                    listed["invalid"].append(f"{rel} ({exc})")
                    report.add(Outcome(name, INVALID, reason=str(exc)), "skipped")
                    continue
                found = schema.problems("versions", doc)
                if found:
                    listed["invalid"].append(f"{rel} ({found[0]})")
                    report.add(Outcome(name, INVALID, reason=f"{rel}: {found[0]}"), "skipped")
                    continue
                if name not in known:
                    listed["unknown node"].append(rel)
                    report.add(Outcome(name, INVALID, reason=f"{rel}: not a node of graph.json"),
                               "skipped")
                    continue
                if "bad" in doc:
                    listed["bad"].append(rel)
                    report.add(_bad_outcome(name, doc["bad"]), "skipped")
                    continue
                if doc["new_version"] is None:
                    listed["null"].append(rel)
                    report.add(Outcome(name, NONE), "skipped")
                    continue
                try:
                    did = _merge_one(repo, name, doc["new_version"], new_style, pr_info,
                                     contents)
                except (NodeDocError, VbotError, OSError) as exc:
                    retry |= isinstance(exc, OSError)
                    listed["invalid"].append(f"{rel} ({exc})")
                    report.add(Outcome(name, INVALID, reason=str(exc)), "skipped")
                    continue
                report.add(Outcome(name, FOUND, version=doc["new_version"]),
                           "written" if did else "unchanged")
                changed += did
                unchanged += not did
                inline_dirty |= did and repo.layout != CF
                if did and repo.layout == CF:
                    written.append(sharded_relpath("version_pr_info", name))
            if inline_dirty and repo.write_graph():
                written.append("graph.json")
        progress.close()
        report.extra.update({"merged": changed, "unchanged": unchanged,
                             "listed": {k: sorted(v) for k, v in sorted(listed.items())}})
        message = (f"vbot merge: {changed} new_version updates, {unchanged} unchanged, "
                   f"{sum(len(v) for v in listed.values())} files not merged\n\n"
                   + "".join(f"{k}: {len(v)}\n" for k, v in sorted(listed.items()))
                   + ("" if retry else f"\n{MERGE_BASE}: {how['base']['to']}")
                   + f"\nVbot-Run: {report.run_id}\n")
        commit_and_push(ws, report, ["version_pr_info", "graph.json"], message, opts.push,
                        opts.report, written, contents)
    return MergeResult(report, dict(listed), changed, unchanged)


def print_summary(result: MergeResult, out: TextIO) -> None:
    print(f"merge {result.report.run_id}: {result.changed} new_version updates, "
          f"{result.unchanged} unchanged, {result.report.commit_line()}", file=out)
    result.report.print_table(out)
    how = result.report.extra.get("incremental") or {}
    if how.get("incremental"):
        print(f"  incremental: {how['files']} versions files changed since "
              f"{str(how['base']['from'])[:12]}", file=out)
    elif how.get("note"):
        print(f"  ! {how['note']}", file=out)
    for reason, paths in sorted(result.listed.items()):
        print(f"  not merged ({reason}): {len(paths)}", file=out)
        for path in paths[:5]:
            print(f"    {path}", file=out)
        if len(paths) > 5:
            print(f"    … and {len(paths) - 5} more", file=out)
