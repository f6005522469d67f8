"""Incremental sweeps (issue 17): the cursor in the data repo, what is skipped and why, and
every fallback to checking, on fresh workdirs (shallow clones) as a CI runner has them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import git
import pytest

from tests.helpers import (
    FAST_HTTP,
    Journal,
    Remote,
    make_cf_tree,
    node_attrs,
    point_env_at,
    use_journal,
    versions_tree,
)
from vbot.commands.merge import MergeOptions, merge
from vbot.commands.sweep import SweepOptions, sweep
from vbot.main import main
from vbot.repo.cursor import SWEEP_CURSOR
from vbot.repo.paths import sharded_relpath
from vbot.run.incremental import safety_net_due

PYPI = "https://pypi.example/packages/source/{0}/{1}/{1}-{2}.tar.gz"
GH = "https://github.com/{0}/archive/refs/tags/{1}.tar.gz"
NAMES = ("alpha", "beta", "gamma", "delta")


def nodes() -> dict[str, dict[str, Any]]:
    found = {n: node_attrs(n, PYPI.format(n[0], n, "1.0"), "1.0") for n in NAMES}
    found["black"] = node_attrs("black", GH.format("psf/black", "24.1.0"), "24.1.0")
    return found


def world() -> dict[str, Any]:
    return {"pypi": {n: {"versions": ["1.0", "1.1"]} for n in NAMES},
            "github": {"psf/black": {"releases": [{"tag_name": "25.1.0", "prerelease": False}],
                                     "tags": ["25.1.0", "24.1.0"]}}}


DAY = 20000  # the sweeps' day: the first sweep runs the safety net for it, the rest need not


class Repo:
    """A data repo on a bare remote, swept from a fresh workdir each time (a CI runner)."""

    def __init__(self, tmp: Path, make_remote: Any, fake: Any, monkeypatch: Any,
                 tree_nodes: dict[str, dict[str, Any]] | None = None,
                 journal: bool = True) -> None:
        tree = make_cf_tree(tmp / "tree", tree_nodes or nodes())
        (tree / "vbot.toml").write_text(FAST_HTTP)
        self.remote = Remote(tree, tmp)
        self.tmp, self.fake, self.monkeypatch = tmp, fake, monkeypatch
        self.world = world()
        self.runs = 0
        # journal: a feed the test drives by hand; else PyPI's own feed on the fake upstream
        self.journal = use_journal(monkeypatch, Journal()) if journal else Journal()

    def sweep(self, **kwargs: Any):
        self.fake.set_world(self.world)
        point_env_at(self.fake, self.monkeypatch)
        self.fake.requests.clear()
        self.runs += 1
        kwargs.setdefault("today", DAY)
        return sweep(SweepOptions(remote=self.remote.url, workdir=self.tmp / f"w{self.runs}",
                                  progress=False, http_cache=False, **kwargs))

    def release(self, name: str, version: str) -> None:
        self.world["pypi"][name]["versions"].append(version)
        self.fake.set_world(self.world)
        self.journal.move(name)

    def edit(self, message: str, change: Any) -> None:
        """Commit a maintainer's change to the remote (``change(clone_path)``)."""
        path = self.tmp / f"edit{self.runs}-{len(message)}"
        clone = git.Repo.clone_from(self.remote.url, path)
        change(path)
        clone.git.add("-A")
        clone.git.commit("-qm", message)
        clone.git.push("origin", "HEAD:main")

    def cursor(self) -> dict[str, Any]:
        return self.remote.show(SWEEP_CURSOR)

    def pypi_asked(self) -> set[str]:
        return {p.split("/")[2] for p, n in self.fake.requests.items()
                if p.startswith("/pypi/") and n}


def rows(report: Any) -> dict[str, Any]:
    return report.extra["incremental"]["sources"]


@pytest.fixture
def data(tmp_path: Path, make_remote, fake, monkeypatch) -> Repo:
    return Repo(tmp_path, make_remote, fake, monkeypatch)


def test_first_sweep_checks_all_and_leaves_a_cursor(data: Repo) -> None:
    report = data.sweep()
    assert rows(report)["pypi"] == {"skipped": 0, "checked": {"no cursor": 4},
                                    "cursor": {"from": None, "to": 100},
                                    "note": "no earlier serial"}
    assert rows(report)["github"] == {"skipped": 0, "checked": {"no feed": 1}}
    assert any("no .vbot/sweep-cursor.json" in n for n in report.extra["incremental"]["notes"])
    cursor = data.cursor()
    head = data.remote.repo.commit("main")
    assert cursor["base"] == head.parents[0].tree.hexsha  # the tree the sweep read
    assert cursor["sources"] == {"pypi": 100} and cursor["pending"] == []
    assert SWEEP_CURSOR in head.stats.files  # committed with the results, one commit
    assert data.journal.asked == [None]


