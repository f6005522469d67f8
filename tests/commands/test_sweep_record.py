"""sweep's record step: the versions file is compared after one no-follow read, and never
written through a symbolic link."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from vbot.check.outcome import FOUND, INVALID, Outcome
from vbot.commands.sweep import record
from vbot.errors import VbotError
from vbot.repo.datarepo import DataRepo
from vbot.repo.jsonio import Style
from vbot.repo.paths import contained_str, read_contained


def _repo(root: Path) -> DataRepo:
    root.mkdir()
    doc = {"directed": True, "multigraph": False, "graph": {},
           "nodes": [{"id": "a", "version": "1.0"}], "links": []}
    (root / "graph.json").write_text(json.dumps(doc))
    (root / "versions").mkdir()
    return DataRepo.open(root)


def _refused(got: tuple[Outcome, str], victim: Path, text: str) -> None:
    """The record step refused the path (a symlink) and left the file it points at alone."""
    outcome, result = got
    assert (outcome.status, result) == (INVALID, "skipped")
    assert (outcome.reason or "").startswith("refusing path")
    assert victim.read_text() == text


def test_equal_content_in_another_style_is_unchanged(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    path = tmp_path / "repo" / "versions" / "a.json"
    path.write_text('{"new_version": "1.2"}')  # one line, no final newline: still equal
    assert record(repo, Outcome("a", FOUND, version="1.2"))[1] == "unchanged"
    assert path.read_text() == '{"new_version": "1.2"}'


def test_a_changed_file_keeps_its_style(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    path = tmp_path / "repo" / "versions" / "a.json"
    path.write_text('{"new_version": "1.1"}')
    assert record(repo, Outcome("a", FOUND, version="1.2"))[1] == "written"
    assert path.read_text() == '{"new_version": "1.2"}'


def test_an_unparseable_file_is_rewritten_in_the_new_style(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    path = tmp_path / "repo" / "versions" / "a.json"
    path.write_text("{not json")
    got = record(repo, Outcome("a", FOUND, version="1.2"), new_style=Style(indent="    "))
    assert got[1] == "written"
    assert path.read_text() == '{\n    "new_version": "1.2"\n}\n'


def test_a_symlinked_versions_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    victim = tmp_path / "victim.json"
    victim.write_text('{"new_version": "1.2"}')
    os.symlink(victim, tmp_path / "repo" / "versions" / "a.json")
    _refused(record(repo, Outcome("a", FOUND, version="1.2")), victim, '{"new_version": "1.2"}')


def test_a_folder_swapped_for_a_symlink_is_refused_in_the_same_process(tmp_path: Path) -> None:
    """Nothing about the file system is remembered between calls: a folder that was a real
    folder when a path was accepted, then became a symlink to the outside, is refused."""
    root = tmp_path / "repo"
    (root / "versions" / "x").mkdir(parents=True)
    (root / "versions" / "x" / "a.json").write_text('{"new_version": "1.0"}')
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a.json").write_text('{"new_version": "secret"}')
    assert contained_str(root, "versions/x/a.json") == str(root / "versions/x/a.json")
    assert read_contained(root, "versions/x/a.json") == b'{"new_version": "1.0"}'
    shutil.rmtree(root / "versions" / "x")
    os.symlink(outside, root / "versions" / "x")
    with pytest.raises(VbotError, match="refusing path"):
        contained_str(root, "versions/x/a.json")
    with pytest.raises(VbotError, match="refusing path"):
        read_contained(root, "versions/x/a.json")
