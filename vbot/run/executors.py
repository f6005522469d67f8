"""Running node checks concurrently; each outcome goes to the single coordinating writer.

Three executors, one contract: the caller's ``sink`` gets one outcome per node as checks
complete, and the caller alone writes files and commits. ``local`` (the default) runs the checks
in this process as asyncio tasks on one event loop (``run_local``); each HTTP exchange runs in a
thread of the client's bounded pool (requests is blocking), and the sink runs on the loop
between checks. ``process`` (a local process pool) and
``dask`` (a ``distributed`` cluster) send chunks of nodes to workers; each worker process builds
its own checker (HTTP client, sources) from a picklable recipe, once per sweep, checks its chunk
on its own event loop and sends back only outcomes. A chunk whose worker dies is retried
elsewhere; a chunk that cannot be finished at all comes back as ``transient`` outcomes, so every
node still gets one.

A check still running past the sweep deadline (plus a grace period) is cancelled and reported as
a transient failure; the sweep then commits what it has.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator, Sequence, Sized
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from concurrent.futures import as_completed as futures_completed
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from vbot.check.outcome import BAD, INTERNAL, TRANSIENT, Outcome
from vbot.errors import UpstreamError, VbotError
from vbot.repo.nodeinfo import NodeInfo

KINDS = ("local", "process", "dask")
DASK_EXTRA = "pip install 'vbot[dask]'"
# a chunk is checked on one event loop with --workers checks in flight, so it pays to be large
# enough to keep them busy; small enough that lost work and bursty results stay cheap
MAX_CHUNK = 512
CHUNKS_PER_SLOT = 4
CHUNK_RETRIES = 3
CHUNK_DEADLINE_REASON = "sweep deadline reached before the chunk came back"
DEADLINE_REASON = "sweep deadline reached before the check finished"
T = TypeVar("T")


Check = Callable[[NodeInfo], Awaitable[Outcome]]
Sink = Callable[[Outcome], None]


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on a new asyncio event loop (the HTTP exchanges themselves run in the
    client's thread pool, vbot/httpclient/client.py)."""
    return asyncio.run(main)


async def _guarded(check: Check, info: NodeInfo) -> Outcome:
    """``await check(info)``, with any crash turned into a per-node outcome (never a lost node)."""
    try:
        return await check(info)
    except UpstreamError as exc:
        return Outcome(info.name, TRANSIENT if exc.transient else BAD, reason=exc.reason,
                       rate_limited=exc.rate_limited or None)
    except Exception as exc:  # a bug in one check must not lose the node or stop the sweep
        return Outcome(info.name, INTERNAL, reason=f"internal error: {type(exc).__name__}: {exc}")


def _late(info: NodeInfo) -> Outcome:
    return Outcome(info.name, TRANSIENT, reason=DEADLINE_REASON)


async def run_local(infos: Iterable[NodeInfo], check: Check, workers: int, sink: Sink,
                    deadline: float | None = None, grace: float = 2.0) -> None:
    """Check every node with at most ``workers`` checks in flight on the running event loop,
    calling ``sink(outcome)`` once per node as each check completes.

    Nodes are handed out one at a time (``infos`` may be a lazy iterator), so memory does not
    grow with the node count.
    ``deadline`` is a ``time.monotonic()`` value: after it no new check starts and every node
    not yet checked goes to the sink as a transient failure; checks still running ``grace``
    seconds after it are cancelled and reported the same way.
    """
    pending = iter(infos)
    running: dict[int, NodeInfo] = {}
    stop = False

    async def worker(slot: int) -> None:
        while not stop:
            info = next(pending, None)
            if info is None:
                return
            running[slot] = info
            outcome = await _guarded(check, info)
            del running[slot]
            sink(outcome)

    slots = min(workers, len(infos)) if isinstance(infos, Sized) else workers
    tasks = [asyncio.create_task(worker(i)) for i in range(max(1, slots))]
    try:
        if deadline is None:
            await asyncio.gather(*tasks)
            return
        _, left = await asyncio.wait(tasks, timeout=max(0.0, deadline - time.monotonic()))
        if left:
            stop = True  # nothing new starts after the deadline
            _, left = await asyncio.wait(left, timeout=grace)
        for task in left:  # grace over: give up on what is still running
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)
        for info in list(running.values()):
            sink(_late(info))
        for info in pending:
            sink(_late(info))
    finally:
        for task in tasks:  # an interrupt or a failing sink: leave no check behind
            task.cancel()


# -- the worker side -------------------------------------------------------------------------


class NodeChecker(Protocol):
    """What a recipe builds: a ``Checker`` (``check`` plus its context's HTTP client)."""

    async def check(self, node: NodeInfo) -> Outcome: ...


@dataclass(frozen=True)
class Recipe:
    """Picklable instructions to build a checker in a worker process.

    ``key`` is unique per sweep: equal keys share one checker per worker thread (HTTP pools and
    the per-sweep cache survive from chunk to chunk); ``build`` must be a picklable callable.
    """

    key: str
    build: Callable[[], NodeChecker] = field(compare=False)


@dataclass(frozen=True)
class ChunkResult:
    outcomes: tuple[Outcome, ...]
    worker: str  # host:pid of the process that checked the chunk
    requests: int  # HTTP requests made so far by that process's checker for this sweep
    held_back: tuple[tuple[str, int], ...] = ()  # (origin, requests its per-host limit delayed)


