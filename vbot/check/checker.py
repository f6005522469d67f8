"""Checking one node against its upstreams: the sources in order, then the version filters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vbot.check.outcome import BAD, FOUND, INTERNAL, NONE, NOSOURCE, TRANSIENT, Outcome
from vbot.errors import UpstreamError, VbotError
from vbot.repo.nodeinfo import NodeInfo
from vbot.sources import DEFAULT_ORDER, REGISTRY, Context, Source, canonical
from vbot.versioning.policy import pick


def internal(node: NodeInfo, source: str | None, exc: Exception) -> Outcome:
    """The outcome of a check that failed on vbot's side: reported, and the node's file is
    left as it is (only an upstream's answer becomes a result). No other source is asked:
    the first source that yields a version wins, and this one's answer is unknown."""
    reason = str(exc) if isinstance(exc, VbotError) else (
        f"internal error: {type(exc).__name__}: {exc}")
    return Outcome(node.name, INTERNAL, source=source, reason=reason)


class Checker:
    """Holds one instance of every source for a sweep and checks nodes with them.

    ``check`` is a coroutine: a sweep runs many checks at once on one event loop
    (``vbot/run/executors.py``)."""

    def __init__(self, ctx: Context, registry: Any = REGISTRY) -> None:
        self.ctx = ctx
        self.sources: dict[str, Source] = {name: cls(ctx) for name, cls in registry.items()}
        self.default_order: Sequence[str] = [n for n in DEFAULT_ORDER if n in self.sources]

    def batches(self) -> bool:
        """Whether some source batches requests (and so wants every node before checking)."""
        return any(source.batches() for source in self.sources.values())

    def prefetch(self, nodes: Sequence[NodeInfo]) -> None:
        """Let every source plan batched requests for the nodes it will be asked first about."""
        firsts: dict[str, list[NodeInfo]] = {name: [] for name in self.sources}
        for node in nodes:
            for name in self.order(node):
                try:
                    target = self.sources[name].match(node)
                    if target is not None:
                        firsts[name].append(node)
                        break
                except Exception:  # noqa: BLE001 - check() reports it for this node
                    break
        for name, source in self.sources.items():
            try:
                source.prefetch(firsts[name])
            except Exception:  # noqa: BLE001 - a batching failure falls back to per-node checks
                continue

    def order(self, node: NodeInfo) -> list[str]:
        wanted = node.controls.sources
        if wanted is None:
            return list(self.default_order)
        chosen = dict.fromkeys(canonical(n) for n in wanted)  # conda-forge names, in order
        return [n for n in chosen if n in self.sources]

    async def check(self, node: NodeInfo) -> Outcome:
        errors: list[tuple[str, UpstreamError]] = []
        answered: str | None = None
        for name in self.order(node):
            source = self.sources[name]
            try:
                target = source.match(node)
                if target is None:
                    continue
                found = pick(await source.versions(target, node), node)
            except UpstreamError as exc:
                errors.append((name, exc))
                continue
            except Exception as exc:  # vbot's failure (a bug, a setting): not an answer
                return internal(node, name, exc)
            if found is not None:
                return Outcome(node.name, FOUND, version=found, source=name)
            answered = answered or name
        if errors:
            permanent = [(n, e) for n, e in errors if not e.transient]
            name, err = (permanent or errors)[0]
            status = TRANSIENT if not permanent else BAD
            return Outcome(node.name, status, source=name, reason=err.reason,
                           rate_limited=err.rate_limited or None)
        if answered:
            return Outcome(node.name, NONE, source=answered, reason="no stable version upstream")
        unknown = [n for n in node.controls.sources or () if canonical(n) not in REGISTRY]
        if unknown:  # a misspelt name in bot.version_updates.sources, not an upstream problem
            return Outcome(node.name, NOSOURCE, reason=f"unknown source {unknown[0]!r} in "
                           "bot.version_updates.sources")
        return Outcome(node.name, NOSOURCE, reason="no source understands this upstream")
