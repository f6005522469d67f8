"""The real conda-forge nodes of ``data/repo``, one table row each.

``data/repo`` holds 112 real nodes of conda-forge's graph data repo (regro/cf-graph-countyfair,
see ``data/README.md``); ``data/world.json`` makes the fake upstream answer the real bot's
recorded version (or the recipe's version when the bot recorded none) as the newest stable
release, next to older releases and a pre-release above it.
``tests/fixtures/realdata/expected.json`` says, per node: the source vbot picks, the first
request it makes (a path on the fake upstream, from the server's request log), the outcome and
version it finds, or why the node is skipped (``archived``, ``parsing_error``). Run with ``-s``
to see the table.
"""

from __future__ import annotations

import json
import re
import shutil
from typing import Any

import git
import pytest

from tests.helpers import REALDATA_EXPECTED, checker_for
from vbot.check.outcome import Outcome
from vbot.commands.sweep import SweepOptions, sweep
from vbot.repo.nodeinfo import node_info, skip_reason
from vbot.repo.paths import sharded_relpath
from vbot.shipped import resource_dir
from vbot.testing.fakeupstream import FakeUpstream
from vbot.testing.gitfixtures import create_remote

DATA = resource_dir("data")


def _param(node: str) -> Any:
    return pytest.param(node, id=node)


def attrs_of(node: str) -> dict[str, Any]:
    return json.loads((DATA / "repo" / sharded_relpath("node_attrs", node)).read_text("utf-8"))


