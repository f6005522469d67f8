"""Writing a sweep's versions files from a second process.

The first sweep of a large graph creates tens of thousands of small files in sharded folders,
and their system calls (mkdir, create, write, rename) cost about as much CPU as checking the
nodes upstream (benchmarks/RESULTS.md). The sweep still decides what each file must contain
and whether it changed; a writer process writes it on another core, with the same atomic
write (temp file + rename) as ``jsonio.atomic_write_text``. Files go over in batches of up to
``BATCH`` (one wake-up of the writer per file costs more than the writing): a file waits for
its batch at most ``BATCH_DELAY`` seconds while results keep coming, and the last ones are
written when the sweep closes the writer, before its commit.

Nothing is lost when the writer cannot start or dies: every file handed over is kept (a few
MB for a whole graph) until ``close``, which writes in this process whatever the writer may
not have written. Write errors come back per file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from typing import IO

from vbot.repo.jsonio import atomic_write_text

CLOSE_TIMEOUT = 120.0  # seconds to wait for the writer to finish what it was handed
Item = tuple[str, str, str]  # key, path, text
BATCH = 64  # files per hand-over to the writer
BATCH_DELAY = 0.25  # seconds: a file waits at most this long for its batch (while results come)


def serve(lines: IO[str], out: IO[str]) -> int:
    """The writer process: write each ``[key, path, text]`` line; at the end, print the
    failures as one JSON object ``{key: reason}``."""
    failed: dict[str, str] = {}
    for line in lines:
        try:
            key, path, text = json.loads(line)
        except ValueError:  # the sweep died mid-line: the rest never comes
            return 1
        try:
            atomic_write_text(Path(path), text, fsync=False)
        except OSError as exc:
            failed[key] = f"cannot write: {exc.strerror or exc}"
    out.write(json.dumps(failed) + "\n")
    out.flush()
    return 0


class FileWriter:
    """``write(path, text, key)`` now or soon; ``close()`` returns {key: error} for failures.

    The writer is ``python -m vbot.run.writer``, fed one JSON line per file on its stdin (a
    plain child process: nothing of this one is copied or re-imported). The pipe is
    non-blocking: when the writer falls behind, files queue here instead of stalling the
    sweep, and ``close`` writes the queued ones in this process while the writer finishes
    what it was sent, so both processes work off the backlog."""

    def __init__(self, offload: bool = True) -> None:
        self._handed: list[Item] = []  # sent to the writer (wholly or in part)
        self._queue: deque[tuple[Item, bytes]] = deque()  # not sent yet
        self._chunk = memoryview(b"")  # the rest of the lines being sent
        self._pumped = time.monotonic()
        self._proc: subprocess.Popen[bytes] | None = None
        self._lost = False  # the writer died: what it was sent is written again at close
        self._failed: dict[str, str] = {}  # failures of writes done here
        if offload:
            try:
                self._proc = subprocess.Popen([sys.executable, "-m", "vbot.run.writer"],
                                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
                assert self._proc.stdin is not None
                os.set_blocking(self._proc.stdin.fileno(), False)
            except OSError:  # no process to be had: write in-process
                self._proc = None
        self.offloaded = self._proc is not None  # a writer process was started

    def write(self, path: Path, text: str, key: str) -> None:
        """Write ``text`` to ``path`` atomically (raises only when writing in-process);
        ``key`` names the file in what ``close`` returns. Files go to the writer in batches
        (at most ``BATCH`` files or ``BATCH_DELAY`` seconds apart): one wake-up of the
        writer per file would cost more than the writing."""
        item = (key, str(path), text)
        if self._proc is None:
            atomic_write_text(path, text, fsync=False)
            return
        self._queue.append((item, (json.dumps(item) + "\n").encode()))
        if (len(self._queue) >= BATCH or self._chunk
                or time.monotonic() - self._pumped >= BATCH_DELAY):
            self._pump()

    def _pump(self) -> None:
        """Send queued lines until the pipe is full (never waits)."""
        assert self._proc is not None and self._proc.stdin is not None
        fd = self._proc.stdin.fileno()
        self._pumped = time.monotonic()
        while self._chunk or self._queue:
            if not self._chunk:
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), 4 * BATCH))]
                self._handed.extend(item for item, _ in batch)
                self._chunk = memoryview(b"".join(line for _, line in batch))
            try:
                sent = os.write(fd, self._chunk)
            except BlockingIOError:
                return
            except OSError:  # the writer is gone: the rest is written here, now
                self._lost = True
                self._stop()
                self._failed.update(_write_here([queued for queued, _ in self._queue]))
                self._queue.clear()
                self._chunk = memoryview(b"")
                return
            self._chunk = self._chunk[sent:]

    def _stop(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.communicate()
            self._proc = None

    def close(self) -> dict[str, str]:
        """Finish every write; {key: reason} for files that could not be written."""
        failed, self._failed = self._failed, {}
        if self._proc is not None and self._chunk:
            # the writer must get whole lines: finish the batch it has the start of
            assert self._proc.stdin is not None
            os.set_blocking(self._proc.stdin.fileno(), True)
            try:
                self._proc.stdin.write(self._chunk)
                self._proc.stdin.flush()
            except OSError:
                self._lost = True
                self._stop()
        self._chunk = memoryview(b"")
        # not sent: written here, while the writer works through what it has
        failed.update(_write_here([item for item, _ in self._queue]))
        self._queue.clear()
        if self._proc is not None:
            try:
                out, _ = self._proc.communicate(timeout=CLOSE_TIMEOUT)
                if self._proc.returncode == 0:
                    failed.update(json.loads(out))
                else:
                    self._lost = True
            except (OSError, ValueError, subprocess.TimeoutExpired):
                self._lost = True  # it may have stopped early: trust nothing it did not report
            self._stop()
        if self._lost:  # no word from the writer: write everything handed over again
            failed.update(_write_here(self._handed))
        self._handed = []
        return failed


def _write_here(items: list[Item]) -> dict[str, str]:
    failed = {}
    for key, path, text in items:
        try:
            atomic_write_text(Path(path), text, fsync=False)
        except OSError as exc:
            failed[key] = f"cannot write: {exc.strerror or exc}"
    return failed


if __name__ == "__main__":
    sys.exit(serve(sys.stdin, sys.stdout))
