"""The real RubyGems, CPAN and NVIDIA nodes of the conda-forge sample, one sweep's checker.

Each node's upstream (fake, real API shapes) answers the real bot's recorded version (or the
recipe's, when the bot recorded none) as its newest stable release, with a newer pre-release /
developer release / older manifest around it; vbot must pick the same source kind the URL
names, ask exactly the request that source makes, and find that version.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers import FIXTURES, checker_for
from vbot.repo.nodeinfo import node_info

NODES: dict[str, Any] = json.loads(
    (FIXTURES / "newsources" / "real_nodes.json").read_text("utf-8"))


def _expected(entry: dict[str, Any]) -> str:
    return entry["recorded_new_version"] or entry["attrs"]["version"]


def _world() -> dict[str, Any]:
    world: dict[str, Any] = {"rubygems": {}, "metacpan": {}, "nvidia": {}}
    for name, entry in NODES.items():
        url = entry["attrs"]["url"]
        want = _expected(entry)
        if name.startswith("rb-"):
            gem = url.rsplit("/", 1)[1][: -len(f"-{entry['attrs']['version']}.gem")]
            world["rubygems"][gem] = [{"number": f"{want}.rc1", "prerelease": True},
                                      {"number": want, "prerelease": False},
                                      {"number": entry["attrs"]["version"], "prerelease": False}]
        elif name.startswith("perl-"):
            dist = url.rsplit("/", 1)[1][: -len(f"-{entry['attrs']['version']}.tar.gz")]
            world["metacpan"][dist] = {"version": want, "maturity": "released"}
        else:  # libnvpl-blas: nvpl 24.7 had 0.3.0, 25.5 has the recorded version
            world["nvidia"]["nvpl"] = {"24.7": {"nvpl_blas": {"version": "0.3.0"}},
                                       "25.5": {"nvpl_blas": {"version": want}}}
    return world


def _kind(name: str) -> tuple[str, str]:
    """(source, the path prefix of its first request on the fake upstream)."""
    if name.startswith("rb-"):
        return "rubygems", "/rubygems/api/v1/versions/"
    if name.startswith("perl-"):
        return "metacpan", "/metacpan/v1/release/"
    return "nvidia", "/nvidia/compute/nvpl/redist/"


def test_the_sample_has_every_new_kind() -> None:
    assert {_kind(n)[0] for n in NODES} == {"rubygems", "metacpan", "nvidia"}
    assert len(NODES) == 9


@pytest.mark.parametrize("name", sorted(NODES))
def test_real_node(upstream, name: str) -> None:
    entry = NODES[name]
    checker = checker_for(upstream, _world())
    before = dict(upstream.requests)
    out = checker.check(node_info(name, entry["attrs"]))
    source, prefix = _kind(name)
    assert (out.status, out.source, out.version) == ("found", source, _expected(entry))
    asked = sorted(p for p, n in upstream.requests.items() if n != before.get(p, 0))
    assert asked and all(p.startswith(prefix) for p in asked)
    assert len(asked) == (2 if source == "nvidia" else 1)  # index + newest manifest
