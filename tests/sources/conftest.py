"""Fixtures of the source tests: one fake upstream per module (tests set their own world)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from vbot.testing.fakeupstream import FakeUpstream


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream({}) as server:
        yield server
