"""Incremental sweeps: check the nodes whose upstream, document or result may have changed.

Registries say what changed (``Source.changes``, the change feeds in ``vbot/sources/``). A
sweep asks every feed it needs *before* its first check, with the positions the last sweep
left in the data repo (the cursor, ``vbot/repo/cursor.py``), and records the new positions
with its results, in the same commit: a release made during a sweep is seen by the next one,
and a runner with an empty disk finds the cursor in its clone.

A node is skipped only when every one of these holds (:meth:`Incremental.reason` says which
failed first, and that is the reason it is checked):

- the sweep is not ``--full``, the cursor is valid and was written with the same settings
  (sources, URLs, rewrites, vbot version: ``config`` in the cursor);
- the source that would answer first (the first source in the node's order that matches it)
  has a change feed, and the feed could say what changed since the cursor;
- the node has a versions file holding an upstream's answer (``new_version``; not ``bad``,
  not missing or invalid);
- its node document (in cf layout its ``node_attrs`` file and its ``graph.json`` entry; in
  inline layout its ``graph.json`` entry, ``new_version`` aside) is unchanged since the tree
  the cursor names (``base``; ``git diff --name-only``, the base commit found by deepening a
  shallow clone step by step: when it cannot be found, no node is skipped);
- the last sweep settled it: its answer was a version found by that first source (a later
  source's answer, no stable version, an error, a deadline, a failed write: the node is in
  ``pending`` and is checked again);
- the feed does not list it as changed since the cursor;
- the safety net does not pick it: every node is checked at least every ``full_every`` days
  (``[sweep] full_every``, default 7). A stable hash of the node's name gives it one day in
  ``full_every``; the cursor's ``net`` says up to which day the net has run, and a sweep
  rechecks the nodes of every day since (today's only, when sweeps run daily; none when an
  earlier sweep of the day committed; all of them after ``full_every`` days without one).
  So 1/full_every of the nodes are rechecked each day, once, however often sweeps run.

Nodes of sources without a feed, new nodes and nodes whose last result was an error are
always checked. A feed that cannot say (no earlier position, unavailable, unsupported by the
server) makes its source's nodes checked, said once in the summary.

The new cursor's ``pending`` is every checked node of a feed source whose answer was not
settled this run; it is written only when the sweep commits results anyway (a sweep whose only
change would be the cursor makes no commit: the next one rechecks a little more). ``--nodes``
sweeps check what they are told and leave the cursor alone.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from vbot import __version__
from vbot.check.checker import Checker
from vbot.check.outcome import FOUND, Outcome
from vbot.config import Config
from vbot.errors import VbotError
from vbot.git.diff import blob_at, head_tree
from vbot.git.headfiles import HeadFiles
from vbot.repo import cursor as cursors
from vbot.repo import schema
from vbot.repo.datarepo import DataRepo, NodeDocError
from vbot.repo.nodeinfo import NodeInfo
from vbot.run.since import changed_since_tree
from vbot.sources.base import Changes

DEFAULT_FULL_EVERY = 7
NO_SOURCE = "(none)"  # the report's row for nodes no source matches

# why a node is checked, in the order they are looked at
FULL = "full"
NO_FEED = "no feed"
NO_CURSOR = "no cursor"
FEED_DOWN = "feed unavailable"
BASE = "base unknown"
SETTINGS = "settings changed"
NEW = "new"
ERROR = "error"
DOCUMENT = "document changed"
PENDING = "pending"
CHANGED = "changed"
SAFETY_NET = "safety net"


def full_every_of(config: Config) -> int:
    """``[sweep] full_every`` (days), read from the config when it has the setting."""
    table = getattr(config, "sweep", None)
    value = table.get("full_every") if isinstance(table, Mapping) else getattr(
        table, "full_every", None)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 1:
        return DEFAULT_FULL_EVERY
    return int(value)


def day_number(now: float | None = None) -> int:
    """Days since 1970-01-01 (UTC): the safety net's clock."""
    return int((time.time() if now is None else now) // 86400)


def net_slot(name: str, full_every: int) -> int:
    """The day (modulo ``full_every``) on which the safety net rechecks ``name``.

    A hash of its own (not the sha1 of ``--shard``): every shard gets an even share of each
    day's nodes."""
    digest = hashlib.sha256(b"vbot-safety-net\0" + name.encode("utf-8", "surrogatepass"))
    return int.from_bytes(digest.digest()[:8], "big") % max(1, full_every)


def safety_net_due(name: str, day: int, full_every: int) -> bool:
    """True on the one day in ``full_every`` on which the safety net rechecks ``name``."""
    return full_every <= 1 or net_slot(name, full_every) == day % full_every


def net_slots(since: int | None, day: int, full_every: int) -> frozenset[int]:
    """The slots the safety net rechecks on ``day`` when it last ran on day ``since``: one
    per day in between (``since`` None, or in the future: today's only)."""
    if since is None or since > day:
        since = day - 1
    days = range(since + 1, day + 1)
    if len(days) >= full_every:
        return frozenset(range(max(1, full_every)))
    return frozenset(d % full_every for d in days)


def settings_digest(config: Config, checker: Checker) -> str:
    """What a cursor's results were checked with: every source's settings and base URL, the
    URL rewrites, vbot's version. Another value: nothing is skipped (results may differ)."""
    urls = {}
    for name, source in sorted(checker.sources.items()):
        try:
            urls[name] = source.base_url_of(config)
        except Exception:  # noqa: BLE001 - a setting that cannot be read: part of the digest
            urls[name] = "?"
    data = {"sources": config.sources, "urls": urls, "rewrite": config.http.rewrite,
            "vbot": __version__}
    text = json.dumps(data, sort_keys=True, default=repr, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Tally:
    """One source's row of the summary."""

    skipped: int = 0
    checked: Counter = field(default_factory=Counter)  # reason -> nodes


_UNREAD = object()


@dataclass(frozen=True)
class First:
    """The source that would answer a node first, and the feed key of its target."""

    source: str | None
    key: str | None = None


class Incremental:
    """One sweep's view of its cursor: which nodes to check, and the cursor to leave."""

    def __init__(self, root: Path, repo: DataRepo, checker: Checker, config: Config, *,
                 shard: tuple[int, int] | None = None, full: bool = False,
                 day: int | None = None, branch: str = "main",
                 versions: HeadFiles | None | object = _UNREAD) -> None:
        self.root = root
        self.repo = repo
        self.checker = checker
        self.config = config
        self.full = full
        self.day = day_number() if day is None else day
        self.full_every = full_every_of(config)
        self.relpath = cursors.sweep_cursor_relpath(shard)
        self.digest = settings_digest(config, checker)
        self.notes: list[str] = []
        self.tallies: dict[str, Tally] = {}
        self.feeds: dict[str, Changes] = {}
        self._first: dict[str, First] = {}
        self._selected_feed_nodes: set[str] = set()
        self._settled: set[str] = set()
        # HEAD's versions files (None: read the files themselves); ``_UNREAD``: loaded when
        # first needed
        self._versions = versions
        self.head = head_tree(root)
        self.cursor, problem = cursors.parse_sweep(blob_at(root, "HEAD", self.relpath),
                                                   self.relpath)
        self.slots = net_slots(self.cursor.net if self.cursor else None, self.day,
                               self.full_every)
        self.base_problem: str | None = None  # why no node can be skipped (None: some can)
        self._doc_changed: set[str] | None = None
        if full:
            self.base_problem = "--full"
        elif self.cursor is None:
            self.base_problem = problem
        elif self.cursor.config != self.digest:
            self.base_problem = "the settings changed since the last sweep"
        else:
            self._doc_changed, why = self._changed_nodes(self.cursor.base, branch)
            if self._doc_changed is None:
                self.base_problem = why

    # -- before checking -------------------------------------------------------------------
    def _changed_nodes(self, base: str, branch: str) -> tuple[set[str] | None, str]:
        """Names of the nodes whose document differs between the tree ``base`` and HEAD."""
        if base == self.head:
            return set(), ""
        found, why = changed_since_tree(self.root, self.repo, base, branch,
                                   exclude=("versions", "version_pr_info", cursors.FOLDER),
                                   ignore=("new_version",))
        return (None, why) if found is None else (found[0], "")

    def first(self, node: NodeInfo) -> First:
        """The source that answers ``node`` first (matched as ``Checker.check`` does) and its
        feed key; remembered for the node."""
        found = self._first.get(node.name)
        if found is not None:
            return found
        found = First(None)
        for name in self.checker.order(node):
            source = self.checker.sources[name]
            try:
                target = source.match(node)
                if target is None:
                    continue
                key = source.feed_key(target)
            except Exception:  # noqa: BLE001 - the check reports it; never skipped
                found = First(name)
                break
            found = First(name, key if isinstance(key, str) else None)
            break
        self._first[node.name] = found
        return found

    def ask_feeds(self, infos: Iterable[NodeInfo]) -> None:
        """Ask the change feed of every source that answers some of ``infos`` first, all at
        once, before any check: the positions become the next cursor."""
        wanted = sorted({f.source for info in infos if (f := self.first(info)).key is not None
                         and f.source is not None})
        if not wanted:
            return
        if self.base_problem and not self.full:
            self.notes.append(f"{self.base_problem}: checking every node of "
                              f"{', '.join(wanted)}")
        old = dict(self.cursor.sources) if self.cursor and not self.base_problem else {}
        self.feeds = asyncio.run(_ask_all(self.checker, self.config, wanted, old))
        for name, changes in sorted(self.feeds.items()):
            if changes.changed is None and not self.base_problem:
                count = sum(1 for f in self._first.values() if f.source == name and f.key)
                self.notes.append(f"{name}: {changes.note or 'the feed cannot say what changed'}"
                                  f"; checking all {count} nodes")

    # -- the decision ----------------------------------------------------------------------
    def reason(self, node: NodeInfo) -> str | None:
        """Why a sweep checks ``node`` (None: it is skipped); see the module docstring."""
        first = self.first(node)
        if self.full:
            return FULL
        if first.source is None or first.key is None:
            return NO_FEED
        changes = self.feeds.get(first.source)
        if changes is None:
            return NO_FEED
        if self.base_problem or self.cursor is None or self._doc_changed is None:
            return NO_CURSOR if self.cursor is None else (
                SETTINGS if self.cursor.config != self.digest else BASE)
        if changes.changed is None:
            return NO_CURSOR if first.source not in self.cursor.sources else FEED_DOWN
        held = self._result(node.name)
        if held is not None:
            return held
        if node.name in self._doc_changed:
            return DOCUMENT
        if node.name in self.cursor.pending:
            return PENDING
        if first.key in changes.changed:
            return CHANGED
        if self.full_every <= 1 or net_slot(node.name, self.full_every) in self.slots:
            return SAFETY_NET
        return None

    def _result(self, name: str) -> str | None:
        """NEW or ERROR when the node's versions file does not hold an upstream's answer.

        Read as HEAD holds the files (``vbot/git/headfiles.py``: two git calls instead of
        opening 20,000 files); where git cannot say, the file itself is read."""
        if self._versions is _UNREAD:
            self._versions = HeadFiles.load(self.root, "versions")
        head = self._versions
        try:  # the sharded file, then the flat one, as every reader of versions files
            doc = self.repo.read_doc("versions", name,
                                     head.read if isinstance(head, HeadFiles) else None)
        except NodeDocError:  # unreadable, unparseable, or refused (a symlink)
            return ERROR
        if doc is None:
            return NEW
        if not isinstance(doc, dict) or "new_version" not in doc \
                or not schema.is_valid("versions", doc):
            return ERROR
        return None

    def select(self, infos: Iterable[NodeInfo], skipped: Callable[[], None] = lambda: None
               ) -> list[NodeInfo]:
        """The nodes to check, in order; the rest are counted as skipped (``skipped()`` is
        called for each)."""
        chosen = []
        for info in infos:
            why = self.reason(info)
            first = self._first[info.name]
            tally = self.tallies.setdefault(first.source or NO_SOURCE, Tally())
            if why is None:
                tally.skipped += 1
                skipped()
                continue
            tally.checked[why] += 1
            if first.key is not None and first.source in self.feeds:
                self._selected_feed_nodes.add(info.name)
            chosen.append(info)
        return chosen

    # -- after checking --------------------------------------------------------------------
    def settle(self, outcome: Outcome, file_result: str) -> None:
        """Note a recorded outcome: a version found by the node's first source (a feed
        source) and recorded settles the node until its feed says otherwise."""
        first = self._first.get(outcome.node)
        if (first is not None and outcome.status == FOUND and outcome.source == first.source
                and file_result in ("written", "unchanged")):
            self._settled.add(outcome.node)

    @property
    def pending(self) -> set[str]:
        return self._selected_feed_nodes - self._settled

    def cursor_text(self) -> str:
        """The new cursor: the feeds' positions taken before checking, the base tree the
        sweep read, the nodes it did not settle."""
        positions = {name: c.cursor for name, c in self.feeds.items() if c.cursor is not None}
        return cursors.dumps_sweep(self.head, positions, self.pending, self.digest, self.day)

    def wants_cursor(self) -> bool:
        """Whether a cursor is worth leaving: some node has a feed source."""
        return bool(self.feeds)

    def summary(self) -> dict[str, Any]:
        """The report's ``incremental`` entry."""
        old = self.cursor.sources if self.cursor else {}
        sources = {}
        for name, tally in sorted(self.tallies.items()):
            row: dict[str, Any] = {"skipped": tally.skipped,
                                   "checked": dict(sorted(tally.checked.items()))}
            changes = self.feeds.get(name)
            if changes is not None:
                row["cursor"] = {"from": old.get(name), "to": changes.cursor}
                if changes.note:
                    row["note"] = changes.note
            sources[name] = row
        return {"cursor": self.relpath, "full": self.full,
                "base": {"from": self.cursor.base if self.cursor else None, "to": self.head},
                "skipped": sum(t.skipped for t in self.tallies.values()),
                "checked": sum(sum(t.checked.values()) for t in self.tallies.values()),
                "pending": len(self.pending), "net": {"day": self.day,
                                                      "slots": sorted(self.slots),
                                                      "full_every": self.full_every},
                "notes": list(self.notes), "sources": sources}


async def _ask_all(checker: Checker, config: Config, names: list[str],
                   old: Mapping[str, Any]) -> dict[str, Changes]:
    async def ask(name: str) -> Changes | None:
        source = checker.sources[name]
        if source.config_problem(config):
            return None  # the preflight stops or screens these nodes
        try:
            found = await source.changes(old.get(name))
        except Exception as exc:  # noqa: BLE001 - a feed's failure only costs checks
            reason = str(exc) if isinstance(exc, VbotError) else f"{type(exc).__name__}: {exc}"
            return Changes(old.get(name), None, f"feed failed ({reason[:200]})")
        if found is not None and not isinstance(found, Changes):
            return Changes(old.get(name), None, "feed answered nonsense")
        return found

    answers = await asyncio.gather(*(ask(name) for name in names))
    return {name: a for name, a in zip(names, answers, strict=True) if a is not None}


def print_summary(report_extra: Mapping[str, Any], out: TextIO) -> None:
    """The summary lines of an incremental sweep (the report's ``incremental`` entry)."""
    inc = report_extra.get("incremental")
    if not inc:
        return
    base = inc["base"]
    moved = (f"base {str(base['from'])[:12]} -> {str(base['to'])[:12]}" if base["from"]
             else f"base {str(base['to'])[:12]}")
    print(f"  incremental: {inc['skipped']} skipped (unchanged upstream), {inc['checked']} "
          f"checked, {inc['pending']} pending; {moved}"
          + (" (--full)" if inc["full"] else ""), file=out)
    for name, row in inc["sources"].items():
        why = ", ".join(f"{n} {r}" for r, n in sorted(row["checked"].items(),
                                                       key=lambda item: (-item[1], item[0])))
        text = f"    {name}: {row['skipped']} skipped, {sum(row['checked'].values())} checked"
        if why:
            text += f" ({why})"
        if "cursor" in row:
            text += f"; cursor {_short(row['cursor']['from'])} -> {_short(row['cursor']['to'])}"
        print(text, file=out)
    for note in inc["notes"]:
        print(f"  ! {note}", file=out)


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False) if value is not None else "none"
    return text if len(text) <= 40 else text[:37] + "..."
