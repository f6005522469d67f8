"""Progress of long work: a tqdm bar on a terminal, periodic log lines otherwise.

Only the coordinating thread calls these methods, so output never interleaves.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total: int, label: str, stream: TextIO | None = None,
                 interval: float = 10.0, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.total = total
        self.label = label
        self.done = 0
        self.interval = interval
        self.enabled = enabled
        self.start = time.monotonic()
        self._last = self.start
        self._bar = None
        if enabled and total and self.stream.isatty():
            from tqdm import tqdm  # only on a terminal: batch runs never pay its import

            self._bar = tqdm(total=total, desc=label, file=self.stream, unit="node",
                             dynamic_ncols=True, leave=False)

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
            return
        now = time.monotonic()
        if self.enabled and (now - self._last >= self.interval):
            self._last = now
            self.log(self.line(now))

    def line(self, now: float | None = None) -> str:
        elapsed = (now or time.monotonic()) - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else float("inf")
        eta_s = f"{eta:.0f}s" if eta != float("inf") else "?"
        return f"{self.label}: {self.done}/{self.total}, {rate:.0f}/s, ETA {eta_s}"

    def log(self, message: str) -> None:
        if self._bar is not None:
            self._bar.write(message, file=self.stream)
        elif self.enabled:
            print(message, file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
