"""jsonschema's acceptance of graph.json is remembered by exact bytes (vbot/verdicts.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from vbot import schema
from vbot.datarepo import DataRepo
from vbot.errors import VbotError
from vbot.verdicts import KEEP, VerdictCache

GRAPH = {"directed": True, "multigraph": False, "graph": {},
         "nodes": [{"id": "a", "version": "1.0"}, {"id": "b", "version": "2.0"}],
         "links": [{"source": "a", "target": "b"}]}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every time jsonschema is asked about a graph document."""
    seen: list[str] = []
    real = schema.problems

    def counting(name: str, doc: object, prefix: str = "") -> list[str]:
        seen.append(name)
        return real(name, doc, prefix)

    monkeypatch.setattr(schema, "problems", counting)
    return seen


def _write(root: Path, doc: object) -> bytes:
    data = (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode()
    (root / "graph.json").write_bytes(data)
    return data


def test_unchanged_bytes_are_validated_once(tmp_path: Path, calls: list[str]) -> None:
    repo_dir, cache = tmp_path / "repo", VerdictCache(tmp_path / "cache")
    repo_dir.mkdir()
    data = _write(repo_dir, GRAPH)
    assert not cache.known_valid("graph", data)
    first = DataRepo.open(repo_dir, cache)
    assert calls == ["graph"] and cache.known_valid("graph", data)
    again = DataRepo.open(repo_dir, cache)
    assert calls == ["graph"]  # the same bytes: jsonschema's verdict is kept
    assert sorted(again.graph.edges) == sorted(first.graph.edges) == [("a", "b")]
    DataRepo.open(repo_dir)  # without a cache: always validated
    assert calls == ["graph", "graph"]


def test_a_changed_byte_is_validated_again(tmp_path: Path, calls: list[str]) -> None:
    repo_dir, cache = tmp_path / "repo", VerdictCache(tmp_path / "cache")
    repo_dir.mkdir()
    _write(repo_dir, GRAPH)
    DataRepo.open(repo_dir, cache)
    bad = {**GRAPH, "nodes": [{"id": "", "version": "1.0"}, *GRAPH["nodes"][1:]]}
    data = _write(repo_dir, bad)
    with pytest.raises(VbotError, match="not node-link graph data"):
        DataRepo.open(repo_dir, cache)
    assert calls == ["graph", "graph"]
    assert not cache.known_valid("graph", data)  # a refusal is never remembered
    with pytest.raises(VbotError, match="not node-link graph data"):
        DataRepo.open(repo_dir, cache)
    assert calls == ["graph", "graph", "graph"]


def test_a_changed_schema_validates_again(tmp_path: Path, calls: list[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    repo_dir, cache = tmp_path / "repo", VerdictCache(tmp_path / "cache")
    repo_dir.mkdir()
    data = _write(repo_dir, GRAPH)
    DataRepo.open(repo_dir, cache)
    assert cache.known_valid("graph", data)
    edited = tmp_path / "schemas"
    shutil.copytree(schema.schema_dir(), edited)
    path = edited / "graph.schema.json"
    doc = json.loads(path.read_text())
    doc["description"] = "edited"
    path.write_text(json.dumps(doc))
    monkeypatch.setattr(schema, "schema_dir", lambda: edited)
    assert not cache.known_valid("graph", data)
    DataRepo.open(repo_dir, cache)
    assert calls == ["graph", "graph"]


def test_only_the_newest_verdicts_are_kept(tmp_path: Path) -> None:
    cache = VerdictCache(tmp_path / "cache")
    for i in range(KEEP + 5):
        cache.remember_valid("graph", f"doc {i}".encode())
    assert len(list(cache.folder.iterdir())) == KEEP


def test_an_unwritable_cache_is_left_alone(tmp_path: Path, calls: list[str]) -> None:
    repo_dir = tmp_path / "repo"
    repo_dir.mkdir()
    _write(repo_dir, GRAPH)
    (tmp_path / "file").write_text("not a folder")
    cache = VerdictCache(tmp_path / "file")
    DataRepo.open(repo_dir, cache)
    DataRepo.open(repo_dir, cache)
    assert calls == ["graph", "graph"]
