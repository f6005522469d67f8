"""Running node checks in parallel; results stream back to the single coordinating writer."""

from __future__ import annotations

import itertools
import queue
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from vbot.check import Outcome
from vbot.nodeinfo import NodeInfo


def run_threads(
    infos: Sequence[NodeInfo], check: Callable[[NodeInfo], Outcome], workers: int
) -> Iterator[Outcome]:
    """Check every node on a thread pool, yielding outcomes as they complete.

    At most ``2 * workers`` checks are in flight, so memory does not grow with the node count.
    Finished checks arrive through a queue (a done-callback), so the coordinating thread does
    constant work per node (``concurrent.futures.wait`` over every running future would cost
    O(workers) per completion).
    """
    pending = iter(infos)
    finished: queue.SimpleQueue[Future[Outcome]] = queue.SimpleQueue()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vbot-check") as pool:
        running = 0
        for info in itertools.islice(pending, 2 * workers):
            pool.submit(check, info).add_done_callback(finished.put)
            running += 1
        while running:
            future = finished.get()
            running -= 1
            nxt = next(pending, None)
            if nxt is not None:
                pool.submit(check, nxt).add_done_callback(finished.put)
                running += 1
            yield future.result()
