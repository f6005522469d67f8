"""``vbot sweep``: check every eligible node upstream, write versions files, one commit, push."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

from vbot.check.checker import Checker
from vbot.check.factory import CheckerFactory, deadline_at, make_http
from vbot.check.outcome import INVALID, SKIPPED, TRANSIENT, Outcome
from vbot.check.preflight import screen, unconfigured
from vbot.config import Config, load_config
from vbot.errors import VbotError
from vbot.git.headfiles import HeadFiles
from vbot.git.workspace import Workspace
from vbot.httpclient.cache import HttpCache, default_cache_dir
from vbot.httpclient.client import HttpClient
from vbot.redact import redact
from vbot.repo import schema
from vbot.repo.datarepo import DataRepo, NodeDocError
from vbot.repo.jsonio import (
    CANONICAL,
    MISSING,
    Style,
    atomic_write_text,
    dumps_styled,
    folder_style,
    parse_or_missing,
    style_of,
)
from vbot.repo.nodeinfo import NodeInfo, node_info, skip_reason
from vbot.repo.paths import read_contained
from vbot.run.executors import ExecutorSpec, Recipe, Runner
from vbot.run.incremental import Incremental
from vbot.run.jobshard import Shard
from vbot.run.outage import OutageGuard, settle
from vbot.run.progress import Progress
from vbot.run.publish import commit_and_push
from vbot.run.report import RunReport, new_run_id
from vbot.sources import Context


@dataclass(frozen=True)
class SweepOptions:
    remote: str
    workdir: Path | None = None
    workers: int = 64
    nodes: tuple[str, ...] | None = None
    push: bool = True
    report: Path | None = None
    config: Path | None = None
    progress: bool = True
    env: Mapping[str, str] | None = None  # default: the process environment
    cache_dir: Path | None = None  # persistent HTTP cache (default: httpcache.default_cache_dir)
    http_cache: bool = True
    deadline: float | None = None  # seconds from the start; then pending nodes are transient
    skip_unconfigured: bool = False  # check the rest when nodes need an unconfigured source
    # -- scaling out (issue 6) --
    executor: ExecutorSpec = ExecutorSpec()
    shard: Shard | None = None
    depth: int | None = None  # commits the clone holds (default: [git] depth, else 1; 0: all)
    # -- incremental sweeps (issue 17, vbot/run/incremental.py) --
    full: bool = False  # check every node, whatever the change feeds say
    today: int | None = None  # the safety net's day number (default: today, UTC)


def candidates(repo: DataRepo, wanted: tuple[str, ...] | None, report: RunReport,
               shard: Shard | None = None) -> list[str]:
    """Names of the nodes to look at, most depended-on first (ties by name), so that a sweep
    cut short has covered the most-used packages; unsafe names go straight to the report."""
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
    return repo.by_dependents(names)


def node_infos(repo: DataRepo, names: Iterable[str], report: RunReport,
               skipped: Callable[[], None] = lambda: None) -> Iterator[NodeInfo]:
    """The node infos to check, read one document at a time; skipped and broken nodes go
    straight to the report (and ``skipped()`` is called for each)."""
    for name in names:
        try:
            attrs = repo.node_attrs(name)
            why = skip_reason(attrs)
            info = None if why else node_info(name, attrs)
        except (NodeDocError, VbotError) as exc:
            report.add(Outcome(name, INVALID, reason=str(exc)), "skipped")
            skipped()
            continue
        except Exception as exc:  # a hostile document affects only its node
            report.add(Outcome(name, INVALID, reason=f"unreadable node document: "
                               f"{type(exc).__name__}: {exc}"), "skipped")
            skipped()
            continue
        if info is None:
            report.add(Outcome(name, SKIPPED, reason=why), "skipped")
            skipped()
            continue
        yield info


def record(repo: DataRepo, outcome: Outcome, contents: dict[str, bytes] | None = None,
           new_style: Style = CANONICAL, rules: schema.Schema | None = None,
           head: HeadFiles | None = None) -> tuple[Outcome, str]:
    """Apply the error policy and write the node's versions file if its content changed.

    A transient failure keeps an earlier valid file untouched; with no earlier file it is
    written as ``bad``. Returns the outcome as reported (a node whose file cannot be written
    safely becomes ``invalid``) and what happened to the file. With ``contents`` the new
    bytes go there by repo-relative path, for the commit (``vbot/git/commit.py``), instead
    of into the work tree. A changed file keeps its indent and final-newline style; a new one
    is written in ``new_style``.
    ``rules``: the versions schema as the sweep loaded it (default: loaded now). ``head``:
    the versions files as HEAD holds them, when they are the work tree's
    (``vbot/git/headfiles.py``; a sparse workspace does not check them out); without it the
    files are read (the earlier file of the transient rule too).
    """
    doc = outcome.document()
    if doc is None:
        return outcome, "skipped"
    try:
        if outcome.status == TRANSIENT and repo.read_versions(
                outcome.node, None if head is None else head.read) is not None:
            return outcome, "kept"
        if "bad" in doc:
            doc = {"bad": doc["bad"][:2000]}
        problems = (rules or schema.load("versions")).problems(doc)
        if problems:
            doc = {"bad": f"Upstream: {outcome.source}: invalid result ({problems[0]})"[:2000]}
        rel = repo.doc_relpath("versions", outcome.node)
        # both refuse a path outside the repo or through a symbolic link
        data = read_contained(repo.root, rel) if head is None else head.read(rel)
        current = parse_or_missing(data)
        if current == doc:
            return outcome, "unchanged"
        if current is MISSING:
            data = None  # unparseable: written in new_style, as a new file
        blocked = None if head is None else head.unwritable(rel)
        if blocked:  # not checked out: refused as writing into the folder would be
            raise VbotError(blocked)
        # a changed file keeps its own style
        text = dumps_styled(doc, style_of(data) if data is not None else new_style)
        if contents is not None:
            contents[rel] = text.encode("utf-8")
        else:  # the path just read (or found missing); no fsync: the git commit makes the
            # file durable (benchmarks/RESULTS.md)
            atomic_write_text(repo.root / os.path.normpath(rel), text, fsync=False)
    except (VbotError, OSError, ValueError) as exc:  # e.g. a symlink pointing outside
        reason = str(exc) if isinstance(exc, VbotError) else f"cannot write: {exc.strerror}"
        return Outcome(outcome.node, INVALID, reason=reason), "skipped"
    return outcome, "written"


def commit_message(report: RunReport) -> str:
    c = report.counts()
    head = (f"vbot sweep: {c['checked']} checked, {c['new']} new, "
            f"{c['unchanged']} unchanged, {c['errors']} errors")
    body = (f"found {c['found']}, none {c['none']}, no source {c['no_source']}, "
            f"bad {c['bad']}, transient {c['transient']}, skipped {c['skipped']}, "
            f"invalid {c['invalid']}" + (f", internal {c['internal']}" if c["internal"] else ""))
    incremental = report.extra.get("incremental")
    if incremental and incremental["skipped"]:
        body += f"\nunchanged upstream since the last sweep (not asked): {incremental['skipped']}"
    return f"{head}\n\n{body}\n\nVbot-Run: {report.run_id}\n"


@dataclass
class Recording:
    """Where a sweep's outcomes go as they arrive: redacted, held while their source may be
    down (``vbot/run/outage.py``), recorded in versions files, told to the incremental
    bookkeeping, reported. The changed files are kept here for the commit: the workspace's
    sparse checkout leaves versions/ out, and writing 20,000 files only for the commit to
    read them back was most of a first sweep's write and commit time (benchmarks/RESULTS.md)."""

    repo: DataRepo
    report: RunReport
    secrets: list[str | None]
    progress: Progress
    incr: Incremental | None
    new_style: Style = CANONICAL  # of the versions folder's files, for new ones
    head: HeadFiles | None = None  # the versions files as HEAD holds them (None: read files)
    # the versions schema, loaded once: a schema changed mid-sweep counts next time
    rules: schema.Schema = field(default_factory=lambda: schema.load("versions"))
    outages: OutageGuard = field(default_factory=OutageGuard)
    # the files written: repo-relative path -> bytes
    contents: dict[str, bytes] = field(default_factory=dict)

    def sink(self, outcome: Outcome) -> None:
        """One outcome from the runner."""
        if outcome.reason:  # reasons go to files, reports and logs: never a secret,
            # and always text that can be written (no lone surrogates from hostile data)
            text = redact(outcome.reason, self.secrets)
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
            outcome = replace(outcome, reason=text)
        if not self.outages.hold(outcome):  # failures wait: is their source down?
            self.store(outcome)
        self.progress.advance()

    def store(self, outcome: Outcome) -> None:
        with self.report.phase("write", cpu=False):
            outcome, result = record(self.repo, outcome, self.contents, self.new_style,
                                     self.rules, self.head)
            self.report.add(outcome, result)
            if self.incr is not None:
                self.incr.settle(outcome, result)

    def settle(self) -> None:
        """After the last check: held failures are written, or kept (an outage)."""
        settle(self.outages, self.report, self.store)


