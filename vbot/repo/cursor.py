"""The cursors of incremental sweeps and merges: small JSON files committed in the data repo.

A runner with an empty disk (a fresh CI job, a shallow clone) finds them where it finds
everything else, so it is incremental from its first run:

- ``.vbot/sweep-cursor.json`` (with ``--shard I/N``: ``.vbot/sweep-cursor-I-of-N.json``, one
  per shard) = ``{"base": <root tree id of the commit the sweep read
  the node documents at>, "sources": {<source>:
  <its change feed's position, any JSON value>}, "pending": [<nodes the sweep did not settle>],
  "net": <the day up to which the safety net ran>, "config": <digest of the settings the
  sweep checked with>}``. It is committed with the
  sweep's versions files, in the same commit (``vbot/run/incremental.py`` says what it is
  used for).
(``vbot merge`` keeps its base in a commit trailer instead: ``vbot/commands/merge.py``.)

It is validated against ``schemas/cursor.schema.json``. A file that is missing, too large,
not JSON or not valid is no cursor at all (the run checks or merges everything, and says
why once): a broken or hostile cursor can cost work, never skip a node wrongly or stop a run.
This module only parses and writes the text; reading it from git is the caller's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from vbot.repo import jsonio, schema

FOLDER = ".vbot"
SWEEP_CURSOR = f"{FOLDER}/sweep-cursor.json"
MAX_BYTES = 64 * 1024 * 1024  # a cursor larger than this is not read (pending lists names)


def sweep_cursor_relpath(shard: tuple[int, int] | None = None) -> str:
    """Where a sweep's cursor lives: one file, or one per shard of ``--shard I/N``."""
    if shard is None:
        return SWEEP_CURSOR
    return f"{FOLDER}/sweep-cursor-{shard[0]}-of-{shard[1]}.json"


@dataclass(frozen=True)
class SweepCursor:
    """What the last sweep left: see the module docstring."""

    base: str
    sources: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    pending: frozenset[str] = frozenset()
    config: str | None = None
    net: int | None = None  # the day up to which the safety net has run

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"base": self.base, "sources": dict(self.sources),
                               "pending": sorted(self.pending)}
        if self.net is not None:
            doc["net"] = self.net
        if self.config is not None:
            doc["config"] = self.config
        return doc


def _parse(data: bytes | None, where: str) -> tuple[dict[str, Any] | None, str | None]:
    """(the valid cursor document, None) or (None, why it is no cursor)."""
    if data is None:
        return None, f"no {where}"
    if len(data) > MAX_BYTES:
        return None, f"{where} is larger than {MAX_BYTES // (1024 * 1024)} MB"
    try:
        doc = jsonio.loads(data, where)
        problems = schema.problems("cursor", doc)
    except Exception as exc:  # noqa: BLE001 - hostile bytes (deep nesting...) are no cursor
        text = str(exc) if str(exc) else type(exc).__name__
        return None, f"{where} is not usable: {text[:200]}"
    if problems:
        return None, f"{where} is not valid: {problems[0][:200]}"
    return doc, None


def parse_sweep(data: bytes | None, where: str = SWEEP_CURSOR
                ) -> tuple[SweepCursor | None, str | None]:
    """(the sweep cursor in ``data``, None) or (None, why there is none, in one line).
    ``data`` None: the file does not exist."""
    doc, problem = _parse(data, where)
    if doc is None:
        return None, problem
    return SweepCursor(base=doc["base"], sources=MappingProxyType(dict(doc["sources"])),
                       pending=frozenset(doc["pending"]), config=doc.get("config"),
                       net=doc.get("net")), None


def dumps_sweep(base: str, sources: Mapping[str, Any], pending: Iterable[str],
                config: str | None = None, net: int | None = None) -> str:
    """The canonical text of a sweep cursor (sorted keys and names: no needless diff)."""
    return jsonio.dumps(SweepCursor(base, MappingProxyType(dict(sources)), frozenset(pending),
                                    config, net).to_json())
