"""Splitting the nodes of a sweep across independent CI jobs, the way conda-forge's bot does.

Job ``I`` of ``N`` checks the nodes whose ``int(sha1(name).hexdigest(), 16) % N == I``. Every node
lands in exactly one shard, the split depends on the node name only (not on the graph or on the
job's machine), so N jobs started from the same commit together check every node once.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from vbot.errors import VbotError

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise VbotError(f"--shard {self.index}/{self.count}: need 0 <= I < N")

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, name: str) -> bool:
        return shard_of(name, self.count) == self.index


def shard_of(name: str, count: int) -> int:
    """The shard (0-based) that checks node ``name`` when the sweep is split ``count`` ways."""
    return int(hashlib.sha1(name.encode("utf-8")).hexdigest(), 16) % count


def parse_shard(text: str) -> Shard:
    """``"I/N"`` (0 <= I < N) -> Shard; a VbotError naming the problem otherwise."""
    match = _SPEC.match(text)
    if not match:
        raise VbotError(f"--shard {text!r}: expected I/N, e.g. 0/4")
    return Shard(int(match.group(1)), int(match.group(2)))
