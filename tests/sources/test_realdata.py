"""The bundled data repo end to end: every node's source and version after a real sweep.

``data/repo`` (40 conda-forge-shaped nodes) is pushed to a bare remote, ``data/world.json`` is
served by the fake upstream, ``vbot sweep`` runs, and every node's outcome and versions file
is compared with ``tests/fixtures/realdata/expected.json``. The table is printed (``-s``).
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import FIXTURES
from vbot.commands.sweep import SweepOptions, sweep
from vbot.fakeupstream import FakeUpstream
from vbot.gitrepo import create_remote
from vbot.names import sharded_relpath
from vbot.paths import resource_dir


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("realdata")
    data = resource_dir("data")
    tree = tmp / "tree"
    shutil.copytree(data / "repo", tree)
    before = {p.relative_to(tree).as_posix(): p.read_text() for p in tree.rglob("versions/**/*")
              if p.is_file()}
    remote = create_remote(tree, tmp / "remote.git")
    world = json.loads((data / "world.json").read_text("utf-8"))
    with FakeUpstream(world) as fake:
        report = sweep(SweepOptions(remote=remote, workdir=tmp / "work", workers=8,
                                    progress=False, env=fake.env(), report=tmp / "report.json"))
    return report, tmp / "work", before, json.loads((tmp / "report.json").read_text())


def test_every_node_gets_the_expected_source_and_version(swept, capsys) -> None:
    report, work, before, _ = swept
    expected = json.loads((FIXTURES / "realdata" / "expected.json").read_text())
    rows, wrong = [], []
    for node, want in sorted(expected.items()):
        outcome = report.outcomes.get(node)
        rel = sharded_relpath("versions", node)
        path = work / rel
        written = json.loads(path.read_text()) if path.is_file() else None
        if want.get("skipped"):
            got_source, got = None, "(skipped)"
            ok = outcome is not None and outcome.status == "skipped" and \
                (path.read_text() if path.is_file() else None) == before.get(rel)
        else:
            got_source = outcome.source if outcome and outcome.status == "found" else None
            got = written.get("new_version") if isinstance(written, dict) else written
            ok = got_source == want["source"] and got == want["expected"] and \
                written == {"new_version": want["expected"]}
        rows.append((node, str(got_source), str(want["source"]), str(want["expected"]), str(got),
                     "ok" if ok else "WRONG"))
        if not ok:
            wrong.append(node)
    with capsys.disabled():
        widths = [max(len(r[i]) for r in rows) for i in range(6)]
        head = ("node", "source", "want-src", "expected", "got", "")
        print()
        for row in [head, *rows]:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    assert not wrong, f"wrong: {wrong}"


def test_report_counts_by_source(swept) -> None:
    report, _, _, written = swept
    expected = json.loads((FIXTURES / "realdata" / "expected.json").read_text())
    want: dict[str, int] = {}
    for entry in expected.values():
        if not entry.get("skipped") and entry["source"]:
            want[entry["source"]] = want.get(entry["source"], 0) + 1
    found = {src: row.get("found", 0) for src, row in written["by_source"].items()}
    assert {k: v for k, v in found.items() if v} == want
    nosource = [e for e in expected.values() if not e.get("skipped") and not e["source"]]
    assert written["by_source"].get("(none)") == ({"nosource": len(nosource)} if nosource
                                                  else None)
    assert written["counts"]["no_source"] == len(nosource)
    assert written["failures"] == []  # also: nothing tried to leave the loopback upstream
