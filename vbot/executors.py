"""Running node checks in parallel; results stream back to the single coordinating writer.

The workers are daemon threads, so a check stuck past the sweep deadline can be abandoned: the
sweep reports it as a transient failure, commits what it has and the process can still exit.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence

from vbot.check import BAD, TRANSIENT, Outcome
from vbot.errors import UpstreamError
from vbot.nodeinfo import NodeInfo

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

