"""Before any check: every source the nodes need must be configured.

A missing or invalid setting (``VBOT_PYPI_URL`` unset, a URL that is not http(s)) is not an
upstream answer, so it must never become a result. A node *needs* a source when that source
is in the node's source order and recognises the node's upstream: the sources are asked in
order until one yields a version, so any of them may be asked. When nodes need an
unconfigured source, the sweep stops before checking (one line naming the setting and how many
nodes need it, exit 1, nothing written); with ``--skip-unconfigured`` those nodes are not
checked, their files stay as they are, and they are reported as skipped.

Settings are only looked at when some source has a problem, so a fully configured sweep still
reads its node documents lazily, as the checks go.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from vbot.check.checker import Checker
from vbot.check.outcome import SKIPPED, Outcome
from vbot.errors import VbotError
from vbot.repo.nodeinfo import NodeInfo


def unconfigured(checker: Checker) -> dict[str, str]:
    """``{source: one-line problem}`` for the checker's sources with a missing or invalid
    setting."""
    config = checker.ctx.config
    found = {name: source.config_problem(config) for name, source in checker.sources.items()}
    return {name: problem for name, problem in found.items() if problem}


def needs(checker: Checker, node: NodeInfo, broken: Mapping[str, str]) -> str | None:
    """The first source in the node's order that recognises its upstream and is unconfigured
    (None: every source that may be asked about this node is configured)."""
    for name in checker.order(node):
        if name not in broken:
            continue
        try:
            if checker.sources[name].match(node) is not None:
                return name
        except Exception:  # noqa: BLE001 - the check reports a node that breaks a source
            continue
    return None


def skip_reason(source: str) -> str:
    return f"source {source} not configured"


def refusal(counts: Mapping[str, int], broken: Mapping[str, str]) -> VbotError:
    """The one-line error of a sweep that cannot start: each problem with its node count."""
    parts = [f"{broken[name]}: {n} node{'' if n == 1 else 's'} need{'s' if n == 1 else ''} it"
             for name, n in sorted(counts.items())]
    return VbotError("; ".join(parts) + "; --skip-unconfigured checks the rest")


def screen(infos: Iterable[NodeInfo], checker: Checker, broken: Mapping[str, str],
           skip: bool, skipped: Callable[[Outcome], None]) -> list[NodeInfo]:
    """The nodes to check. Without ``skip``, raise the refusal if any node needs a source in
    ``broken``; with ``skip``, hand each such node to ``skipped`` as a ``skipped`` outcome and
    leave it out."""
    keep: list[NodeInfo] = []
    counts: dict[str, int] = {}
    for info in infos:
        source = needs(checker, info, broken)
        if source is None:
            keep.append(info)
        elif skip:
            skipped(Outcome(info.name, SKIPPED, source=source, reason=skip_reason(source)))
        else:
            counts[source] = counts.get(source, 0) + 1
    if counts:
        raise refusal(counts, broken)
    return keep
