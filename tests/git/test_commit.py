"""Workspace.commit: one fast-import commit of every change under the pathspecs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import write_json
from vbot.errors import VbotError
from vbot.git.commit import commit
from vbot.git.options import CloneOptions
from vbot.git.push import push
from vbot.git.workspace import Workspace

FULL_TREE = CloneOptions(sparse=False)


def test_commit_new_modified_deleted_and_nothing(tmp_path: Path, make_remote) -> None:
    tree = tmp_path / "tree"
    write_json(tree / "graph.json", {"nodes": []})
    write_json(tree / "versions/a/old.json", {"new_version": "1.0"})
    write_json(tree / "versions/b/gone.json", {"new_version": "2.0"})
    write_json(tree / "other/keep.json", {"x": 1})
    remote = make_remote(tree)
    # a full checkout: the sparse one holds no versions file to change or delete
    with Workspace.open(remote.url, tmp_path / "work", options=FULL_TREE) as ws:
        assert commit(ws, ["versions"], "nothing\n") is None
        write_json(ws.path / "versions/a/old.json", {"new_version": "1.1"})
        (ws.path / "versions/b/gone.json").unlink()
        for i in range(50):
            write_json(ws.path / f"versions/{i % 7}/{i}/n{i}.json", {"new_version": f"{i}.0"})
        write_json(ws.path / "other/keep.json", {"x": 2})  # outside the pathspec
        sha = commit(ws, ["versions"], "sweep results\n\nVbot-Run: test\n")
        assert sha and ws.repo.head.commit.hexsha == sha
        assert ws.repo.head.commit.message == "sweep results\n\nVbot-Run: test\n"
        assert ws.repo.head.commit.committer.name == "vbot"
        status = ws.repo.git.status("--porcelain")
        assert status.strip() == "M other/keep.json"  # the index matches the new commit
        push(ws)
    files = remote.files()
    assert "versions/b/gone.json" not in files
    assert sum(f.startswith("versions/") for f in files) == 51
    assert remote.show("versions/a/old.json") == {"new_version": "1.1"}
    assert remote.show("versions/3/10/n10.json") == {"new_version": "10.0"}
    assert remote.show("other/keep.json") == {"x": 1}
    assert len(remote.commits()) == 2


def test_commit_of_listed_paths_only(tmp_path: Path, make_remote) -> None:
    """With ``paths``: no ``git status``; exactly the listed files that differ from HEAD."""
    tree = tmp_path / "tree"
    write_json(tree / "graph.json", {"nodes": []})
    write_json(tree / "versions/a/old.json", {"new_version": "1.0"})
    write_json(tree / "versions/b/gone.json", {"new_version": "2.0"})
    write_json(tree / "versions/c/same.json", {"new_version": "3.0"})
    remote = make_remote(tree)
    with Workspace.open(remote.url, tmp_path / "work", options=FULL_TREE) as ws:
        # nothing changed: listed files identical to HEAD, a listed file that never existed
        write_json(ws.path / "versions/c/same.json", {"new_version": "3.0"})
        assert commit(ws, ["versions"], "nothing\n",
                         ["versions/c/same.json", "versions/d/never.json"]) is None
        assert commit(ws, ["versions"], "nothing\n", []) is None
        write_json(ws.path / "versions/a/old.json", {"new_version": "1.1"})
        (ws.path / "versions/b/gone.json").unlink()
        write_json(ws.path / "versions/e/new.json", {"new_version": "5.0"})
        write_json(ws.path / "versions/f/unlisted.json", {"new_version": "6.0"})  # not listed
        write_json(ws.path / "graph.json", {"nodes": [], "x": 1})  # listed, outside pathspecs
        listed = ["versions/a/old.json", "versions/b/gone.json", "versions/e/new.json",
                  "versions/c/same.json", "graph.json", "versions/e/new.json"]
        sha = commit(ws, ["versions"], "results\n\nVbot-Run: test\n", listed)
        assert sha and ws.repo.head.commit.hexsha == sha
        assert sorted(ws.changed_files()) == ["versions/a/old.json", "versions/b/gone.json",
                                              "versions/e/new.json"]
        # the index matches the new commit: only the unlisted and outside files show
        status = sorted(ws.repo.git.status("--porcelain", "--untracked-files=all").splitlines())
        assert status == [" M graph.json", "?? versions/f/unlisted.json"]
        push(ws)
    files = remote.files()
    assert "versions/b/gone.json" not in files and "versions/f/unlisted.json" not in files
    assert remote.show("versions/a/old.json") == {"new_version": "1.1"}
    assert remote.show("versions/e/new.json") == {"new_version": "5.0"}
    assert remote.show("graph.json") == {"nodes": []}
    assert len(remote.commits()) == 2


def test_commit_refuses_listed_paths_it_cannot_name(tmp_path: Path, make_remote) -> None:
    tree = tmp_path / "tree"
    write_json(tree / "versions/a.json", {"new_version": "1.0"})
    remote = make_remote(tree)
    with Workspace.open(remote.url, tmp_path / "work") as ws:
        for bad in ("versions/../graph.json", "versions/x\ny.json", "versions//a.json"):
            with pytest.raises(VbotError, match="cannot commit a file named"):
                commit(ws, ["versions"], "x\n", [bad])
        assert len(ws.repo.git.rev_list("HEAD").split()) == 1
