"""Small helpers the change feeds of several sources share (``Source.changes``)."""

from __future__ import annotations

import hashlib


def server_id(base: str) -> str:
    """Which server a cursor belongs to: a short hash of the configured base URL (a cursor of
    another server is unknown; a hash keeps host names out of the data repo)."""
    return hashlib.sha256(base.rstrip("/").encode()).hexdigest()[:12]


def whole(value: object) -> int | None:
    """A non-negative whole number from JSON, XML-RPC or a header, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
