"""The expected table of the real nodes bundled in ``data/repo`` (tests/fixtures/realdata)."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import FIXTURES

EXPECTED: dict[str, dict[str, Any]] = json.loads(
    (FIXTURES / "realdata" / "expected.json").read_text("utf-8"))
