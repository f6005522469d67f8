"""conda's version order and pre-release detection on real-world spellings."""

from __future__ import annotations

import pytest

from vbot.versioning import order

PARSE = [  # text, parses, pre-release, scheme
    ("1.2.0.post0", True, False, "number"),
    ("0.8.10-1", True, False, "number"),
    ("14.0_0", True, False, "number"),
    ("2026.1.post1", True, False, "date"),
    ("7.22.0.SNAPSHOT", True, True, "number"),
    ("v0.2.4", True, False, "number"),
    ("2024.01.15", True, False, "date"),
    ("20240115", True, False, "date"),
    ("1_2_3", True, False, "number"),
    ("1.0rc1", True, True, "number"),
    ("2.0b1", True, True, "number"),
    ("1.0.0-alpha.1", True, True, "number"),
    ("9.0.0-rc.1", True, True, "number"),
    ("3.0.0-M1", True, True, "number"),
    ("1.1.1w", True, False, "number"),
    ("71.b", True, False, "number"),  # lrslib's letter releases: 71.a, 71.b, 71.c
    ("2024b", True, False, "date"),  # tzdata
    ("1.0b1", True, True, "number"),
    ("1.0.dev0", True, True, "number"),
    ("nightly", False, True, None),
    ("", False, False, None),
]


@pytest.mark.parametrize(("text", "parses", "pre", "scheme"), PARSE)
def test_parse_and_prerelease(text: str, parses: bool, pre: bool, scheme: str | None) -> None:
    assert (order.parse(text) is not None) is parses
    if parses:
        assert order.is_prerelease(text) is pre
    assert order.scheme(text) == scheme


ORDER = [  # candidates, highest by conda order
    (["1.2.0", "1.2.0.post0"], "1.2.0.post0"),
    (["0.8.10", "0.8.10-1", "0.8.9"], "0.8.10-1"),
    (["14.0_0", "14.0_1", "13.9_9"], "14.0_1"),
    (["2026.1", "2026.1.post1", "2025.12.3"], "2026.1.post1"),
    (["1.9", "1.10", "1.2"], "1.10"),
    (["1.1.1v", "1.1.1w"], "1.1.1w"),  # conda: 1.1.1w < 1.1.1
    (["2024.01.15", "2024.2.1"], "2024.2.1"),
    (["1.0", "not a version"], "1.0"),
]


@pytest.mark.parametrize(("candidates", "best"), ORDER)
def test_conda_order(candidates: list[str], best: str) -> None:
    assert order.highest(candidates) == best
    assert order.highest(list(reversed(candidates))) == best


def test_v_prefix_and_normalise() -> None:
    assert order.parse("v0.2.4") == order.parse("0.2.4")
    assert order.newer("v0.2.4", "0.3.0") == "0.3.0"
    assert order.normalise("14.0-1") == order.normalise("14.0_1") == "14.0.1"
    assert order.lead_digits("2024.1") == 4 and order.lead_digits("v12.3") == 2
