"""sweep's record step: the versions file is compared after one no-follow read."""

from __future__ import annotations

import json
import os
from pathlib import Path

from vbot.commands.sweep import record
from vbot.datarepo import DataRepo
from vbot.jsonio import Style
from vbot.outcome import FOUND, INVALID, Outcome


def _repo(root: Path) -> DataRepo:
    root.mkdir()
    doc = {"directed": True, "multigraph": False, "graph": {},
           "nodes": [{"id": "a", "version": "1.0"}], "links": []}
    (root / "graph.json").write_text(json.dumps(doc))
    (root / "versions").mkdir()
    return DataRepo.open(root)


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
    outcome, result = record(repo, Outcome("a", FOUND, version="1.2"))
    assert (outcome.status, result) == (INVALID, "skipped")
    assert (outcome.reason or "").startswith("refusing path")
    assert victim.read_text() == '{"new_version": "1.2"}'
