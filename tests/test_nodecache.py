"""vbot/nodecache.py: a repeat sweep does not parse unchanged node documents again, and a
changed document (recipe URL, bot settings) is always read again."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import git
import pytest

import vbot.commands.sweep as sweep_module
from tests.conftest import make_cf_tree, node_attrs, point_env_at
from vbot.commands.sweep import SweepOptions, sweep
from vbot.datarepo import DataRepo
from vbot.git.workspace import Workspace
from vbot.names import sharded_relpath
from vbot.nodecache import DB_NAME, NodeInfoCache, decode, encode, git_blob_id, read_node
from vbot.nodeinfo import node_info

PY = "https://pypi.example/packages/source/{0}/{1}/{1}-{2}.tar.gz"
WORLD = {"pypi": {"alpha": {"versions": ["1.0", "1.1", "1.2"]},
                  "beta": {"versions": ["2.0", "2.1"]},
                  "gamma": {"versions": ["3.0", "3.5"]},
                  "delta": {"versions": ["0.1", "0.3"]}}}


def nodes() -> dict[str, dict]:
    return {name: node_attrs(name, PY.format(name[0], name, version), version)
            for name, version in (("alpha", "1.0"), ("beta", "2.0"), ("gamma", "3.0"))}


def push_change(remote_url: str, where: Path, rel: str, doc: dict) -> None:
    """A maintainer's commit to the remote: ``rel`` now holds ``doc``."""
    repo = git.Repo.clone_from(remote_url, where)
    (where / rel).write_text(json.dumps(doc, sort_keys=True, indent=2) + "\n")
    repo.index.add([rel])
    repo.index.commit(f"edit {rel}")
    repo.remote().push("HEAD:main")


def versions(remote, name: str) -> dict:
    return remote.show(sharded_relpath("versions", name))


def test_changed_documents_are_read_again(tmp_path: Path, make_remote, fake,
                                          monkeypatch) -> None:
    fake.set_world(WORLD)
    point_env_at(fake, monkeypatch)
    remote = make_remote(make_cf_tree(tmp_path / "tree", nodes()))
    opts = SweepOptions(remote=remote.url, workdir=tmp_path / "work", progress=False,
                        cache_dir=tmp_path / "cache")
    first = sweep(opts)
    assert first.extra["node_cache"] == {"hits": 0, "misses": 3}
    assert (tmp_path / "cache" / DB_NAME).is_file()
    assert versions(remote, "alpha") == {"new_version": "1.2"}
    assert versions(remote, "beta") == {"new_version": "2.1"}

    again = sweep(opts)  # nothing changed: every document is answered from the cache
    assert again.extra["node_cache"] == {"hits": 3, "misses": 0}
    assert again.counts()["unchanged"] == 3

    # alpha's recipe now points at another PyPI project; beta excludes its newest version;
    # gamma is set to be skipped by its bot settings
    alpha = node_attrs("alpha", PY.format("d", "delta", "0.1"), "0.1")
    beta = dict(nodes()["beta"], **{"conda-forge.yml": {
        "bot": {"version_updates": {"exclude": ["2.1"]}}}})
    gamma = dict(nodes()["gamma"], **{"conda-forge.yml": {
        "bot": {"version_updates": {"skip": True}}}})
    push_change(remote.url, tmp_path / "m1", sharded_relpath("node_attrs", "alpha"), alpha)
    push_change(remote.url, tmp_path / "m2", sharded_relpath("node_attrs", "beta"), beta)
    push_change(remote.url, tmp_path / "m3", sharded_relpath("node_attrs", "gamma"), gamma)

    third = sweep(opts)
    assert third.extra["node_cache"] == {"hits": 0, "misses": 3}
    assert versions(remote, "alpha") == {"new_version": "0.3"}  # delta's newest
    assert versions(remote, "beta") == {"new_version": "2.0"}  # 2.1 excluded
    assert third.counts()["skipped"] == 1  # gamma
    assert sweep(opts).extra["node_cache"] == {"hits": 3, "misses": 0}


def test_no_http_cache_means_no_node_cache(tmp_path: Path, make_remote, fake,
                                           monkeypatch) -> None:
    fake.set_world(WORLD)
    point_env_at(fake, monkeypatch)
    remote = make_remote(make_cf_tree(tmp_path / "tree", nodes()))
    report = sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "work", progress=False,
                                cache_dir=tmp_path / "cache", http_cache=False))
    assert "node_cache" not in report.extra
    assert not (tmp_path / "cache" / DB_NAME).exists()


def test_same_bytes_hit_other_bytes_miss(tmp_path: Path) -> None:
    tree = make_cf_tree(tmp_path / "tree", nodes())
    repo = DataRepo.open(tree)
    cache = NodeInfoCache(tmp_path / "cache")
    info = read_node(repo, "alpha", cache)
    assert info == node_info("alpha", repo.node_attrs("alpha"))
    cache.close()

    cache = NodeInfoCache(tmp_path / "cache")
    assert read_node(repo, "alpha", cache) == info
    assert cache.stats() == {"hits": 1, "misses": 0}
    # one byte more (a trailing space) is another document: read again
    path = tree / sharded_relpath("node_attrs", "alpha")
    path.write_bytes(path.read_bytes() + b" ")
    assert read_node(repo, "alpha", cache) == info
    assert cache.stats() == {"hits": 1, "misses": 1}
    # the same bytes under another node's name are not that node's
    assert cache.key("alpha", b"{}") != cache.key("beta", b"{}")