def test_nothing_new_asks_no_project_and_makes_no_commit(data: Repo) -> None:
    data.sweep()
    commits = len(data.remote.commits())
    report = data.sweep()
    assert data.journal.asked == [None, 100]
    assert rows(report)["pypi"]["skipped"] == 4 and rows(report)["pypi"]["checked"] == {}
    assert data.pypi_asked() == set()
    assert rows(report)["github"]["checked"] == {"no feed": 1}  # no feed: always checked
    assert report.extra["commit"] is None and len(data.remote.commits()) == commits
    assert "4 skipped (unchanged upstream)" in _summary(report)


def test_a_release_is_checked_and_the_cursor_moves(data: Repo) -> None:
    data.sweep()
    data.release("beta", "2.0")
    report = data.sweep()
    assert rows(report)["pypi"]["checked"] == {"changed": 1}
    assert rows(report)["pypi"]["cursor"] == {"from": 100, "to": 101}
    assert data.pypi_asked() == {"beta"}
    assert data.remote.show(sharded_relpath("versions", "beta")) == {"new_version": "2.0"}
    assert data.cursor()["sources"] == {"pypi": 101}
    # a move without a release (a new serial only) is checked, and changes nothing
    data.journal.move("gamma")
    report = data.sweep()
    assert data.pypi_asked() == {"gamma"} and report.extra["commit"] is None


def test_release_during_a_sweep_is_seen_by_the_next(data: Repo, monkeypatch) -> None:
    """The cursor is taken before the first check: a move after it is in the next feed."""
    data.sweep()
    data.release("alpha", "1.5")
    original = data.journal.move

    def late_move(*names: str) -> None:
        original(*names)

    # a release made after the feed was asked (while the sweep checks)
    from vbot.run.incremental import Incremental

    asked = Incremental.ask_feeds

    def ask_then_release(self, infos):  # type: ignore[no-untyped-def]
        asked(self, infos)
        data.world["pypi"]["delta"]["versions"].append("3.0")
        data.fake.set_world(data.world)
        late_move("delta")

    monkeypatch.setattr(Incremental, "ask_feeds", ask_then_release)
    data.sweep()
    monkeypatch.setattr(Incremental, "ask_feeds", asked)
    assert data.remote.show(sharded_relpath("versions", "delta")) == {"new_version": "1.1"}
    report = data.sweep()
    assert rows(report)["pypi"]["checked"] == {"changed": 1}
    assert data.remote.show(sharded_relpath("versions", "delta")) == {"new_version": "3.0"}


def test_document_change_new_node_and_error_are_checked(data: Repo) -> None:
    data.world["pypi"].pop("delta")  # delta: no such project (bad)
    data.sweep()
    assert "bad" in data.remote.show(sharded_relpath("versions", "delta"))

    def change(path: Path) -> None:
        rel = path / sharded_relpath("node_attrs", "alpha")
        doc = json.loads(rel.read_text())
        doc["version"] = "1.1"
        rel.write_text(json.dumps(doc))
        graph = json.loads((path / "graph.json").read_text())
        graph["nodes"].append({"id": "new", "payload": {"__lazy_json__": "node_attrs/new.json"}})
        (path / "graph.json").write_text(json.dumps(graph))
        new = path / sharded_relpath("node_attrs", "new")
        new.parent.mkdir(parents=True, exist_ok=True)
        new.write_text(json.dumps(node_attrs("new", PYPI.format("n", "new", "1.0"), "1.0")))

    data.edit("maintainer: alpha 1.1, new node", change)
    data.world["pypi"]["new"] = {"versions": ["1.0", "1.2"]}
    report = data.sweep()
    assert rows(report)["pypi"]["checked"] == {"document changed": 1, "error": 1, "new": 1}
    assert data.pypi_asked() == {"alpha", "delta", "new"}
    report = data.sweep()  # errors are checked every time; the rest settled
    assert rows(report)["pypi"]["checked"] == {"error": 1}