def plan(opts: SweepOptions, repo: DataRepo, names: list[str], checker: Checker,
         incr: Incremental | None, report: RunReport,
         progress: Progress) -> Iterable[NodeInfo]:
    """The nodes to check, in order: unreadable and skipped nodes reported, nodes needing an
    unconfigured source screened, the change feeds asked and the unchanged nodes set aside,
    batches planned. Without batches or feeds the documents are read as the checks go, so
    the first requests leave at once."""
    infos: Iterable[NodeInfo] = node_infos(repo, names, report, progress.advance)
    broken = unconfigured(checker)
    if broken:  # a setting is not an upstream answer: stop here, or leave those nodes be
        def skipped(outcome: Outcome) -> None:
            report.add(outcome, "skipped")
            progress.advance()

        with report.phase("load"):
            infos = screen(infos, checker, broken, opts.skip_unconfigured, skipped)
        report.extra["unconfigured"] = dict(sorted(broken.items()))
    if incr is not None:  # every feed is asked before the first check
        with report.phase("feeds"):
            infos = list(infos)
            incr.ask_feeds(infos)
            infos = incr.select(infos, progress.advance)
        report.extra["incremental"] = incr.summary()
    if checker.batches() or opts.executor.kind != "local":
        with report.phase("load"):  # batches are planned over every node; chunks need a list
            infos = list(infos)
        checker.prefetch(infos)
    return infos


