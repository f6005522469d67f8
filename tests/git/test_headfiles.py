"""The versions folder read from git: the same answers and refusals as reading the files."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import git
import pytest

from vbot.check.outcome import FOUND, INVALID, Outcome
from vbot.commands.sweep import record
from vbot.errors import VbotError
from vbot.git.headfiles import HeadFiles, TreeReader
from vbot.repo.datarepo import DataRepo
from vbot.repo.paths import read_contained


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def _committed(root: Path, files: dict[str, str], links: dict[str, str] | None = None) -> Path:
    root.mkdir()
    doc = {"directed": True, "multigraph": False, "graph": {},
           "nodes": [{"id": "a", "version": "1.0"}, {"id": "b", "version": "1.0"}], "links": []}
    (root / "graph.json").write_text(json.dumps(doc))
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    for rel, target in (links or {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, root / rel)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init")
    return root


def test_reads_what_the_work_tree_holds(tmp_path: Path) -> None:
    root = _committed(tmp_path / "repo", {"versions/a.json": '{"new_version": "1.2"}\n',
                                          "versions/x/b.json": '{"bad": "no"}'})
    head = HeadFiles.load(root, "versions")
    assert head is not None
    for rel in ("versions/a.json", "versions/x/b.json", "versions/none.json",
                "versions/x/../a.json"):
        assert head.read(rel) == read_contained(root, rel)
    assert head.read("versions/a.json") == b'{"new_version": "1.2"}\n'
    assert head.read("versions/none.json") is None


@pytest.mark.parametrize("rel", ["versions/a.json", "versions/x/b.json"])
def test_symlinks_are_refused_like_files_are(tmp_path: Path, rel: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a.json").write_text('{"new_version": "secret"}')
    (outside / "b.json").write_text('{"new_version": "secret"}')
    root = _committed(tmp_path / "repo", {}, {"versions/a.json": str(outside / "a.json"),
                                              "versions/x": str(outside)})
    head = HeadFiles.load(root, "versions")
    assert head is not None
    with pytest.raises(VbotError, match="symbolic link"):
        head.read(rel)
    with pytest.raises(VbotError, match="refusing path"):  # outside, or through a link
        read_contained(root, rel)


def test_paths_outside_the_repo_are_refused(tmp_path: Path) -> None:
    root = _committed(tmp_path / "repo", {"versions/a.json": "{}"})
    head = HeadFiles.load(root, "versions")
    assert head is not None
    for rel in ("../x.json", "versions/../../x.json", "/etc/passwd"):
        with pytest.raises(VbotError, match="outside the data repo"):
            head.read(rel)


def test_a_work_tree_that_differs_from_head_is_read_from_files(tmp_path: Path) -> None:
    root = _committed(tmp_path / "repo", {"versions/a.json": '{"new_version": "1.2"}'})
    assert HeadFiles.load(root, "versions") is not None
    (root / "versions" / "a.json").write_text('{"new_version": "1.3"}')
    assert HeadFiles.load(root, "versions") is None
    assert HeadFiles.load(tmp_path, "versions") is None  # not a git repo at all


def test_record_from_head_writes_and_refuses_as_from_files(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "b.json").write_text('{"new_version": "0.1"}')
    root = _committed(tmp_path / "repo", {"versions/a.json": '{"new_version": "1.1"}'},
                      {"versions/b.json": str(outside / "b.json")})
    repo = DataRepo.open(root)
    head = HeadFiles.load(root, "versions")
    assert head is not None
    assert record(repo, Outcome("a", FOUND, version="1.1"), head=head)[1] == "unchanged"
    assert record(repo, Outcome("a", FOUND, version="1.2"), head=head)[1] == "written"
    assert (root / "versions" / "a.json").read_text() == '{"new_version": "1.2"}'
    outcome, result = record(repo, Outcome("b", FOUND, version="1.2"), head=head)
    assert (outcome.status, result) == (INVALID, "skipped")
    assert (outside / "b.json").read_text() == '{"new_version": "0.1"}'


def test_the_read_ahead_gives_each_file_in_or_out_of_order(tmp_path: Path) -> None:
    """Files read in the announced order, skipped over, asked again, never announced, or
    holding the same bytes: each read gives the file's own bytes."""
    texts = {f"node_attrs/{n}.json": f'{{"name": "{n}"}}' for n in "abcdef"}
    texts["node_attrs/twin.json"] = texts["node_attrs/a.json"]
    root = _committed(tmp_path / "repo", texts)
    reader = TreeReader(root, git.Repo(root))
    reader.prefetch(["node_attrs/a.json", "node_attrs/nothing.json", "node_attrs/b.json",
                     "node_attrs/twin.json", "node_attrs/c.json", "node_attrs/d.json"])
    for rel in ("node_attrs/a.json", "node_attrs/c.json", "node_attrs/b.json",
                "node_attrs/twin.json", "node_attrs/f.json", "node_attrs/d.json",
                "node_attrs/a.json"):
        assert reader(rel) == texts[rel].encode(), rel
    assert reader("node_attrs/nothing.json") is None
    reader.close()
    assert reader("node_attrs/e.json") == texts["node_attrs/e.json"].encode()
