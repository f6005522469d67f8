"""Which upstream versions a check may pick: the filters every source and the checker share.

``sift`` says what is kept and why each other candidate was dropped (``vbot check`` shows the
drops); ``pick`` is the highest kept candidate by conda order. Sources that choose among
several upstream files (nvidia, rawurl) use the same two functions, so no source can disagree
with the checker about what counts as a release.
"""

from __future__ import annotations

from collections.abc import Iterable

from vbot.repo.nodeinfo import NodeInfo
from vbot.versioning import order


def _even_minor(text: str) -> bool:
    parts = order.normalise(text).split(".")
    return len(parts) < 2 or not parts[1].isdigit() or int(parts[1]) % 2 == 0


def sift(candidates: Iterable[str], node: NodeInfo) -> tuple[list[str], list[tuple[str, str]]]:
    """(the candidates a check may pick from, [(candidate, why it was dropped)]).

    One function for the sweep (:func:`pick`) and ``vbot check`` (which explains the drops),
    so the two cannot disagree."""
    exclude = node.controls.exclude
    excluded = {order.normalise(v) for v in exclude}
    keep: list[str] = []
    dropped: list[tuple[str, str]] = []
    for text in candidates:
        text = str(text).strip()
        if order.parse(text) is None:
            dropped.append((text, "not a version"))
        elif order.is_prerelease(text):
            dropped.append((text, "pre-release"))
        elif exclude and (order.normalise(text) in excluded or text in exclude):
            dropped.append((text, "excluded by bot.version_updates.exclude"))
        elif node.controls.even_odd_versions and not _even_minor(text):
            dropped.append((text, "odd minor version (bot.version_updates.even_odd_versions)"))
        else:
            keep.append(text)
    return keep, dropped


def pick(candidates: Iterable[str], node: NodeInfo) -> str | None:
    """The highest stable, non-excluded candidate by conda order."""
    return order.highest(sift(candidates, node)[0])
