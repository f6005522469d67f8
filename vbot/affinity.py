"""A sweep's event loop and HTTP threads on one CPU.

A sweep's checks are GIL-bound Python: one event loop and up to 256 HTTP threads, of which
only one runs Python at a time. Spread over several CPUs, every hand-over of the GIL between
threads on different CPUs is a cross-CPU wake-up (futex, IPI, a cold cache): on a 2-core
machine at 128 requests in flight that overhead was about a third of the sweep's CPU time,
for no gain in wall time (benchmarks/RESULTS.md, round 6). On one CPU the same threads hand
the GIL over cheaply, and the other CPUs stay free for what runs outside the GIL: git, the
writer process, the upstream's own processes on a shared machine.

Linux only (``os.sched_setaffinity`` of the calling thread; threads started from it inherit
it); elsewhere, with one usable CPU, or with ``[http] one_cpu = 0``, nothing changes.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


def _usable() -> set[int]:
    getter = getattr(os, "sched_getaffinity", None)
    if getter is None or not hasattr(os, "sched_setaffinity"):
        return set()
    try:
        return set(getter(0))
    except OSError:
        return set()


@contextlib.contextmanager
def one_cpu(enabled: bool = True) -> Iterator[int | None]:
    """Run the calling thread, and every thread it starts meanwhile, on one CPU; give the
    calling thread its CPUs back afterwards. Yields the CPU, or None when nothing was pinned.

    Processes started meanwhile inherit the CPU too (e.g. ``git ls-remote`` of the gittags
    source): start long-lived helpers (the writer process) before.
    """
    cpus = _usable() if enabled else set()
    if len(cpus) < 2:
        yield None
        return
    cpu = max(cpus)  # any one will do: the scheduler moves other work off it
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError:  # not allowed here (a container's cpuset, a seccomp filter)
        yield None
        return
    try:
        yield cpu
    finally:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, cpus)