def test_transient_failure_stays_pending_until_settled(data: Repo) -> None:
    data.sweep()
    data.release("beta", "2.0")
    data.world["faults"] = [{"path": "/pypi/beta/*", "kind": "status", "status": 503}]
    report = data.sweep()  # only a kept file: no commit, the cursor stays where it was
    assert report.outcomes["beta"].status == "transient" and report.extra["commit"] is None
    assert data.cursor()["sources"] == {"pypi": 100}
    data.release("gamma", "2.0")  # now a result is committed, and beta is pending with it
    report = data.sweep()
    assert report.extra["commit"] and data.cursor()["pending"] == ["beta"]
    assert data.cursor()["sources"] == {"pypi": 102}
    data.world.pop("faults")
    report = data.sweep()
    assert rows(report)["pypi"]["checked"] == {"pending": 1}
    assert data.remote.show(sharded_relpath("versions", "beta")) == {"new_version": "2.0"}
    assert data.cursor()["pending"] == []


def test_feed_down_checks_every_node_said_once(data: Repo, capsys) -> None:
    data.sweep()
    data.journal.down = True
    report = data.sweep()
    assert rows(report)["pypi"]["checked"] == {"feed unavailable": 4}
    notes = report.extra["incremental"]["notes"]
    assert notes == ["pypi: journal is down; checking all 4 nodes"]
    assert data.pypi_asked() == set(NAMES)


@pytest.mark.parametrize("text", [b"not json", b'{"base": "x"}', b"[" * 100000,
                                  b'{"base": "' + b"0" * 40 + b'", "sources": {}, '
                                  b'"pending": 7}'])
def test_broken_cursor_is_no_cursor(data: Repo, text: bytes) -> None:
    data.sweep()
    data.edit("break the cursor", lambda p: (p / SWEEP_CURSOR).write_bytes(text))
    report = data.sweep()
    assert rows(report)["pypi"]["checked"] == {"no cursor": 4}
    assert any(".vbot/sweep-cursor.json" in n for n in report.extra["incremental"]["notes"])


def test_cursor_naming_an_unknown_base_skips_nothing(data: Repo) -> None:
    data.sweep()

    def change(path: Path) -> None:
        doc = json.loads((path / SWEEP_CURSOR).read_text())
        doc["base"] = "1" * 40
        (path / SWEEP_CURSOR).write_text(json.dumps(doc))

    data.edit("a base from elsewhere", change)
    report = data.sweep()
    assert rows(report)["pypi"]["checked"] == {"base unknown": 4}


def test_full_and_safety_net_and_settings(data: Repo) -> None:
    data.sweep()
    assert rows(data.sweep(full=True))["pypi"]["checked"] == {"full": 4}
    later = next(DAY + k for k in range(1, 8) if safety_net_due("alpha", DAY + k, 7))
    report = data.sweep(today=later)  # the net runs for every day since DAY, alpha's among them
    due = {n for n in NAMES if any(safety_net_due(n, d, 7) for d in range(DAY + 1, later + 1))}
    assert rows(report)["pypi"]["checked"] == {"safety net": len(due)}
    assert data.pypi_asked() == due and "alpha" in due
    # nothing was committed: the next sweep of that day rechecks the same nodes
    assert rows(data.sweep(today=later))["pypi"]["checked"] == {"safety net": len(due)}
    # a week without a commit: every node is due
    assert rows(data.sweep(today=DAY + 7))["pypi"]["checked"] == {"safety net": 4}
    data.edit("other settings", lambda p: (p / "vbot.toml").write_text(
        FAST_HTTP + "[sources.github]\nmax_pages = 2\n"))
    assert rows(data.sweep())["pypi"]["checked"] == {"settings changed": 4}


def test_base_is_found_behind_a_merge_in_a_shallow_clone(data: Repo) -> None:
    data.sweep()
    merge(MergeOptions(remote=data.remote.url, workdir=data.tmp / "m", progress=False))
    data.edit("a maintainer commit", lambda p: (p / "README").write_text("hello\n"))
    report = data.sweep(depth=1)
    assert rows(report)["pypi"]["skipped"] == 4


def test_nodes_option_checks_them_and_leaves_the_cursor(data: Repo) -> None:
    data.sweep()
    before = data.cursor()
    data.release("alpha", "2.0")
    report = data.sweep(nodes=("alpha", "beta"))
    assert "incremental" not in report.extra and data.pypi_asked() == {"alpha", "beta"}
    assert data.cursor() == before