@pytest.fixture(scope="module")
def world() -> dict[str, Any]:
    return json.loads((DATA / "world.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def checked(world: dict[str, Any]) -> dict[str, tuple[str | Outcome, list[str]]]:
    """node -> (its outcome or skip reason, the paths it requested, in order)."""
    out: dict[str, tuple[str | Outcome, list[str]]] = {}
    with FakeUpstream(world) as fake:
        for node in sorted(REALDATA_EXPECTED):
            attrs = attrs_of(node)
            start = len(fake.headers_seen)
            reason = skip_reason(attrs)
            result: str | Outcome = reason if reason else \
                checker_for(fake, world).check(node_info(node, attrs))
            out[node] = (result, [h["path"] for h in fake.headers_seen[start:]])
    return out


def got_row(result: str | Outcome, requests: list[str]) -> dict[str, Any]:
    if isinstance(result, str):
        return {"skipped": result, "request": requests[0] if requests else None}
    return {"status": result.status, "source": result.source, "expected": result.version,
            "request": requests[0] if requests else None}


def want_row(row: dict[str, Any]) -> dict[str, Any]:
    if row.get("skipped"):
        return {"skipped": row["skipped"], "request": None}
    return {k: row[k] for k in ("status", "source", "expected", "request")}


def test_the_fixture_covers_every_bundled_node() -> None:
    graph = json.loads((DATA / "repo" / "graph.json").read_text("utf-8"))
    names = sorted(n["id"] for n in graph["nodes"])
    assert names == sorted(REALDATA_EXPECTED)
    assert len(names) == 112
    for name in names:
        assert (DATA / "repo" / sharded_relpath("node_attrs", name)).is_file(), name
    manifest = (DATA / "MANIFEST.tsv").read_text("utf-8").splitlines()[1:]
    assert sorted(line.split("\t")[0] for line in manifest) == names
    kinds = {REALDATA_EXPECTED[n]["kind"] for n in names}
    assert kinds >= {"pypi", "github-archive", "github-release", "cran", "rawurl", "npm", "cpan",
                     "rubygems", "gitlab", "ros", "git_url", "none"}


@pytest.mark.parametrize("node", [_param(n) for n in sorted(REALDATA_EXPECTED)])
def test_node(node: str, checked: dict[str, tuple[str | Outcome, list[str]]]) -> None:
    result, requests = checked[node]
    assert got_row(result, requests) == want_row(REALDATA_EXPECTED[node])


def test_table(checked: dict[str, tuple[str | Outcome, list[str]]]) -> None:
    """The whole table (printed with ``-s``); every row matches."""
    head = ("node", "kind", "source", "first request", "found", "recorded by the bot", "")
    rows, wrong = [head], []
    for node, row in sorted(REALDATA_EXPECTED.items()):
        got = got_row(*checked[node])
        ok = got == want_row(row)
        mark = "ok" if ok else "WRONG"
        if not ok:
            wrong.append(node)
        found = f"skipped ({got['skipped']})" if "skipped" in got else \
            got["expected"] or f"({got['status']})"
        rows.append((node, row["kind"], str(got.get("source") or "-"), got["request"] or "-",
                     found, str(row["recorded"] or "-"), mark))
    widths = [min(70, max(len(r[i]) for r in rows)) for i in range(len(head))]
    print()  # shown with -s
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    assert not wrong, f"wrong: {wrong}"


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory, world: dict[str, Any]) -> Any:
    tmp = tmp_path_factory.mktemp("realdata")
    tree = tmp / "tree"
    shutil.copytree(DATA / "repo", tree)
    before = {p.relative_to(tree).as_posix(): p.read_bytes() for p in tree.rglob("versions/**/*")
              if p.is_file()}
    remote = create_remote(tree, tmp / "remote.git")
    with FakeUpstream(world) as fake:
        report = sweep(SweepOptions(remote=remote, workdir=tmp / "work", workers=8,
                                    progress=False, env=fake.env(), report=tmp / "report.json"))
    return report, tmp / "work", before, json.loads((tmp / "report.json").read_text())


@pytest.mark.slow
def test_sweep_writes_what_the_table_says(swept: Any) -> None:
    """End to end: a real sweep of the real nodes writes each versions file as expected and
    leaves skipped nodes' files (the real bot's) byte for byte."""
    report, work, before, written = swept
    # what was pushed (the workspace's sparse checkout does not hold versions/)
    pushed = git.Repo(work.parent / "remote.git")
    wrong = []
    for node, row in sorted(REALDATA_EXPECTED.items()):
        rel = sharded_relpath("versions", node)
        try:
            data: bytes | None = pushed.git.cat_file("blob", f"main:{rel}",
                                                     stdout_as_string=False,
                                                     strip_newline_in_stdout=False)
        except git.GitCommandError:
            data = None
        outcome = report.outcomes.get(node)
        if row.get("skipped"):
            ok = outcome is not None and outcome.status == "skipped" and data == before.get(rel)
        else:
            ok = outcome is not None and outcome.status == row["status"] and data is not None \
                and json.loads(data) == {"new_version": row["expected"]}
        if not ok:
            wrong.append(node)
    assert not wrong, f"wrong: {wrong}"
    assert written["failures"] == []  # also: nothing tried to leave the loopback upstream
    assert written["counts"]["transient"] == 0 and written["counts"]["bad"] == 0


@pytest.mark.slow
def test_sweep_counts_by_source(swept: Any) -> None:
    _, _, _, written = swept
    want: dict[str, int] = {}
    for row in REALDATA_EXPECTED.values():
        if row.get("status") == "found":
            want[row["source"]] = want.get(row["source"], 0) + 1
    found = {src: n for src, entry in written["by_source"].items() if (n := entry.get("found"))}
    assert found == want
    assert sum(want.values()) >= 80


def test_world_offers_a_prerelease_above_each_answer(world: dict[str, Any]) -> None:
    """Filtering is exercised: each registry entry's highest version is a pre-release."""
    from vbot.versioning import order
    lists = {f"pypi {k}": e["versions"] for k, e in world["pypi"].items()}
    lists |= {f"npm {k}": e["versions"] for k, e in world["npm"].items()}
    lists |= {f"rubygems {k}": [r["number"] for r in e] for k, e in world["rubygems"].items()}
    for table in ("github", "gitlab"):
        for key, entry in world[table].items():
            # the version part of a tag: from its first digit (v1.2, jq-1.7.1, release/1.79.2)
            lists[f"{table} {key}"] = [re.sub(r"^[^0-9]*", "", t) for t in entry["tags"]]
    assert len(lists) == 38 + 4 + 4 + 21 + 3
    for what, listed in lists.items():
        assert order.is_prerelease(max(listed, key=order.key)), what
