"""``vbot check NODE...``: a dry run that explains what a sweep would find for some nodes.

Reads a local data repo clone (``--repo``, default: the clone around the current folder), checks
each node with the sweep's own checker against the configured upstreams and prints, per node,
the sources tried (what matched and from which URL), the URLs asked, the candidate versions,
each one dropped with the reason, and the result. Writes nothing: no versions file, no commit,
no HTTP cache.

Then whether the next sweep would check the node or skip it, and why
(``vbot/run/incremental.py``): the clone's sweep cursor and the change feeds, asked as the
sweep would ask them.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from vbot.check.checker import Checker
from vbot.check.explain import Explanation, RecordingHttp, explain, shown_request
from vbot.check.factory import make_http
from vbot.check.outcome import INVALID, SKIPPED, Outcome
from vbot.check.preflight import screen, unconfigured
from vbot.config import Config, load_config
from vbot.errors import VbotError
from vbot.git.diff import current_branch, shard_cursors
from vbot.git.maintainer import repo_toplevel
from vbot.repo.datarepo import DataRepo, NodeDocError
from vbot.repo.nodeinfo import node_info, skip_reason
from vbot.run.incremental import Incremental
from vbot.run.jobshard import Shard
from vbot.sources import Context

MAX_SHOWN = 12  # candidates and "not newer" drops shown per line in the text output
MAX_CHARS = 200  # an upstream string longer than this is shortened in the text output
MAX_VERSION_CHARS = 64  # likewise for one version or tag in a list


@dataclass(frozen=True)
class CheckOptions:
    nodes: tuple[str, ...]
    repo: Path = Path(".")
    config: Path | None = None
    env: Mapping[str, str] | None = None  # default: the process environment


def data_repo_top(path: Path) -> Path:
    """``path`` itself when it holds a graph.json, else the top of the git clone around it."""
    if (path / "graph.json").is_file():
        return path
    return repo_toplevel(path)


def resolve(repo: DataRepo, wanted: tuple[str, ...]) -> list[str]:
    """The named nodes, each once; an unknown name is an error that lists close matches."""
    known = repo.safe_names()[0]
    names = set(known)
    for name in wanted:
        if name not in names:
            close = difflib.get_close_matches(name, known, n=5, cutoff=0.6)
            hint = f"; did you mean: {', '.join(close)}?" if close else ""
            raise VbotError(f"{name}: not a node of graph.json{hint}")
    return list(dict.fromkeys(wanted))


def explain_nodes(opts: CheckOptions) -> list[Explanation]:
    """An explanation per node, in the order named."""
    if not opts.nodes:
        raise VbotError("name at least one node")
    top = data_repo_top(opts.repo)
    repo = DataRepo.open(top)
    names = resolve(repo, opts.nodes)
    config = load_config(top, opts.config, opts.env)
    http = make_http(config, len(names), None)  # no persistent cache: a dry run keeps nothing
    checker = Checker(Context(config=config, http=RecordingHttp(http)))
    try:
        # the sweep's pre-checks, before any request: settings that stop any run, and the
        # sources the named nodes need that are not configured
        broken = unconfigured(checker)
        found = asyncio.run(_explain_all(repo, checker, names, broken))
        _add_sweep_views(top, repo, checker, config, found)
        return found
    finally:
        http.close()


WHY = {
    "full": "--full",
    "no feed": "the source that answers it first has no change feed",
    "no cursor": "no earlier sweep cursor for its source's feed",
    "feed unavailable": "its source's change feed cannot say what changed",
    "base unknown": "the last sweep's base is not in the history",
    "settings changed": "the settings changed since the last sweep",
    "new": "it has no versions file yet",
    "error": "its last result was an error",
    "document changed": "its node document changed since the last sweep",
    "pending": "the last sweep did not settle it (an error, a later source's answer, no "
               "stable version, the deadline)",
    "changed": "its source's change feed lists it as changed since the last sweep",
    "safety net": "the safety net rechecks it today",
}


def _add_sweep_views(top: Path, repo: DataRepo, checker: Checker, config: Config,
                     found: list[Explanation]) -> None:
    """Set each explanation's ``sweep``: would the next sweep skip the node, and why."""
    infos = {e.node: node_info(e.node, repo.node_attrs(e.node)) for e in found
             if e.outcome.status not in (SKIPPED, INVALID)}
    if not infos:
        return
    try:
        shards = shard_cursors(top)
        views: dict[tuple[int, int] | None, Incremental] = {}
        for name, info in infos.items():
            shard = next((s for s in shards if Shard(*s).owns(name)), None)
            if shard not in views:
                views[shard] = Incremental(top, repo, checker, config, shard=shard,
                                           branch=current_branch(top))
                views[shard].ask_feeds([i for n, i in infos.items() if next(
                    (s for s in shards if Shard(*s).owns(n)), None) == shard])
            incr = views[shard]
            reason = incr.reason(info)
            first = incr.first(info)
            view: dict[str, Any] = {"skip": reason is None, "reason": reason,
                                    "source": first.source, "cursor": incr.relpath}
            if reason is None:
                view["why"] = (f"{first.source}'s change feed lists no change since the last "
                               f"sweep, its result and document are unchanged and the safety "
                               f"net is not due")
            else:
                view["why"] = WHY.get(reason, reason)
                problem = incr.base_problem or ""
                if reason in ("no cursor", "base unknown", "settings changed") and problem:
                    view["why"] += f" ({problem})"
                changes = incr.feeds.get(first.source or "")
                if reason == "feed unavailable" and changes is not None and changes.note:
                    view["why"] += f" ({changes.note})"
            for exp in found:
                if exp.node == name:
                    exp.sweep = view
    except VbotError as exc:  # not a git clone, git missing: say so, the rest stands
        for exp in found:
            if exp.node in infos:
                exp.sweep = {"skip": None, "reason": None, "why": f"cannot tell ({exc})"}


