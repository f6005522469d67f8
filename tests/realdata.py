"""The expected table of the real nodes bundled in ``data/repo`` (tests/fixtures/realdata)."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import FIXTURES
from vbot.sources import REGISTRY

EXPECTED: dict[str, dict[str, Any]] = json.loads(
    (FIXTURES / "realdata" / "expected.json").read_text("utf-8"))


def pending(row: dict[str, Any]) -> str | None:
    """Why a row cannot pass on this branch yet (its source is not registered, or it needs
    other work such as ``rawtmpl``), or None."""
    if row.get("source") and row["source"] not in REGISTRY:
        return f"source {row['source']!r} is not in the registry yet (branch newsources)"
    if row.get("needs"):
        return f"needs {row['needs']}"
    return None


def settled() -> dict[str, dict[str, Any]]:
    """The rows that must pass now."""
    return {node: row for node, row in EXPECTED.items() if not pending(row)}
