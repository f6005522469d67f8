"""Workspace.commit: one fast-import commit of every change under the pathspecs."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import write_json
from vbot.gitrepo import Workspace


def test_commit_new_modified_deleted_and_nothing(tmp_path: Path, make_remote) -> None:
    tree = tmp_path / "tree"
    write_json(tree / "graph.json", {"nodes": []})
    write_json(tree / "versions/a/old.json", {"new_version": "1.0"})
    write_json(tree / "versions/b/gone.json", {"new_version": "2.0"})
    write_json(tree / "other/keep.json", {"x": 1})
    remote = make_remote(tree)
    with Workspace.open(remote.url, tmp_path / "work") as ws:
        assert ws.commit(["versions"], "nothing\n") is None
        write_json(ws.path / "versions/a/old.json", {"new_version": "1.1"})
        (ws.path / "versions/b/gone.json").unlink()
        for i in range(50):
            write_json(ws.path / f"versions/{i % 7}/{i}/n{i}.json", {"new_version": f"{i}.0"})
        write_json(ws.path / "other/keep.json", {"x": 2})  # outside the pathspec
        sha = ws.commit(["versions"], "sweep results\n\nVbot-Run: test\n")
        assert sha and ws.repo.head.commit.hexsha == sha
        assert ws.repo.head.commit.message == "sweep results\n\nVbot-Run: test\n"
        assert ws.repo.head.commit.committer.name == "vbot"
        status = ws.repo.git.status("--porcelain")
        assert status.strip() == "M other/keep.json"  # the index matches the new commit
        ws.push()
    files = remote.files()
    assert "versions/b/gone.json" not in files
    assert sum(f.startswith("versions/") for f in files) == 51
    assert remote.show("versions/a/old.json") == {"new_version": "1.1"}
    assert remote.show("versions/3/10/n10.json") == {"new_version": "10.0"}
    assert remote.show("other/keep.json") == {"x": 1}
    assert len(remote.commits()) == 2
