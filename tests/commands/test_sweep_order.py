"""A sweep checks the nodes most others depend on first, so a cut-short sweep covered them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.helpers import make_cf_tree, node_attrs
from vbot.check.outcome import FOUND, TRANSIENT
from vbot.commands.sweep import SweepOptions, candidates, sweep
from vbot.repo.datarepo import DataRepo
from vbot.run.report import RunReport
from vbot.testing.fakeupstream import FakeUpstream

# dependency -> dependents; "archived" is not checked but still depends on "mid"
LINKS = [("zlib", "openssl"), ("openssl", "python"), ("python", "numpy"), ("numpy", "mid"),
         ("mid", "archived"), ("python", "aaa-app"), ("mid", "leaf-b"), ("numpy", "leaf-a")]
# descendants: zlib 8, openssl 7, python 6, numpy 4, mid 2, the rest 0 (then by name)
EXPECTED = ["zlib", "openssl", "python", "numpy", "mid", "aaa-app", "leaf-a", "leaf-b", "lone"]


def _tree(tmp_path: Path) -> tuple[Path, dict]:
    nodes, pypi = {}, {}
    for name in [*EXPECTED, "archived"]:
        url = f"https://pypi.example/packages/source/{name[0]}/{name}/{name}-1.0.tar.gz"
        nodes[name] = node_attrs(name, url, "1.0", archived=name == "archived")
        pypi[name] = {"versions": ["1.0", "1.1"]}
    tree = make_cf_tree(tmp_path / "tree", nodes)
    graph = json.loads((tree / "graph.json").read_text())
    graph["links"] = [{"source": s, "target": t} for s, t in LINKS]
    (tree / "graph.json").write_text(json.dumps(graph, indent=1, sort_keys=True) + "\n")
    return tree, pypi


def _asked(fake: FakeUpstream) -> list[str]:
    return [m.group(1) for h in fake.headers_seen
            if (m := re.fullmatch(r"/pypi/([^/]+)/json", h["path"]))]


def test_candidates_by_dependents_then_name(tmp_path: Path) -> None:
    tree, _ = _tree(tmp_path)
    repo = DataRepo.open(tree)
    assert repo.dependents()["zlib"] == 8 and repo.dependents()["mid"] == 2
    report = RunReport("sweep", "t")
    assert candidates(repo, None, report) == [*EXPECTED[:6], "archived", *EXPECTED[6:]]
    assert candidates(repo, ("leaf-a", "mid", "zlib"), report) == ["zlib", "mid", "leaf-a"]


def test_sweep_asks_upstream_in_dependents_order(tmp_path: Path, make_remote) -> None:
    tree, pypi = _tree(tmp_path)
    remote = make_remote(tree)
    with FakeUpstream({"pypi": pypi}) as fake:
        report = sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "w", workers=1,
                                    progress=False, env=fake.env()))
    assert _asked(fake) == EXPECTED
    assert {n for n, o in report.outcomes.items() if o.status == FOUND} == set(EXPECTED)


def test_a_sweep_cut_short_covered_the_most_used(tmp_path: Path, make_remote) -> None:
    tree, pypi = _tree(tmp_path)
    remote = make_remote(tree)
    with FakeUpstream({"pypi": pypi, "latency_ms": 400}) as fake:
        report = sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "w", workers=1,
                                    progress=False, env=fake.env(), deadline=1.5))
    found = [n for n in EXPECTED if report.outcomes[n].status == FOUND]
    late = [n for n in EXPECTED if report.outcomes[n].status == TRANSIENT]
    assert late and found + late == EXPECTED  # what was checked is the head of the order
