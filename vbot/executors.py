"""Running node checks in parallel; results stream back to the single coordinating writer."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from vbot.check import Outcome
from vbot.nodeinfo import NodeInfo


def run_threads(
    infos: Sequence[NodeInfo], check: Callable[[NodeInfo], Outcome], workers: int
) -> Iterator[Outcome]:
    """Check every node on a thread pool, yielding outcomes as they complete.

    At most ``2 * workers`` checks are in flight, so memory does not grow with the node count.
    """
    pending = iter(infos)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vbot-check") as pool:
        running = set()
        for info in pending:
            running.add(pool.submit(check, info))
            if len(running) >= 2 * workers:
                break
        while running:
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
                nxt = next(pending, None)
                if nxt is not None:
                    running.add(pool.submit(check, nxt))
