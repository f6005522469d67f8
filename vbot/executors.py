"""Running node checks in parallel; results stream back to the single coordinating writer.

Three executors, one contract: the caller iterates outcomes as they complete and alone writes
files and commits. ``thread`` checks in this process (``run_threads``). ``process`` (a local
process pool) and ``dask`` (a ``distributed`` cluster) send chunks of nodes to workers; each
worker process builds its own checker (HTTP client, sources) from a picklable recipe, once per
sweep, and sends back only outcomes. A chunk whose worker dies is retried elsewhere; a chunk that
cannot be finished at all comes back as ``transient`` outcomes, so every node still gets one.

The thread workers are daemon threads, so a check stuck past the sweep deadline can be abandoned:
the sweep reports it as a transient failure, commits what it has and the process can still exit.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from concurrent.futures import as_completed as futures_completed
from dataclasses import dataclass, field
from typing import Any, Protocol

from vbot.check import BAD, TRANSIENT, Outcome
from vbot.errors import UpstreamError, VbotError
from vbot.nodeinfo import NodeInfo

KINDS = ("thread", "process", "dask")
DASK_EXTRA = "pip install 'vbot[dask]'"
MAX_CHUNK = 64
CHUNKS_PER_SLOT = 4
CHUNK_RETRIES = 3
CHUNK_DEADLINE_REASON = "sweep deadline reached before the chunk came back"
DEADLINE_REASON = "sweep deadline reached before the check finished"


def _guarded(check: Callable[[NodeInfo], Outcome], info: NodeInfo) -> Outcome:
    """``check(info)``, with any crash turned into a per-node outcome (never a lost node)."""
    try:
        return check(info)
    except UpstreamError as exc:
        return Outcome(info.name, TRANSIENT if exc.transient else BAD, reason=exc.reason,
                       rate_limited=exc.rate_limited or None)
    except Exception as exc:  # a bug in one check must not lose the node or stop the sweep
        return Outcome(info.name, BAD, reason=f"internal error: {type(exc).__name__}: {exc}")


def run_threads(
    infos: Sequence[NodeInfo], check: Callable[[NodeInfo], Outcome], workers: int,
    deadline: float | None = None, grace: float = 2.0,
) -> Iterator[Outcome]:
    """Check every node on ``workers`` threads, yielding one outcome per node as they complete.

    At most ``2 * workers`` checks are queued, so memory does not grow with the node count.
    ``deadline`` is a ``time.monotonic()`` value: after it no new check starts and every node
    not yet checked is yielded as a transient failure; checks still running ``grace`` seconds
    after it are abandoned and yielded the same way.
    """
    todo: queue.Queue[NodeInfo | None] = queue.Queue(maxsize=2 * workers)
    done: queue.Queue[tuple[NodeInfo, Outcome]] = queue.Queue()

    def work() -> None:
        while True:
            info = todo.get()
            if info is None:
                return
            done.put((info, _guarded(check, info)))

    threads = [threading.Thread(target=work, name=f"vbot-check-{i}", daemon=True)
               for i in range(max(1, min(workers, len(infos))))]
    for thread in threads:
        thread.start()

    def late(info: NodeInfo) -> Outcome:
        return Outcome(info.name, TRANSIENT, reason=DEADLINE_REASON)

    pending = iter(infos)
    outstanding = 0  # queued or running
    submitted: list[NodeInfo] = []
    finished: set[str] = set()
    exhausted = cut = False
    try:
        while True:
            past = deadline is not None and time.monotonic() >= deadline
            while not exhausted and not past and not todo.full():
                info = next(pending, None)
                if info is None:
                    exhausted = True
                    break
                todo.put(info)
                submitted.append(info)
                outstanding += 1
            if past and not cut:  # nothing new starts after the deadline
                cut = exhausted = True
                while True:  # queued but not started: workers will not take them now
                    try:
                        info = todo.get_nowait()
                    except queue.Empty:
                        break
                    if info is not None:
                        outstanding -= 1
                        finished.add(info.name)
                        yield late(info)
                for info in pending:
                    yield late(info)
            if exhausted and outstanding == 0:
                return
            timeout = None
            if deadline is not None:
                timeout = max(0.0, (deadline if not past else deadline + grace) - time.monotonic())
            try:
                info, outcome = done.get(timeout=timeout if timeout is None else max(timeout, 0.01))
            except queue.Empty:
                if past:  # grace over: give up on what is still queued or running
                    while not done.empty():
                        info, outcome = done.get_nowait()
                        finished.add(info.name)
                        yield outcome
                    for info in submitted:
                        if info.name not in finished:
                            finished.add(info.name)
                            yield late(info)
                    return
                continue
            outstanding -= 1
            finished.add(info.name)
            yield outcome
    finally:
        for _ in threads:  # wake idle workers so they exit
            try:
                todo.put_nowait(None)
            except queue.Full:
                break


# -- the worker side -------------------------------------------------------------------------


class NodeChecker(Protocol):
    """What a recipe builds: ``vbot.check.Checker`` (``check`` plus its context's HTTP client)."""

    def check(self, node: NodeInfo) -> Outcome: ...


@dataclass(frozen=True)
class Recipe:
    """Picklable instructions to build a checker in a worker process.

    ``key`` is unique per sweep: equal keys share one checker per process (HTTP pools and the
    per-sweep cache survive from chunk to chunk); ``build`` must be a picklable callable.
    """

    key: str
    build: Callable[[], NodeChecker] = field(compare=False)


@dataclass(frozen=True)
class ChunkResult:
    outcomes: tuple[Outcome, ...]
    worker: str  # host:pid of the process that checked the chunk
    requests: int  # HTTP requests made so far by that process's checker for this sweep


@functools.lru_cache(maxsize=2)
def _checker_for(recipe: Recipe) -> NodeChecker:
    """One checker per process and sweep (the memo is keyed by the sweep's key)."""
    return recipe.build()


def _requests_of(checker: Any) -> int:
    ctx = getattr(checker, "ctx", None)
    return int(getattr(getattr(ctx, "http", None), "requests_made", 0))


def check_chunk(recipe: Recipe, infos: Sequence[NodeInfo], threads: int) -> ChunkResult:
    """Worker-side task: check a chunk of nodes with ``threads`` threads, return the outcomes."""
    checker = _checker_for(recipe)
    outcomes = tuple(run_threads(infos, checker.check, max(1, min(threads, len(infos)))))
    return ChunkResult(outcomes, f"{socket.gethostname()}:{os.getpid()}", _requests_of(checker))


# -- the coordinator side --------------------------------------------------------------------


@dataclass(frozen=True)
class ExecutorSpec:
    """``--executor``, ``--scheduler``, ``--processes`` and ``--chunk-size`` of a sweep."""

    kind: str = "thread"
    scheduler: str | None = None  # dask: address of an existing scheduler
    processes: int | None = None  # process pool size / LocalCluster workers (default: CPUs)
    chunk_size: int | None = None  # nodes per task (default: sized from the slot count)
    connect_timeout: float = 20.0  # dask: seconds to reach the scheduler and see a worker

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise VbotError(f"--executor {self.kind}: choose one of {', '.join(KINDS)}")
        if self.scheduler and self.kind != "dask":
            raise VbotError("--scheduler needs --executor dask")


def chunks(infos: Sequence[NodeInfo], size: int) -> list[tuple[NodeInfo, ...]]:
    return [tuple(infos[i:i + size]) for i in range(0, len(infos), size)]


def chunk_size(total: int, slots: int, explicit: int | None = None) -> int:
    """Nodes per task: several tasks per slot so the load evens out, at most ``MAX_CHUNK``."""
    if explicit:
        return explicit
    return max(1, min(MAX_CHUNK, math.ceil(total / (max(1, slots) * CHUNKS_PER_SLOT))))


def _lost(chunk: Sequence[NodeInfo], exc: BaseException) -> list[Outcome]:
    reason = f"executor: chunk not checked ({type(exc).__name__}: {exc})"[:300]
    return [Outcome(info.name, TRANSIENT, source="vbot", reason=reason) for info in chunk]


class Runner:
    """Runs the checks of one sweep on the chosen executor; ``run`` yields outcomes."""

    def __init__(self, spec: ExecutorSpec, recipe: Recipe, workers: int) -> None:
        self.spec = spec
        self.recipe = recipe
        self.workers = workers
        self._requests: dict[str, int] = {}
        self.chunks = 0
        self.failed_chunks = 0
        self._deadline: float | None = None

    @property
    def requests_made(self) -> int:
        return sum(self._requests.values())

    def run(self, infos: Sequence[NodeInfo],
            local_check: Callable[[NodeInfo], Outcome] | None = None,
            deadline: float | None = None) -> Iterator[Outcome]:
        """Outcomes as they complete, one per node.

        ``local_check``: what the thread executor runs (default: a checker from the recipe;
        its requests are then not counted here). ``deadline``: a ``time.monotonic()`` value;
        process and dask cancel the chunks not back by then and yield their nodes as
        transient (each worker's HTTP client has the same deadline, see the recipe); thread
        hands it to ``run_threads``.
        """
        if self.spec.kind == "thread":
            check = local_check or self.recipe.build().check
            return run_threads(infos, check, self.workers, deadline=deadline)
        self._deadline = deadline
        if self.spec.kind == "process":
            return self._run_processes(infos)
        return self._run_dask(infos)

    def _timeout(self) -> float | None:
        return None if self._deadline is None else max(0.0, self._deadline - time.monotonic())

    def _collect(self, result: ChunkResult) -> tuple[Outcome, ...]:
        self.chunks += 1
        self._requests[result.worker] = max(self._requests.get(result.worker, 0), result.requests)
        return result.outcomes

    def _run_processes(self, infos: Sequence[NodeInfo]) -> Iterator[Outcome]:
        if not infos:
            return
        import multiprocessing

        procs = self.spec.processes or os.cpu_count() or 1
        size = chunk_size(len(infos), procs, self.spec.chunk_size)
        # spawn, not fork: the coordinator has threads (HTTP pools, git) that fork would copy
        ctx = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(max_workers=procs, mp_context=ctx)
        try:
            futures = {pool.submit(check_chunk, self.recipe, chunk, self.workers): chunk
                       for chunk in chunks(infos, size)}
            waiting = set(futures)
            try:
                for future in futures_completed(futures, timeout=self._timeout()):
                    waiting.discard(future)
                    try:
                        result = future.result()
                    except Exception as exc:  # a crashed worker (BrokenProcessPool) or a bug
                        self.failed_chunks += 1
                        yield from _lost(futures[future], exc)
                        continue
                    yield from self._collect(result)
            except FuturesTimeout:
                for future in waiting:
                    future.cancel()
                    yield from _lost(futures[future], TimeoutError(CHUNK_DEADLINE_REASON))
        finally:  # on an interrupt, chunks not yet started are dropped, not waited for
            pool.shutdown(wait=True, cancel_futures=True)

    def _run_dask(self, infos: Sequence[NodeInfo]) -> Iterator[Outcome]:
        if not infos:
            return
        distributed = import_distributed()
        with dask_client(self.spec, distributed) as client:
            slots = sum(client.nthreads().values()) or 1
            size = chunk_size(len(infos), slots, self.spec.chunk_size)
            futures = {}
            for number, chunk in enumerate(chunks(infos, size)):
                future = client.submit(check_chunk, self.recipe, chunk, self.workers,
                                       key=f"vbot-chunk-{self.recipe.key}-{number}",
                                       retries=CHUNK_RETRIES, pure=False)
                futures[future] = chunk
            waiting = set(futures)
            try:
                for future in distributed.as_completed(list(futures), loop=client.loop,
                                                       timeout=self._timeout()):
                    waiting.discard(future)
                    try:
                        result = future.result()
                    except Exception as exc:  # KilledWorker after too many lost workers, a bug
                        self.failed_chunks += 1
                        yield from _lost(futures[future], exc)
                        continue
                    finally:
                        future.release()
                    yield from self._collect(result)
            except (TimeoutError, distributed.TimeoutError):
                client.cancel(list(waiting))
                for future in waiting:
                    yield from _lost(futures[future], TimeoutError(CHUNK_DEADLINE_REASON))


def import_distributed() -> Any:
    """The ``distributed`` module, or a VbotError naming the extra that provides it."""
    try:
        import dask  # noqa: F401
        import distributed
    except ImportError as exc:
        raise VbotError(f"--executor dask needs dask and distributed ({exc.name or exc} "
                        f"is missing): {DASK_EXTRA}") from None
    return distributed


@contextlib.contextmanager
def dask_client(spec: ExecutorSpec, distributed: Any) -> Iterator[Any]:
    """A client of the scheduler at ``spec.scheduler``, or of a LocalCluster started here."""
    if spec.scheduler:
        try:
            client = distributed.Client(spec.scheduler, timeout=f"{spec.connect_timeout}s",
                                        set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise VbotError(f"cannot connect to the dask scheduler at {spec.scheduler}: "
                            f"{exc}") from None
        with client:
            if not client.nthreads():
                try:
                    client.wait_for_workers(1, timeout=spec.connect_timeout)
                except (OSError, TimeoutError):
                    raise VbotError(f"the dask scheduler at {spec.scheduler} has no workers "
                                    f"(waited {spec.connect_timeout:g}s)") from None
            yield client
        return
    cluster = distributed.LocalCluster(
        n_workers=spec.processes or os.cpu_count() or 1, threads_per_worker=1, processes=True,
        host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR)
    with cluster, distributed.Client(cluster, set_as_default=False) as client:
        yield client
