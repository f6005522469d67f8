"""vbot's exceptions, one tree under ``VbotError``, and the exit codes they map to.

``VbotError``: something the user can act on (one line, an exit code). ``UpstreamError``: an
upstream's answer for one node (a result, never the run's failure): checks catch it before any
``VbotError`` handler could see it, and one that escapes to the command line is a bug.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_USER = 1  # bad input: missing repo, malformed graph.json, bad arguments
EXIT_PUSH = 3  # the remote is unreachable or refused us (any commit made is kept locally)
EXIT_INTERNAL = 4  # a bug: an unexpected exception (its traceback is printed, redacted)
EXIT_INTERRUPTED = 130


class VbotError(Exception):
    """An error the user can act on; printed as one line, mapped to an exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_USER) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class PushError(VbotError):
    """The remote could not be reached or refused us (clone, fetch or push); a local commit
    is kept for the next run."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_PUSH)


class UpstreamError(VbotError):
    """A per-node upstream failure: a result, not a crash.

    ``transient`` failures (timeouts, connection errors, 5xx, 429) leave an earlier good result
    untouched; permanent ones (404, unparseable data, no applicable config) are written as ``bad``.
    Checks catch it where they ask (``vbot/check/checker.py``, ``vbot/run/executors.py``);
    one that reaches ``vbot.main`` is reported as an internal error (``EXIT_INTERNAL``).
    """

    def __init__(self, reason: str, transient: bool = False, rate_limited: bool = False) -> None:
        super().__init__(reason, EXIT_INTERNAL)
        self.reason = reason
        self.transient = transient or rate_limited
        self.rate_limited = rate_limited

    def __reduce__(self) -> tuple[type[UpstreamError], tuple[str, bool, bool]]:
        return (type(self), (self.reason, self.transient, self.rate_limited))
