"""``vbot check NODE...``: a dry run that explains what a sweep would find for some nodes.

Reads a local data repo clone (``--repo``, default: the clone around the current folder), checks
each node with the sweep's own checker against the configured upstreams and prints, per node,
the sources tried (what matched and from which URL), the URLs asked, the candidate versions,
each one dropped with the reason, and the result. Writes nothing: no versions file, no commit,
no HTTP cache.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from vbot.check.checker import Checker
from vbot.check.explain import Explanation, RecordingHttp, explain, shown_request
from vbot.check.factory import make_http
from vbot.check.outcome import INVALID, SKIPPED, Outcome
from vbot.check.preflight import screen, unconfigured
from vbot.config import load_config
from vbot.errors import VbotError
from vbot.git.maintainer import repo_toplevel
from vbot.repo.datarepo import DataRepo, NodeDocError
from vbot.repo.nodeinfo import node_info, skip_reason
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
        return asyncio.run(_explain_all(repo, checker, names, broken))
    finally:
        http.close()


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