def add_run_facts(report: RunReport, opts: SweepOptions, config: Config, http: HttpClient,
                  runner: Runner, cache: HttpCache | None, deadline: float | None) -> None:
    """Requests, host-limit waits, cache, deadline and executor figures for the report."""
    report.extra["requests"] = http.requests_made + runner.requests_made
    held = http.held_back + runner.held_back
    if held:  # the per-host limit, not --workers, held requests back: say where
        report.extra["host_limit"] = {"per_host": config.http.per_host,
                                      "workers": opts.workers,
                                      "held_back": dict(held.most_common(5))}
    if cache is not None:
        report.extra["http_cache"] = cache.stats()
    if deadline is not None:
        report.extra["deadline_reached"] = time.monotonic() >= deadline
    if opts.executor.kind != "local" or opts.shard:
        report.extra["executor"] = {"kind": opts.executor.kind, "chunks": runner.chunks,
                                    "failed_chunks": runner.failed_chunks,
                                    "shard": str(opts.shard) if opts.shard else None}


def sweep(opts: SweepOptions) -> RunReport:
    """Clone/update, check, record, commit once, push (see docs/failure-behaviour.md)."""
    started = time.monotonic()
    deadline = None if opts.deadline is None else started + opts.deadline
    report = RunReport("sweep", new_run_id("sweep"))
    with ExitStack() as stack:
        with report.phase("clone"):
            ws = stack.enter_context(Workspace.open(opts.remote, opts.workdir, depth=opts.depth,
                                                    config=opts.config))
        cache_dir = opts.cache_dir or default_cache_dir(opts.env)
        with report.phase("load"):
            reader = ws.reader()  # the node documents are not checked out: read from git
            stack.callback(reader.close)
            repo = DataRepo.open(ws.path, reader)
            config = load_config(ws.path, opts.config, opts.env)
            names = candidates(repo, opts.nodes, report, opts.shard)
            reader.prefetch(repo.node_doc_paths(names))  # fetched in one batch, read ahead
        cache = HttpCache(cache_dir) if opts.http_cache else None
        if cache is not None:
            stack.callback(cache.close)
        http = make_http(config, opts.workers, cache)
        stack.callback(http.close)  # its threads and pooled connections
        http.set_deadline(deadline)
        checker = Checker(Context(config=config, http=http))
        with report.phase("load"):  # the workspace's versions files are HEAD's: read from git
            head = ws.head_files("versions")  # (the sparse checkout leaves them out)
        incr = None
        if opts.nodes is None:  # --nodes: check what is named, leave the cursor alone
            with report.phase("load"):
                incr = Incremental(ws.path, repo, checker, config, branch=ws.branch,
                                   shard=(opts.shard.index, opts.shard.count)
                                   if opts.shard else None, full=opts.full, day=opts.today,
                                   versions=head)
        progress = Progress(len(names), "sweep", sys.stderr, enabled=opts.progress)
        stack.callback(progress.close)
        infos = plan(opts, repo, names, checker, incr, report, progress)
        # local: checker.check runs here; process/dask: each worker builds its own from a
        # recipe, with what the feeds told this checker's sources
        states = tuple((name, state) for name, source in checker.sources.items()
                       if (state := source.feed_state()) is not None)
        factory = CheckerFactory(config, opts.workers, deadline_at(deadline),
                                 str(cache_dir) if cache is not None else None, states)
        runner = Runner(opts.executor, Recipe(report.run_id, factory), opts.workers)
        recording = Recording(repo, report, [config.github_token, *http.secrets()], progress,
                              incr, folder_style(ws.path, "versions") if head is None
                              else head.style(), head)
        with report.phase("check"):
            runner.run(infos, recording.sink, checker.check, deadline=deadline)
            recording.settle()
        progress.close()
        add_run_facts(report, opts, config, http, runner, cache, deadline)
        paths = list(recording.contents)
        if incr is not None:
            report.extra["incremental"] = incr.summary()
            if paths and incr.wants_cursor():  # never a commit for the cursor alone
                recording.contents[incr.relpath] = incr.cursor_text().encode("utf-8")
                paths.append(incr.relpath)
        # the commit looks at the files recorded here only (no git status over versions/)
        commit_and_push(ws, report, ["versions", ".vbot"], commit_message(report), opts.push,
                        opts.report, paths=paths, contents=recording.contents)
    return report