def test_roundtrip_keeps_every_field() -> None:
    raw = ("{% set version = \"1.0\" %}\npackage:\n  name: x\nsource:\n"
           "  url: https://pypi.example/packages/source/x/x/x-{{ version }}.tar.gz\n")
    attrs = node_attrs("x", "https://pypi.example/packages/source/x/x/x-1.0.tar.gz", "1.0",
                       raw_meta_yaml=raw, **{"conda-forge.yml": {"bot": {"version_updates": {
                           "exclude": ["2.0"], "sources": ["pypi"], "even_odd_versions": True,
                           "allowed_tag_globs": ["v*"], "nvidia": {"json_name": "x.json"}}}}})
    info = node_info("x", attrs)
    assert info.recipe is not None and info.controls.sources == ("pypi",)
    assert decode(encode(info)) == info
    assert decode(encode("archived")) == "archived"


def test_a_broken_cache_file_is_only_a_miss(tmp_path: Path) -> None:
    tree = make_cf_tree(tmp_path / "tree", nodes())
    repo = DataRepo.open(tree)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / DB_NAME).write_bytes(b"not a database" * 100)
    cache = NodeInfoCache(tmp_path / "cache")
    assert read_node(repo, "beta", cache) == node_info("beta", repo.node_attrs("beta"))
    cache.close()  # cannot write there either: no error

    good = NodeInfoCache(tmp_path / "good")
    key = good.key("beta", b"x")
    (tmp_path / "good").mkdir()
    db = sqlite3.connect(tmp_path / "good" / DB_NAME)
    db.execute("CREATE TABLE infos (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO infos VALUES (?, ?)", (key, '{"info": {"name": 1}}'))
    db.commit()
    db.close()
    assert good.get(key) is None  # junk in a row: a miss, never a wrong answer


@pytest.mark.parametrize("used", [10, 0])
def test_unused_entries_are_dropped_when_they_pile_up(tmp_path: Path, used: int) -> None:
    cache = NodeInfoCache(tmp_path)
    for i in range(2000):
        cache.put(cache.key(f"n{i}", b"{}"), "archived")
    cache.close()
    later = NodeInfoCache(tmp_path)
    for i in range(used):
        assert later.get(later.key(f"n{i}", b"{}")) == "archived"
    later.close()
    db = sqlite3.connect(tmp_path / DB_NAME)
    count = db.execute("SELECT COUNT(*) FROM infos").fetchone()[0]
    db.close()
    assert count == used


def test_a_repeat_sweep_opens_no_document_git_says_it_read_before(
        tmp_path: Path, make_remote, fake, monkeypatch) -> None:
    fake.set_world(WORLD)
    point_env_at(fake, monkeypatch)
    remote = make_remote(make_cf_tree(tmp_path / "tree", nodes()))
    opts = SweepOptions(remote=remote.url, workdir=tmp_path / "work", progress=False,
                        cache_dir=tmp_path / "cache")
    sweep(opts)  # reads every document, and remembers the blobs it read
    sweep(opts)  # the versions files are now tracked too: their blobs are remembered
    opened: list[str] = []
    real_doc, real_read = DataRepo.node_doc_bytes, sweep_module.read_contained

    def doc_bytes(self: DataRepo, name: str):  # type: ignore[no-untyped-def]
        opened.append(name)
        return real_doc(self, name)

    def read(root, rel):  # type: ignore[no-untyped-def]
        opened.append(rel)
        return real_read(root, rel)

    monkeypatch.setattr(DataRepo, "node_doc_bytes", doc_bytes)
    monkeypatch.setattr(sweep_module, "read_contained", read)
    again = sweep(opts)
    assert opened == []  # not one node document or versions file was opened
    assert again.extra["node_cache"] == {"hits": 3, "misses": 0}
    assert again.counts()["unchanged"] == 3 and again.extra["commit"] is None

    # a changed versions file or node document is a new blob: read again
    push_change(remote.url, tmp_path / "m", sharded_relpath("versions", "beta"),
                {"new_version": "2.0"})
    push_change(remote.url, tmp_path / "m2", sharded_relpath("node_attrs", "gamma"),
                node_attrs("gamma", PY.format("g", "gamma", "3.5"), "3.5"))  # merged
    third = sweep(opts)
    assert sorted(opened) == ["gamma", sharded_relpath("versions", "beta")]
    assert third.counts()["new"] == 1
    assert versions(remote, "beta") == {"new_version": "2.1"}


def test_tracked_lists_regular_checked_out_files_with_their_blob_ids(
        tmp_path: Path, make_remote) -> None:
    tree = make_cf_tree(tmp_path / "tree", nodes())
    (tree / "versions").mkdir(exist_ok=True)
    (tree / "versions" / "a.json").write_text('{"new_version": "1"}\n')
    (tree / "versions" / "link.json").symlink_to("a.json")
    remote = make_remote(tree)
    with Workspace.open(remote.url, tmp_path / "work") as ws:
        got = ws.tracked(["node_attrs", "versions"])
        hashed = git.Repo(ws.path).git.hash_object(str(ws.path / "versions" / "a.json"))
    assert got["versions/a.json"] == hashed
    assert git_blob_id(b'{"new_version": "1"}\n', hashed) == hashed
    assert "versions/link.json" not in got  # a symlink is never answered from the cache
    assert sharded_relpath("node_attrs", "alpha") in got
    assert not any(p.startswith("graph") for p in got)
