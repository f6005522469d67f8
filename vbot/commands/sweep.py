"""``vbot sweep``: check every eligible node upstream, write versions files, one commit, push."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from vbot import schema
from vbot.check import INVALID, SKIPPED, TRANSIENT, Checker, Outcome
from vbot.config import Config, load_config
from vbot.datarepo import DataRepo, NodeDocError
from vbot.errors import VbotError
from vbot.executors import run_threads
from vbot.gitrepo import Workspace
from vbot.http import HttpClient
from vbot.httpcache import HttpCache, default_cache_dir
from vbot.jsonio import write_if_changed
from vbot.nodeinfo import NodeInfo, node_info, skip_reason
from vbot.progress import Progress
from vbot.report import RunReport, new_run_id
from vbot.sources import REGISTRY, Context


@dataclass(frozen=True)
class SweepOptions:
    remote: str
    workdir: Path | None = None
    workers: int = 16
    nodes: tuple[str, ...] | None = None
    push: bool = True
    report: Path | None = None
    config: Path | None = None
    progress: bool = True
    env: Mapping[str, str] | None = None  # default: the process environment
    cache_dir: Path | None = None  # persistent HTTP cache (default: httpcache.default_cache_dir)
    http_cache: bool = True


def make_http(config: Config, workers: int, cache: HttpCache | None = None) -> HttpClient:
    credentials: dict[str, dict[str, str]] = {}
    for cls in REGISTRY.values():
        for org, headers in cls.credentials(config).items():
            credentials.setdefault(org, {}).update(headers)
    return HttpClient(config.http, credentials, pool_size=max(4, workers), cache=cache)


def select(repo: DataRepo, wanted: tuple[str, ...] | None,
           report: RunReport) -> list[NodeInfo]:
    """Node infos to check; skipped, unsafe and broken nodes go straight to the report."""
    names, unsafe = repo.safe_names()
    for shown, reason in unsafe.items():
        report.add(Outcome(shown, INVALID, reason=reason), "skipped")
    if wanted is not None:
        known = set(names)
        missing = [n for n in wanted if n not in known]
        if missing:
            raise VbotError(f"--nodes: not in graph.json: {', '.join(missing[:10])}")
        chosen = set(wanted)
        names = [n for n in names if n in chosen]
    infos = []
    for name in names:
        try:
            attrs = repo.node_attrs(name)
        except NodeDocError as exc:
            report.add(Outcome(name, INVALID, reason=str(exc)), "skipped")
            continue
        why = skip_reason(attrs)
        if why:
            report.add(Outcome(name, SKIPPED, reason=why), "skipped")
            continue
        infos.append(node_info(name, attrs))
    return infos


def record(repo: DataRepo, outcome: Outcome) -> str:
    """Apply the error policy and write the node's versions file if its content changed."""
    doc = outcome.document()
    if doc is None:
        return "skipped"
    if outcome.status == TRANSIENT and repo.read_versions(outcome.node) is not None:
        return "kept"
    problems = schema.problems("versions", doc)
    if problems:
        doc = {"bad": f"Upstream: {outcome.source}: invalid result ({problems[0]})"}
    path = repo.versions_path(outcome.node)
    return "written" if write_if_changed(path, doc, fsync=False) else "unchanged"  # git is durable


def commit_message(report: RunReport) -> str:
    c = report.counts()
    head = (f"vbot sweep: {c['checked']} checked, {c['new']} new, "
            f"{c['unchanged']} unchanged, {c['errors']} errors")
    body = (f"found {c['found']}, none {c['none']}, no source {c['no_source']}, "
            f"bad {c['bad']}, transient {c['transient']}, skipped {c['skipped']}, "
            f"invalid {c['invalid']}")
    return f"{head}\n\n{body}\n\nVbot-Run: {report.run_id}\n"


def sweep(opts: SweepOptions) -> RunReport:
    report = RunReport("sweep", new_run_id("sweep"))
    out = sys.stderr
    with ExitStack() as stack:
        with report.phase("clone"):
            ws = stack.enter_context(Workspace.open(opts.remote, opts.workdir))
        with report.phase("load"):
            repo = DataRepo.open(ws.path)
            config = load_config(ws.path, opts.config, opts.env)
            infos = select(repo, opts.nodes, report)
        cache_dir = opts.cache_dir or default_cache_dir(opts.env)
        cache = HttpCache(cache_dir) if opts.http_cache else None
        http = make_http(config, opts.workers, cache)
        checker = Checker(Context(config=config, http=http))
        progress = Progress(len(infos), "sweep", out, enabled=opts.progress)
        with report.phase("check"):
            checker.prefetch(infos)
            for outcome in run_threads(infos, checker.check, opts.workers):
                with report.phase("write", cpu=False):
                    report.add(outcome, record(repo, outcome))
                progress.advance()
        progress.close()
        report.extra["requests"] = http.requests_made
        if cache is not None:
            report.extra["http_cache"] = cache.stats()
        with report.phase("commit"):
            sha = ws.commit(["versions"], commit_message(report))
        report.extra["commit"] = sha
        report.extra["pushed"] = False
        try:
            if opts.push and (sha or ws.unpushed()):
                with report.phase("push"):
                    ws.push()
                report.extra["pushed"] = True
        finally:
            if opts.report:
                report.write(opts.report)
    return report