@functools.lru_cache(maxsize=16)
def _checker_for(recipe: Recipe, thread: int) -> NodeChecker:
    """One checker per sweep and worker thread (the memo is keyed by the sweep's key and the
    thread): a checker's HTTP pools and locks belong to one event loop at a time, and a Dask
    worker with several threads runs several chunks at once."""
    return recipe.build()


def _requests_of(checker: Any) -> int:
    ctx = getattr(checker, "ctx", None)
    return int(getattr(getattr(ctx, "http", None), "requests_made", 0))


def _held_back_of(checker: Any) -> tuple[tuple[str, int], ...]:
    held = getattr(getattr(getattr(checker, "ctx", None), "http", None), "held_back", {})
    return tuple(sorted(held.items()))


def check_chunk(recipe: Recipe, infos: Sequence[NodeInfo], concurrency: int) -> ChunkResult:
    """Worker-side task: check a chunk of nodes, ``concurrency`` at a time, on an event loop of
    its own; return the outcomes."""
    checker = _checker_for(recipe, threading.get_ident())
    prefetch = getattr(checker, "prefetch", None)
    if prefetch is not None:  # batched sources (GitHub GraphQL) plan this chunk's batches
        prefetch(infos)
    done: list[Outcome] = []
    run_loop(run_local(infos, checker.check, concurrency, done.append))
    outcomes = tuple(done)
    return ChunkResult(outcomes, f"{socket.gethostname()}:{os.getpid()}", _requests_of(checker),
                       _held_back_of(checker))


# -- the coordinator side --------------------------------------------------------------------


@dataclass(frozen=True)
class ExecutorSpec:
    """``--executor``, ``--scheduler``, ``--processes`` and ``--chunk-size`` of a sweep."""

    kind: str = "local"
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


def _lost(chunk: Sequence[NodeInfo], exc: BaseException,
          status: str = INTERNAL) -> list[Outcome]:
    """Outcomes for a chunk that never came back: a dead worker is the machine's failure
    (``internal``: the files stay as they are); a chunk cut by the deadline is transient."""
    reason = f"executor: chunk not checked ({type(exc).__name__}: {exc})"[:300]
    return [Outcome(info.name, status, source="vbot", reason=reason) for info in chunk]


class Runner:
    """Runs the checks of one sweep on the chosen executor; ``run`` feeds the outcomes to a
    sink."""

    def __init__(self, spec: ExecutorSpec, recipe: Recipe, workers: int) -> None:
        self.spec = spec
        self.recipe = recipe
        self.workers = workers
        self._requests: dict[str, int] = {}
        self._held: dict[str, tuple[tuple[str, int], ...]] = {}  # worker -> its held_back
        self.chunks = 0
        self.failed_chunks = 0
        self._deadline: float | None = None

    @property
    def requests_made(self) -> int:
        return sum(self._requests.values())

    @property
    def held_back(self) -> Counter[str]:
        """Requests the per-host limit delayed in the workers, by origin."""
        total: Counter[str] = Counter()
        for held in self._held.values():
            total.update(dict(held))
        return total

    def run(self, infos: Iterable[NodeInfo], sink: Sink, local_check: Check | None = None,
            deadline: float | None = None) -> None:
        """Check every node; ``sink(outcome)`` is called once per node as results come in.

        ``local_check``: what the local executor runs (default: a checker from the recipe;
        its requests are then not counted here). ``deadline``: a ``time.monotonic()`` value;
        process and dask cancel the chunks not back by then and report their nodes as
        transient (each worker's HTTP client has the same deadline, see the recipe); local
        hands it to ``run_local``.
        """
        if self.spec.kind == "local":
            check = local_check or self.recipe.build().check
            run_loop(run_local(infos, check, self.workers, sink, deadline=deadline))
            return
        self._deadline = deadline
        listed = infos if isinstance(infos, Sequence) else list(infos)
        found = (self._run_processes(listed) if self.spec.kind == "process"
                 else self._run_dask(listed))
        for outcome in found:
            sink(outcome)

    def _timeout(self) -> float | None:
        return None if self._deadline is None else max(0.0, self._deadline - time.monotonic())

    def _collect(self, result: ChunkResult) -> tuple[Outcome, ...]:
        self.chunks += 1
        self._requests[result.worker] = max(self._requests.get(result.worker, 0), result.requests)
        if sum(n for _, n in result.held_back) >= sum(n for _, n in self._held.get(
                result.worker, ())):  # the counts only grow: the latest report is the total
            self._held[result.worker] = result.held_back
        return result.outcomes

    def _run_processes(self, infos: Sequence[NodeInfo]) -> Iterator[Outcome]:
        if not infos:
            return
        import multiprocessing

        procs = self.spec.processes or os.cpu_count() or 1
        size = chunk_size(len(infos), procs, self.spec.chunk_size)
        # spawn, not fork: the coordinator's state (git helper threads and processes, open
        # files, the HTTP cache's database) must not be copied into the workers
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
                    yield from _lost(futures[future], TimeoutError(CHUNK_DEADLINE_REASON),
                                     TRANSIENT)
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
                    yield from _lost(futures[future], TimeoutError(CHUNK_DEADLINE_REASON),
                                     TRANSIENT)


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
