"""The fast file helpers of merge and load: same answers and refusals as the general ones."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from vbot.commands.merge import versions_relpaths
from vbot.errors import VbotError
from vbot.repo import jsonio
from vbot.repo.paths import contained, read_contained


def test_read_contained_reads_files_and_refuses_links(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "versions/a").mkdir(parents=True)
    (root / "versions/a/x.json").write_text('{"new_version": "1.0"}\n')
    (root / "versions/a/dir.json").mkdir()
    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    os.symlink(outside, root / "versions/a/out.json")
    os.symlink(root / "versions/a/x.json", root / "versions/a/in.json")
    os.symlink(root / "versions/a", root / "versions/linked")
    assert read_contained(root, "versions/a/x.json") == b'{"new_version": "1.0"}\n'
    assert read_contained(str(root), "versions/./a/x.json") == b'{"new_version": "1.0"}\n'
    assert read_contained(root, "versions/a/missing.json") is None
    assert read_contained(root, "versions/nowhere/missing.json") is None
    assert read_contained(root, "versions/a/x.json/under") is None  # a file as a folder
    assert read_contained(root, "versions/a/dir.json") is None  # not a regular file
    for rel, words in (("versions/a/out.json", "outside the data repo"),
                       ("versions/a/in.json", "symbolic link"),
                       ("versions/linked/x.json", "symbolic link"),
                       ("../outside.json", "outside the data repo"),
                       ("versions/../../outside.json", "outside the data repo")):
        with pytest.raises(VbotError, match=words):
            read_contained(root, rel)
        with pytest.raises(VbotError, match=words):
            contained(root, rel)  # the same refusal from the general check
    with pytest.raises(VbotError, match="outside the data repo"):
        contained(root, ".")


def test_read_contained_looks_at_every_folder_on_every_call(tmp_path: Path) -> None:
    """A folder swapped for a symlink between two reads is refused on the second one; a
    data repo reached through a symlink of its own is read."""
    root = tmp_path / "repo"
    (root / "versions/a").mkdir(parents=True)
    (root / "versions/a/x.json").write_text("{}")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere/x.json").write_text('{"moved": 1}')
    os.symlink(root, tmp_path / "alias")
    assert read_contained(tmp_path / "alias", "versions/a/x.json") == b"{}"
    assert read_contained(root, "versions/a/x.json") == b"{}"
    os.rename(root / "versions/a", tmp_path / "old-a")
    os.symlink(tmp_path / "elsewhere", root / "versions/a")
    with pytest.raises(VbotError, match="outside the data repo"):
        read_contained(root, "versions/a/x.json")
    os.unlink(root / "versions/a")
    os.symlink("../versions", root / "versions/a")  # inside the repo, still a link
    with pytest.raises(VbotError, match="symbolic link"):
        read_contained(root, "versions/a/a/x.json")
    os.mkfifo(root / "versions/fifo.json")
    assert read_contained(root, "versions/fifo.json") is None  # no blocking, no file


def test_versions_relpaths_lists_like_a_recursive_glob(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    for rel in ("versions/a/b/x.json", "versions/a-b/y.json", "versions/a/z.json",
                "versions/.hidden.json", "versions/a/notes.txt", "elsewhere/w.json"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("{}")
    (tmp_path / "ext").mkdir()
    (tmp_path / "ext/e.json").write_text("{}")
    os.symlink(tmp_path / "ext", root / "versions/linkdir")  # not entered
    os.symlink(tmp_path / "ext/e.json", root / "versions/link.json")  # listed: reader refuses
    got = versions_relpaths(root)
    want = sorted((p.relative_to(root).as_posix() for p in (root / "versions").rglob("*.json")
                   if p.is_file() and not p.name.startswith(".")),
                  key=lambda r: r.split("/"))
    assert got == want == ["versions/a/b/x.json", "versions/a/z.json", "versions/a-b/y.json",
                           "versions/link.json"]
    assert versions_relpaths(tmp_path / "none") == []


@pytest.mark.parametrize("doc", [
    {"new_version": "1.0"}, {"bad": "Upstream: pypi: \u00e9 \"quoted\"\n\ttab"},
    {"b": 1, "a": True, "c": None, "d": False, "e": 10**30}, {"new_version": None},
    {"x": 1.5}, {"nested": {"a": [1, 2]}}, {}, [], "text",
])
def test_dumps_is_the_canonical_json_text(doc: object, tmp_path: Path) -> None:
    assert jsonio.dumps(doc) == json.dumps(doc, sort_keys=True, indent=2,
                                           ensure_ascii=False) + "\n"
    path = tmp_path / "deep/er/doc.json"  # folders made on demand
    jsonio.atomic_write_text(path, jsonio.dumps(doc), fsync=False)
    assert json.loads(path.read_text("utf-8")) == doc
    assert [p.name for p in path.parent.iterdir()] == ["doc.json"]  # no temp file left