def test_shards_keep_a_cursor_each(data: Repo) -> None:
    from vbot.run.jobshard import Shard

    for i in range(3):  # 0: gamma, 1: alpha, beta, black, 2: delta
        data.sweep(shard=Shard(i, 3))
    files = [f for f in data.remote.files() if f.startswith(".vbot/")]
    assert files == [f".vbot/sweep-cursor-{i}-of-3.json" for i in range(3)]
    assert data.journal.asked == [None, None, None]
    data.release("delta", "2.0")
    for i, checked in ((0, 0), (1, 1), (2, 1)):  # black (no feed), delta (changed)
        report = data.sweep(shard=Shard(i, 3))
        assert report.extra["incremental"]["checked"] == checked
    assert data.remote.show(".vbot/sweep-cursor-2-of-3.json")["sources"] == {"pypi": 101}
    assert data.remote.show(".vbot/sweep-cursor-0-of-3.json")["sources"] == {"pypi": 100}


def test_result_from_a_later_source_is_rechecked(tmp_path: Path, make_remote, fake,
                                                 monkeypatch) -> None:
    """alpha's first source (pypi) has only a pre-release: the result is not pypi's answer,
    so it is never settled by the feed; a node whose order puts github first: no feed."""
    tree = nodes()
    tree["beta"] = node_attrs("beta", [PYPI.format("b", "beta", "1.0"),
                                       GH.format("psf/black", "24.1.0")], "1.0",
                              **{"conda-forge.yml": {"bot": {"version_updates": {
                                  "sources": ["github", "pypi"]}}}})
    data = Repo(tmp_path, make_remote, fake, monkeypatch, tree)
    data.world["pypi"]["alpha"]["versions"] = ["2.0b1"]
    data.sweep()
    assert data.cursor()["pending"] == ["alpha"]
    report = data.sweep()
    assert rows(report)["pypi"]["checked"] == {"pending": 1}
    assert rows(report)["github"]["checked"] == {"no feed": 2}


def test_summary_and_report_cli(data: Repo, capsys, tmp_path: Path) -> None:
    data.sweep()
    data.release("alpha", "1.9")
    point_env_at(data.fake, data.monkeypatch)
    code = main(["sweep", data.remote.url, "--workdir", str(tmp_path / "cli"), "-q",
                 "--no-cache"])
    out = capsys.readouterr().out
    assert code == 0
    assert "incremental:" in out and "pypi:" in out and "cursor 100 -> 101" in out
    code = main(["sweep", data.remote.url, "--workdir", str(tmp_path / "cli"), "-q",
                 "--no-cache", "--full"])
    assert code == 0 and "(--full)" in capsys.readouterr().out


def test_incremental_equals_full_versions_tree(data: Repo, tmp_path: Path, make_remote) -> None:
    data.sweep()
    data.release("alpha", "1.2")
    data.release("gamma", "1.3")
    data.sweep()
    full = Repo(tmp_path / "full", make_remote, data.fake, data.monkeypatch)
    full.world = copy.deepcopy(data.world)
    full.sweep(full=True)
    assert versions_tree(data.remote) == versions_tree(full.remote)


def _summary(report: Any) -> str:
    import io

    from vbot.run.incremental import print_summary

    out = io.StringIO()
    print_summary(report.extra, out)
    return out.getvalue()


