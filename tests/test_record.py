"""sweep's record step: the versions file is compared after one no-follow read (or with the
snapshot taken when the node documents were read)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from vbot.commands.sweep import node_infos, record
from vbot.datarepo import DataRepo
from vbot.jsonio import CANONICAL, Style, dumps_styled
from vbot.nodecache import git_blob_id
from vbot.outcome import FOUND, INVALID, Outcome
from vbot.report import RunReport


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


def test_a_snapshot_taken_with_the_node_documents_is_compared_and_taken_out(
        tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    path = tmp_path / "repo" / "versions" / "a.json"
    path.write_text('{"new_version": "1.1"}')
    before: dict[str, bytes | None] = {"a": b'{"new_version": "1.2"}'}
    # the snapshot, not the file, is what the answer is compared with
    assert record(repo, Outcome("a", FOUND, version="1.2"), before=before)[1] == "unchanged"
    assert before == {}
    assert path.read_text() == '{"new_version": "1.1"}'
    before = {"a": None}  # "no file" in the snapshot: written as a new file
    assert record(repo, Outcome("a", FOUND, version="1.3"), before=before)[1] == "written"
    assert json.loads(path.read_text()) == {"new_version": "1.3"}


def test_node_infos_snapshot_each_versions_file_except_refused_ones(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    url = "https://files.example/{n}-1.0.tar.gz"
    nodes = [{"id": n, "version": "1.0", "url": url.format(n=n)} for n in ("a", "b", "c")]
    (root / "graph.json").write_text(json.dumps({
        "directed": True, "multigraph": False, "graph": {}, "nodes": nodes, "links": []}))
    (root / "versions").mkdir()
    (root / "versions" / "a.json").write_text('{"new_version": "1.2"}')
    victim = tmp_path / "victim.json"
    victim.write_text('{"new_version": "9"}')
    os.symlink(victim, root / "versions" / "c.json")
    repo = DataRepo.open(root)
    before: dict[str, bytes | None] = {}
    report = RunReport("sweep", "t")
    infos = list(node_infos(repo, ["a", "b", "c"], report, before=before))
    assert [i.name for i in infos] == ["a", "b", "c"]
    assert before == {"a": b'{"new_version": "1.2"}', "b": None}  # c: left to record
    _refused(record(repo, Outcome("c", FOUND, version="9"), before=before), victim,
             '{"new_version": "9"}')


def test_a_checked_out_file_that_is_the_result_byte_for_byte_is_not_read(
        tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    path = tmp_path / "repo" / "versions" / "a.json"
    same = git_blob_id(dumps_styled({"new_version": "1.2"}, CANONICAL).encode(), "0" * 40)
    # git says the file is that blob: unchanged, without opening it (there is none here)
    tracked = {"versions/a.json": same}
    assert record(repo, Outcome("a", FOUND, version="1.2"), tracked=tracked)[1] == "unchanged"
    assert not path.exists()
    # another blob (another version, or the same one in another style): read and compared
    path.write_text('{"new_version": "1.2"}')
    other = {"versions/a.json": git_blob_id(path.read_bytes(), "0" * 40)}
    assert record(repo, Outcome("a", FOUND, version="1.2"), tracked=other)[1] == "unchanged"
    assert record(repo, Outcome("a", FOUND, version="1.3"), tracked=other)[1] == "written"
    assert json.loads(path.read_text()) == {"new_version": "1.3"}
