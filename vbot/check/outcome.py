"""What a check says about one node: its outcome and the status names (no heavy imports:
merge, reports and executors need these without the sources and the HTTP client)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Status(str, Enum):
    """What a check concluded about a node. A ``str`` enum: reports and JSON carry the value."""

    FOUND = "found"  # a version was found
    NONE = "none"  # the source answered, but no usable version
    NOSOURCE = "nosource"  # no source understands this node's upstream
    BAD = "bad"  # permanent upstream failure
    TRANSIENT = "transient"  # timeout, 5xx, 429, deadline: try again next sweep
    SKIPPED = "skipped"  # archived, parsing_error, version_updates.skip
    INVALID = "invalid"  # unsafe node name or broken node document
    INTERNAL = "internal"  # vbot's own failure (a bug, the machine, a setting): file left alone

    __str__ = str.__str__
    __format__ = str.__format__


FOUND, NONE, NOSOURCE, BAD = Status.FOUND, Status.NONE, Status.NOSOURCE, Status.BAD
TRANSIENT, SKIPPED, INVALID, INTERNAL = (Status.TRANSIENT, Status.SKIPPED, Status.INVALID,
                                         Status.INTERNAL)


@dataclass(frozen=True)
class Outcome:
    node: str
    status: Status
    version: str | None = None
    source: str | None = None
    reason: str | None = None
    rate_limited: bool | None = None  # a transient failure because a rate limit ran out

    def document(self) -> dict[str, Any] | None:
        """The versions file content for this outcome (None: leave the file alone).

        Only an upstream's answer becomes a file: ``internal`` (vbot's or the machine's
        failure), ``skipped`` and ``invalid`` leave the node's file as it is."""
        if self.status == FOUND:
            return {"new_version": self.version}
        if self.status in (NONE, NOSOURCE):
            return {"new_version": None}
        if self.status in (BAD, TRANSIENT):
            return {"bad": f"Upstream: {self.source or 'vbot'}: {self.reason}"}
        return None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}
