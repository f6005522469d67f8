"""``vbot revert``: undo runs by run id; the tree returns exactly to the earlier state."""

from __future__ import annotations

import io
from pathlib import Path

import git
import pytest

from tests.helpers import WORLD1, new_scenario, world2
from vbot.commands.revert import RevertOptions, revert, split_args
from vbot.errors import VbotError
from vbot.main import main
from vbot.repo.paths import sharded_relpath


def _log(bare: Path) -> list[git.Commit]:
    return list(git.Repo(bare).iter_commits("main"))


def test_revert_merge_and_sweep_then_sweep_again(tmp_path: Path, make_remote, fake,
                                                 monkeypatch, capsys) -> None:
    s = new_scenario(tmp_path, make_remote)
    s.sweep(fake, monkeypatch, WORLD1)
    s.merge()
    sweep1, merge1 = s.runs
    t0, t1, t2 = s.trees
    assert len({t0, t1, t2}) == 3

    # both runs, given in any order: the merge is reverted first, one commit, pushed
    assert main(["revert", sweep1, merge1, s.url, "--workdir", str(tmp_path / "rw")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"reverting {merge1}") and out[1].startswith(f"reverting {sweep1}")
    assert out[2].endswith(", pushed")
    assert s.tree() == t0
    head = _log(s.bare)[0]
    assert head.message.startswith(f"vbot revert: {merge1}, {sweep1}\n")
    assert f"Vbot-Reverts: {merge1}\nVbot-Reverts: {sweep1}\n" in head.message
    assert "Vbot-Run: revert-" in head.message
    assert len(_log(s.bare)) == 4

    # a later sweep proceeds normally and writes the same results again
    report = s.sweep(fake, monkeypatch, WORLD1)
    assert report.counts()["new"] == 5 and report.extra["pushed"]
    assert s.tree() == t1
    s.merge()
    assert s.tree() == t2

    # reverting a run twice is refused; unknown ids too
    with pytest.raises(VbotError, match=f"already reverted: {sweep1}"):
        revert(RevertOptions((sweep1,), s.url, tmp_path / "rw"), io.StringIO())
    with pytest.raises(VbotError, match="no commit with Vbot-Run: sweep-20000101T000000Z-abc"):
        revert(RevertOptions(("sweep-20000101T000000Z-abc",), s.url, tmp_path / "rw"),
               io.StringIO())


def test_revert_one_sweep_of_several_from_a_clone(tmp_path: Path, make_remote, fake,
                                                  monkeypatch, capsys) -> None:
    s = new_scenario(tmp_path, make_remote)
    s.sweep(fake, monkeypatch, WORLD1)
    s.sweep(fake, monkeypatch, world2())
    sweep1, sweep2 = s.runs
    rel = sharded_relpath("versions", "requests")
    assert git.Repo(s.bare).git.show(f"main:{rel}").count("2.33.0") == 1

    clone = s.clone(tmp_path / "clone")
    monkeypatch.chdir(clone)  # REPO defaults to the clone's origin
    assert main(["revert", sweep2, "--workdir", str(tmp_path / "rw")]) == 0
    assert s.tree() == s.trees[1]
    assert "2.32.3" in git.Repo(s.bare).git.show(f"main:{rel}")

    # sweep1 wrote files that sweep2 changed again and the revert restored: reverting sweep1
    # now is fine (its changes are the current state) and gives the imported tree back
    assert main(["revert", sweep1, "--workdir", str(tmp_path / "rw"), "--no-push"]) == 0
    assert "(not pushed)" in capsys.readouterr().out
    assert s.tree() == s.trees[1]  # not pushed
    work = git.Repo(tmp_path / "rw")
    assert work.head.commit.tree.hexsha == s.trees[0]


def test_revert_conflict_names_the_file(tmp_path: Path, make_remote, fake, monkeypatch,
                                        capsys) -> None:
    s = new_scenario(tmp_path, make_remote)
    s.sweep(fake, monkeypatch, WORLD1)
    s.sweep(fake, monkeypatch, world2())
    before = s.tree()
    assert main(["revert", s.runs[0], s.url, "--workdir", str(tmp_path / "rw")]) == 1
    err = capsys.readouterr().err
    assert "cannot revert" in err and "changed again later" in err
    assert "revert the later runs too" in err
    assert s.tree() == before and len(_log(s.bare)) == 3
    # the workspace is left clean: the next command works
    assert main(["revert", s.runs[1], s.runs[0], s.url, "--workdir", str(tmp_path / "rw")]) == 0
    assert s.tree() == s.trees[0]


def test_split_args() -> None:
    rid = "merge-20261122T041500Z-3f9a1c"
    assert split_args([rid, "file:///x"]) == ((rid,), "file:///x")
    assert split_args(["/some/repo", rid, rid]) == ((rid,), "/some/repo")
    with pytest.raises(VbotError, match="not run ids"):
        split_args(["a", "b"])
    with pytest.raises(VbotError, match="at least one run id"):
        split_args(["file:///x"])


def test_reverting_a_sweep_whose_merge_stays_warns(tmp_path: Path, make_remote, fake,
                                                   monkeypatch, capsys) -> None:
    s = new_scenario(tmp_path, make_remote)
    s.sweep(fake, monkeypatch, WORLD1)
    s.merge()
    s.sweep(fake, monkeypatch, world2())
    sweep1, merge1, sweep2 = s.runs
    capsys.readouterr()
    # sweep2 has no merge after it: no warning
    assert main(["revert", sweep2, s.url, "--workdir", str(tmp_path / "rw")]) == 0
    assert "warning" not in capsys.readouterr().err
    # sweep1 was merged by merge1, which stays: the graph keeps what it set
    assert main(["revert", sweep1, s.url, "--workdir", str(tmp_path / "rw")]) == 0
    err = capsys.readouterr().err
    assert f"vbot: warning: {merge1} merged {sweep1}'s results and is still in place" in err
    assert f"vbot revert {merge1} {sweep1}" in err


def test_reverting_a_sweep_with_its_merge_does_not_warn(tmp_path: Path, make_remote, fake,
                                                        monkeypatch, capsys) -> None:
    s = new_scenario(tmp_path, make_remote)
    s.sweep(fake, monkeypatch, WORLD1)
    s.merge()
    sweep1, merge1 = s.runs
    capsys.readouterr()
    assert main(["revert", sweep1, merge1, s.url, "--workdir", str(tmp_path / "rw")]) == 0
    assert "warning" not in capsys.readouterr().err