def test_check_says_whether_a_sweep_would_skip(data: Repo, tmp_path: Path, capsys) -> None:
    from vbot.run.incremental import day_number

    data.sweep(today=day_number())  # vbot check looks at today's safety net
    clone = tmp_path / "maint"
    git.Repo.clone_from(data.remote.url, clone)
    point_env_at(data.fake, data.monkeypatch)
    assert main(["check", "alpha", "black", "--repo", str(clone)]) == 0
    out = capsys.readouterr().out
    assert "next sweep: would skip it: pypi's change feed lists no change" in out
    assert "next sweep: would check it: the source that answers it first has no change feed" \
        in out
    data.release("alpha", "3.0")
    assert main(["check", "alpha", "--repo", str(clone), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)[0]
    assert found["new_version"] == "3.0"
    assert found["sweep"]["skip"] is False and found["sweep"]["reason"] == "changed"


# -- the real PyPI change feed (XML-RPC serials) served by the fake upstream ---------------


@pytest.fixture
def pypi_feed(tmp_path: Path, make_remote, fake, monkeypatch) -> Repo:
    return Repo(tmp_path, make_remote, fake, monkeypatch, journal=False)


def test_pypi_feed_end_to_end(pypi_feed: Repo) -> None:
    data = pypi_feed
    report = data.sweep()
    assert rows(report)["pypi"]["checked"] == {"no cursor": 4}
    serial = data.cursor()["sources"]["pypi"]["serial"]
    report = data.sweep()  # a fresh runner, nothing new: no project asked, no commit
    assert rows(report)["pypi"]["skipped"] == 4 and data.pypi_asked() == set()
    assert report.extra["commit"] is None
    assert {p for p in data.fake.requests if p.startswith("/pypi")} == {"/pypi"}  # XML-RPC
    data.release("gamma", "4.0")
    report = data.sweep()
    assert rows(report)["pypi"]["checked"] == {"changed": 1} and data.pypi_asked() == {"gamma"}
    assert data.remote.show(sharded_relpath("versions", "gamma")) == {"new_version": "4.0"}
    assert data.cursor()["sources"]["pypi"]["serial"] > serial


@pytest.mark.parametrize("kind", ["local", "process"])
def test_pypi_stale_copy_stays_pending(pypi_feed: Repo, kind: str) -> None:
    """The JSON API answers from a copy older than the feed's serial: transient, the result
    is kept and the node is checked again until the copy is fresh; also when worker
    processes do the checks (they get the feed's serials from the sweep)."""
    from vbot.run.executors import ExecutorSpec

    spec = ExecutorSpec(kind, processes=2) if kind != "local" else ExecutorSpec()
    data = pypi_feed
    data.sweep()
    data.world["pypi"]["beta"]["versions"].append("2.0")
    data.world["pypi"]["beta"]["stale"] = True
    data.release("alpha", "2.0")  # a result to commit, so the cursor moves
    report = data.sweep(executor=spec)
    assert report.outcomes["beta"].status == "transient" and "stale" in \
        report.outcomes["beta"].reason
    assert data.cursor()["pending"] == ["beta"]
    del data.world["pypi"]["beta"]["stale"]
    data.fake.set_world(data.world)
    report = data.sweep()
    assert rows(report)["pypi"]["checked"] == {"pending": 1}
    assert data.remote.show(sharded_relpath("versions", "beta")) == {"new_version": "2.0"}


@pytest.mark.parametrize("feed", [{"off": ["pypi_xmlrpc", "pypi_simple"]},
                                  {"journal_from": 10 ** 6}])
def test_pypi_feed_fallbacks(pypi_feed: Repo, feed: dict[str, Any]) -> None:
    """A server without the feed, a cursor older than the journal: every PyPI node is
    checked, said once; the results are still right."""
    data = pypi_feed
    data.sweep()
    data.world["feed"] = feed
    data.release("delta", "5.0")
    report = data.sweep()
    checked = rows(report)["pypi"]["checked"]
    assert sum(checked.values()) == 4 and "changed" not in checked
    notes = report.extra["incremental"]["notes"]
    assert len(notes) == 1 and notes[0].startswith("pypi: ") and "checking all 4 nodes" in \
        notes[0]
    assert data.remote.show(sharded_relpath("versions", "delta")) == {"new_version": "5.0"}


@pytest.mark.parametrize("content", [b"{not json", b'{"new_version": 7}', b"[]", None])
def test_unusable_versions_file_is_checked(data: Repo, content: bytes | None) -> None:
    """A versions file that is no upstream answer (garbage, invalid, a symlink) never lets
    its node be skipped."""
    data.sweep()

    def change(path: Path) -> None:
        rel = path / sharded_relpath("versions", "alpha")
        rel.unlink()
        if content is None:
            rel.symlink_to("../../../../../../graph.json")
        else:
            rel.write_bytes(content)

    data.edit("a broken result", change)
    report = data.sweep()
    assert rows(report)["pypi"]["checked"] == {"error": 1} and data.pypi_asked() == {"alpha"}


def test_full_every_setting_from_vbot_toml(data: Repo) -> None:
    data.sweep()
    data.edit("recheck everything every day", lambda p: (p / "vbot.toml").write_text(
        FAST_HTTP + "[sweep]\nfull_every = 1\n"))
    report = data.sweep()  # settings of the checks unchanged: the net decides, every node
    assert rows(report)["pypi"]["checked"] == {"safety net": 4}
    assert report.extra["incremental"]["net"]["full_every"] == 1


def test_incremental_with_the_process_executor(pypi_feed: Repo) -> None:
    """The coordinator decides what to check and keeps the cursor; the workers check."""
    from vbot.run.executors import ExecutorSpec

    data = pypi_feed
    spec = ExecutorSpec("process", processes=2)
    data.sweep(executor=spec)
    data.release("beta", "7.0")
    report = data.sweep(executor=spec)
    assert rows(report)["pypi"]["checked"] == {"changed": 1}
    assert report.extra["executor"]["kind"] == "process" and report.extra["executor"]["chunks"]
    assert data.remote.show(sharded_relpath("versions", "beta")) == {"new_version": "7.0"}
    assert data.cursor()["pending"] == []
