"""The one user-facing error type, and the exit codes it maps to."""

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


class UpstreamError(Exception):
    """A per-node upstream failure: a result, not a crash.

    ``transient`` failures (timeouts, connection errors, 5xx, 429) leave an earlier good result
    untouched; permanent ones (404, unparseable data, no applicable config) are written as ``bad``.
    """

    def __init__(self, reason: str, transient: bool = False, rate_limited: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient or rate_limited
        self.rate_limited = rate_limited
