"""Writing a sweep's versions files from a second process.

The first sweep of a large graph creates tens of thousands of small files in sharded folders,
and their system calls (mkdir, create, write, rename) cost about as much CPU as checking the
nodes upstream (benchmarks/RESULTS.md). The sweep still decides what each file must contain
and whether it changed; a writer process writes it, on another core, as soon as it is handed
over: the same atomic write (temp file + rename) as ``jsonio.atomic_write_text``.

Nothing is lost when the writer cannot start or dies: every file handed over is kept (a few
MB for a whole graph) until ``close``, which writes in this process whatever the writer may
not have written. Write errors come back per file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import IO

from vbot.jsonio import atomic_write_text

CLOSE_TIMEOUT = 120.0  # seconds to wait for the writer to finish what it was handed


def serve(lines: IO[str], out: IO[str]) -> int:
    """The writer process: write each ``[key, path, text]`` line; at the end, print the
    failures as one JSON object ``{key: reason}``."""
    failed: dict[str, str] = {}
    for line in lines:
        key, path, text = json.loads(line)
        try:
            atomic_write_text(Path(path), text, fsync=False)
        except OSError as exc:
            failed[key] = f"cannot write: {exc.strerror or exc}"
    out.write(json.dumps(failed) + "\n")
    out.flush()
    return 0


class FileWriter:
    """``write(path, text, key)`` now or soon; ``close()`` returns {key: error} for failures.

    The writer is ``python -m vbot.filewriter``, fed one JSON line per file on its stdin (a
    plain child process: nothing of this one is copied or re-imported)."""

    def __init__(self, offload: bool = True) -> None:
        self._handed: list[tuple[str, str, str]] = []
        self._proc: subprocess.Popen[str] | None = None
        if offload:
            try:
                self._proc = subprocess.Popen(
                    [sys.executable, "-m", "vbot.filewriter"], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, text=True, encoding="utf-8",
                    errors="surrogateescape")
            except OSError:  # no process to be had: write in-process
                self._proc = None
        self.offloaded = self._proc is not None  # a writer process was started

    def write(self, path: Path, text: str, key: str) -> None:
        """Write ``text`` to ``path`` atomically (raises only when writing in-process);
        ``key`` names the file in what ``close`` returns."""
        if self._proc is not None and self._proc.stdin is not None:
            item = (key, str(path), text)
            try:
                self._proc.stdin.write(json.dumps(item) + "\n")
                self._proc.stdin.flush()
                self._handed.append(item)
                return
            except (OSError, ValueError):  # the writer died: this and the rest in-process
                self._stop()
        atomic_write_text(path, text, fsync=False)

    def _stop(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.communicate()
            self._proc = None

    def close(self) -> dict[str, str]:
        """Wait for the writer to finish; {key: reason} for files that could not be written."""
        failed: dict[str, str] | None = None
        if self._proc is not None:
            try:
                out, _ = self._proc.communicate(timeout=CLOSE_TIMEOUT)
                if self._proc.returncode == 0:
                    failed = dict(json.loads(out))
            except (OSError, ValueError, subprocess.TimeoutExpired):
                failed = None  # it may have stopped early: trust nothing it did not report
        self._stop()
        if failed is None:  # no word from the writer: write everything handed over again
            failed = {}
            for key, path, text in self._handed:
                try:
                    atomic_write_text(Path(path), text, fsync=False)
                except OSError as exc:
                    failed[key] = f"cannot write: {exc.strerror or exc}"
        self._handed = []
        return failed


if __name__ == "__main__":
    sys.exit(serve(sys.stdin, sys.stdout))
