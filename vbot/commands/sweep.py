"""``vbot sweep``: check every eligible node upstream, write versions files, one commit, push."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from vbot import schema
from vbot.check import INVALID, SKIPPED, TRANSIENT, Checker, Outcome
from vbot.config import Config, load_config
from vbot.datarepo import DataRepo, NodeDocError
from vbot.errors import VbotError
from vbot.executors import ExecutorSpec, Recipe, Runner
from vbot.gitrepo import Workspace
from vbot.http import HttpClient
from vbot.jsonio import write_if_changed
from vbot.nodeinfo import NodeInfo, node_info, skip_reason
from vbot.progress import Progress
from vbot.report import RunReport, new_run_id
from vbot.shard import Shard
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
    # -- scaling out (issue 6) --
    executor: ExecutorSpec = ExecutorSpec()
    shard: Shard | None = None


def make_http(config: Config, workers: int) -> HttpClient:
    credentials: dict[str, dict[str, str]] = {}
    for cls in REGISTRY.values():
        for org, headers in cls.credentials(config).items():
            credentials.setdefault(org, {}).update(headers)
    return HttpClient(config.http, credentials, pool_size=max(4, workers))


@dataclass(frozen=True)
class CheckerFactory:
    """Picklable recipe of a sweep's checker: process and dask workers each build their own."""

    config: Config
    workers: int

    def __call__(self) -> Checker:
        return Checker(Context(config=self.config, http=make_http(self.config, self.workers)))


def select(repo: DataRepo, wanted: tuple[str, ...] | None,
           report: RunReport, shard: Shard | None = None) -> list[NodeInfo]:
    """Node infos to check; skipped, unsafe and broken nodes go straight to the report."""
    names, unsafe = repo.safe_names()
    if shard is not None:  # each unsafe name is reported by one shard only
        unsafe = {k: v for k, v in unsafe.items() if shard.owns(k)}
    for shown, reason in unsafe.items():
        report.add(Outcome(shown, INVALID, reason=reason), "skipped")
    if wanted is not None:
        known = set(names)
        missing = [n for n in wanted if n not in known]
        if missing:
            raise VbotError(f"--nodes: not in graph.json: {', '.join(missing[:10])}")
        chosen = set(wanted)
        names = [n for n in names if n in chosen]
    if shard is not None:  # --shard I/N: this job's part of the graph only
        names = [n for n in names if shard.owns(n)]
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
    return "written" if write_if_changed(repo.versions_path(outcome.node), doc) else "unchanged"


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
            infos = select(repo, opts.nodes, report, opts.shard)
        http = make_http(config, opts.workers)
        checker = Checker(Context(config=config, http=http))
        # thread: checker.check runs here; process/dask: each worker builds its own from a recipe
        runner = Runner(opts.executor, Recipe(report.run_id, CheckerFactory(config, opts.workers)),
                        opts.workers)
        progress = Progress(len(infos), "sweep", out, enabled=opts.progress)
        with report.phase("check"):
            for outcome in runner.run(infos, checker.check):
                report.add(outcome, record(repo, outcome))
                progress.advance()
        progress.close()
        report.extra["requests"] = http.requests_made + runner.requests_made
        if opts.executor.kind != "thread" or opts.shard:
            report.extra["executor"] = {"kind": opts.executor.kind, "chunks": runner.chunks,
                                        "failed_chunks": runner.failed_chunks,
                                        "shard": str(opts.shard) if opts.shard else None}
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