async def _explain_all(repo: DataRepo, checker: Checker, names: list[str],
                       broken: Mapping[str, str] | None = None) -> list[Explanation]:
    infos = {}
    out: dict[str, Explanation] = {}
    for name in names:
        try:
            attrs = repo.node_attrs(name)
            why = skip_reason(attrs)
            if why:
                out[name] = Explanation(name, _version(attrs), Outcome(name, SKIPPED, reason=why))
            else:
                infos[name] = node_info(name, attrs)
        except (NodeDocError, VbotError) as exc:
            out[name] = Explanation(name, None, Outcome(name, INVALID, reason=str(exc)))
    if broken:  # as the sweep does: one line naming the setting, nothing asked
        screen(infos.values(), checker, broken, False, lambda _: None, hint=False)
    if checker.batches():  # as the sweep does: batched answers are planned before checking
        checker.prefetch(list(infos.values()))
    for name, info in infos.items():  # one at a time: each node's URLs are its own
        out[name] = await explain(checker, checker.ctx.http, info)
    return [out[name] for name in names]


def _version(attrs: dict) -> str | None:
    version = attrs.get("version")
    return str(version) if version is not None else None


def safe(text: object, limit: int = MAX_CHARS) -> str:
    """``text`` as one terminal line: control and format characters (newlines, escape
    sequences, bidi overrides) written as escapes, and more than ``limit`` characters
    shortened with an ellipsis. Upstream answers are untrusted: a version must not become
    two lines of output or recolour the terminal."""
    out = "".join(
        c if unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")
        else c.encode("unicode_escape").decode("ascii") for c in str(text))
    if len(out) > limit:
        out = f"{out[:limit - 1]}… ({len(out)} characters)"
    return out


def _listed(items: list[str]) -> str:
    shown = ", ".join(safe(item, MAX_VERSION_CHARS) for item in items[:MAX_SHOWN])
    return shown + (f", … ({len(items)} in all)" if len(items) > MAX_SHOWN else "")


def print_text(explanations: list[Explanation], out: TextIO) -> None:
    for i, exp in enumerate(explanations):
        if i:
            print(file=out)
        print(f"{safe(exp.node)} (version {safe(exp.version or 'unknown')})", file=out)
        unmatched = [s.source for s in exp.steps if s.state == "no match"]
        for step in exp.steps:
            if step.state == "match failed":
                print(f"  {step.source}: {safe(step.error)}", file=out)
            if step.state != "matched":
                continue
            print(f"  {step.source}: matched {safe(step.matched)}", file=out)
            for entry in step.requests:
                print(f"    asked {safe(shown_request(entry))}", file=out)
            if step.error:
                print(f"    error: {safe(step.error)}", file=out)
                continue
            print(f"    candidates ({len(step.candidates)}): {_listed(step.candidates) or '-'}",
                  file=out)
            by_reason: dict[str, list[str]] = {}
            for version, why in step.dropped:
                by_reason.setdefault(why, []).append(version)
            for why, dropped in by_reason.items():
                print(f"    dropped ({safe(why)}): {_listed(dropped)}", file=out)
            print(f"    picked: {safe(step.picked or 'nothing', MAX_VERSION_CHARS)}", file=out)
        if unmatched:
            print(f"  no match: {', '.join(unmatched)}", file=out)
        not_tried = [s.source for s in exp.steps if s.state == "not tried"]
        if not_tried and exp.outcome.status not in (SKIPPED, INVALID):
            print(f"  not tried (an earlier source answered): {', '.join(not_tried)}", file=out)
        others = [s.source for s in exp.steps if s.state.startswith("not in ")]
        if others:
            print(f"  not in bot.version_updates.sources: {', '.join(others)}", file=out)
        if exp.sweep is not None:
            verdict = {True: "would skip it", False: "would check it", None: "?"}[exp.sweep["skip"]]
            print(f"  next sweep: {verdict}: {safe(exp.sweep['why'])}", file=out)
        print(f"  result: {safe(_result(exp))}", file=out)


def _result(exp: Explanation) -> str:
    o = exp.outcome
    if exp.new_version is not None:
        verdict = (f"newer than {exp.version}: merge proposes it" if exp.update
                   else f"not newer than the node's version {exp.version}: no update")
        return (f"{o.status} {safe(exp.new_version, MAX_VERSION_CHARS)} ({o.source}), "
                f"{verdict}")
    source = f" ({o.source})" if o.source else ""
    return f"{o.status}{source}: {o.reason}" if o.reason else f"{o.status}{source}"


def print_json(explanations: list[Explanation], out: TextIO) -> None:
    json.dump([e.to_json() for e in explanations], out, indent=2, ensure_ascii=False)
    print(file=out)
