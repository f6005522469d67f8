"""A workspace whose sparse checkout holds the root files only: the node documents, versions/
and version_pr_info/ are read from git; the files a run changes are written into the work
tree and committed from the list of files written.

The remote's files are in conda-forge's bot's style (1-space indent, no final newline), so a
file written in the wrong style, or a file read as missing, shows in what is pushed.
"""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers import WORLD1, cf_tree, point_env_at, world2
from vbot.commands.merge import MergeOptions, merge
from vbot.commands.revert import RevertOptions, revert
from vbot.commands.sweep import SweepOptions, sweep
from vbot.errors import VbotError
from vbot.git.workspace import Workspace
from vbot.repo.datarepo import DataRepo, NodeDocError
from vbot.repo.paths import sharded_relpath

BOT_STYLE = {"indent": 1, "sort_keys": True}  # conda-forge's bot: no final newline


def _bot_json(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, **BOT_STYLE))


def _versions(name: str) -> str:
    return sharded_relpath("versions", name)


def _pr_info(name: str) -> str:
    return sharded_relpath("version_pr_info", name)


def _remote(tmp_path: Path, make_remote):
    """The 6-node scenario with results already there: requests and flaky have versions
    files, requests a version_pr_info file."""
    tree = cf_tree(tmp_path / "tree")
    _bot_json(tree / _versions("requests"), {"new_version": "2.31.0"})
    _bot_json(tree / _versions("flaky"), {"new_version": "1.1"})
    _bot_json(tree / _pr_info("requests"), {"new_version": "2.31.0", "pr": 7})
    return make_remote(tree)


@pytest.fixture
def served(tmp_path: Path, make_remote, fake, monkeypatch):
    """The scenario's remote (:func:`_remote`), its upstreams answering ``WORLD1``."""
    remote = _remote(tmp_path, make_remote)
    fake.set_world(WORLD1)
    point_env_at(fake, monkeypatch)
    return remote


def _text(remote, rel: str) -> str:
    return remote.repo.git.show(f"main:{rel}", strip_newline_in_stdout=False)


def _packs(path: Path) -> int:
    return len(list((path / ".git" / "objects" / "pack").glob("*.pack")))


def test_a_fresh_workspace_checks_out_the_root_files_only(tmp_path: Path,
                                                           make_remote) -> None:
    remote = _remote(tmp_path, make_remote)
    with Workspace.open(remote.url, tmp_path / "w") as ws:
        assert ws.sparse == ()
        assert (ws.path / "graph.json").is_file() and not (ws.path / "node_attrs").exists()
        assert not (ws.path / "versions").exists()
        assert not (ws.path / "version_pr_info").exists()
        packs = _packs(ws.path)
        head = ws.head_files("versions")
        assert head is not None
        # the partial clone lacked the blobs: fetched in ONE batch, not one per file
        assert _packs(ws.path) == packs + 1
        assert head.read(_versions("flaky")) == b'{\n "new_version": "1.1"\n}'
        assert head.listing() == sorted([_versions("requests"), _versions("flaky")],
                                        key=lambda r: r.split("/"))
        assert head.style().indent == " " and not head.style().newline
        assert ws.head_files("versions") is not None and _packs(ws.path) == packs + 1
        # nothing was checked out by reading
        assert not (ws.path / "versions").exists()


def test_fresh_sweep_writes_in_the_existing_style_and_keeps_a_good_file(
        tmp_path: Path, make_remote, fake, monkeypatch) -> None:
    remote = _remote(tmp_path, make_remote)
    fake.set_world(world2())  # flaky's upstream answers 503: transient
    point_env_at(fake, monkeypatch)
    report = sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "w", progress=False))
    assert report.extra["pushed"]
    # committed from memory: nothing was written into the work tree, not even the cursor
    assert sorted(p.name for p in (tmp_path / "w").iterdir()) == [".git", "graph.json",
                                                                  "vbot.toml"]
    # and the index is HEAD's: nothing staged, nothing shown as deleted
    assert subprocess.run(["git", "status", "--porcelain"], cwd=tmp_path / "w",
                          capture_output=True, text=True, check=True).stdout == ""
    # a changed file keeps its style, a new one takes the folder's
    assert _text(remote, _versions("requests")) == '{\n "new_version": "2.33.0"\n}'
    assert _text(remote, _versions("attrs")) == '{\n "new_version": "24.2.0"\n}'
    assert _text(remote, _versions("black")) == '{\n "new_version": "25.1.0"\n}'
    # the transient failure kept the earlier valid file (read from git, not the work tree)
    assert report.outcomes["flaky"].status == "transient"
    assert _text(remote, _versions("flaky")) == '{\n "new_version": "1.1"\n}'
    changed = remote.repo.git.show("--name-only", "--format=", "main").split()
    assert _versions("flaky") not in changed and _versions("requests") in changed
    # the workspace's sparse checkout is untouched by the run
    with Workspace.open(remote.url, tmp_path / "w") as ws:
        assert ws.sparse == ()
        assert not (ws.path / "versions").exists() and not (ws.path / "node_attrs").exists()
        assert ws.repo.git.status("--porcelain") == ""


def test_merge_in_a_fresh_narrow_workspace(tmp_path: Path, served) -> None:
    remote = served
    sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "sweeper", progress=False))
    result = merge(MergeOptions(remote=remote.url, workdir=tmp_path / "merger", progress=False,
                                full=True))
    assert result.changed == 4 and not result.listed.get("invalid")
    # the existing file keeps its style and its other keys; new ones take the folder's style
    assert _text(remote, _pr_info("requests")) == \
        '{\n "new_version": "2.32.3",\n "pr": 7\n}'
    assert _text(remote, _pr_info("attrs")) == '{\n "new_version": "24.2.0"\n}'
    assert _text(remote, _pr_info("flaky")) == '{\n "new_version": "1.2"\n}'
    # committed from memory: nothing was written into the workspace's work tree
    assert not (tmp_path / "merger" / "version_pr_info").exists()
    # incremental: a second merge in a fresh workspace finds nothing new to write
    again = merge(MergeOptions(remote=remote.url, workdir=tmp_path / "merger2",
                               progress=False))
    assert again.changed == 0 and again.report.extra["incremental"]["incremental"]


def test_revert_in_a_narrow_workspace(tmp_path: Path, served) -> None:
    remote = served
    before = remote.tree_sha()
    work = tmp_path / "w"
    swept = sweep(SweepOptions(remote=remote.url, workdir=work, progress=False))
    merged = merge(MergeOptions(remote=remote.url, workdir=work, progress=False))
    assert merged.changed
    # a fresh workspace, and the one that made the commits
    revert(RevertOptions((merged.report.run_id,), remote.url, tmp_path / "rw"), io.StringIO())
    assert _text(remote, _pr_info("requests")) == '{\n "new_version": "2.31.0",\n "pr": 7\n}'
    revert(RevertOptions((swept.run_id,), remote.url, work), io.StringIO())
    assert remote.tree_sha() == before
    for path in (work, tmp_path / "rw"):
        out = subprocess.run(["git", "sparse-checkout", "list"], cwd=path, capture_output=True,
                             text=True, check=True).stdout.split()
        assert out == []


def test_a_killed_runs_files_outside_the_cone_are_discarded(tmp_path: Path, served) -> None:
    remote = served
    work = tmp_path / "w"
    with Workspace.open(remote.url, work):
        pass
    # what a run killed before its commit leaves: a changed file at a tracked path the
    # sparse checkout hides, a new file, a temp file
    _bot_json(work / _versions("flaky"), {"new_version": "9.9"})
    _bot_json(work / _versions("stray"), {"new_version": "8.8"})
    (work / "version_pr_info" / ".x.json.1.2.tmp").parent.mkdir(parents=True)
    (work / "version_pr_info" / ".x.json.1.2.tmp").write_text("{")
    with Workspace.open(remote.url, work) as ws:
        assert not (work / _versions("flaky")).exists()
        assert not (work / _versions("stray")).exists()
        assert not list(work.rglob("*.tmp"))
        assert ws.repo.git.status("--porcelain", "--untracked-files=all") == ""
        head = ws.head_files("versions")
        assert head is not None and head.read(_versions("flaky")) == b'{\n "new_version": "1.1"\n}'
    report = sweep(SweepOptions(remote=remote.url, workdir=work, progress=False))
    assert report.extra["pushed"]
    assert _text(remote, _versions("flaky")) == '{\n "new_version": "1.2"\n}'
    assert _versions("stray") not in remote.files()


def test_a_full_checkout_still_reads_and_writes_the_files(tmp_path: Path, served) -> None:
    remote = served
    plain = tmp_path / "plain.toml"
    plain.write_text("[git]\nsparse = false\n")
    work = tmp_path / "w"
    sweep(SweepOptions(remote=remote.url, workdir=work, progress=False, config=plain))
    merge(MergeOptions(remote=remote.url, workdir=work, progress=False, config=plain))
    assert (work / "pr_info").exists() is False  # the scenario has none; the folders are here:
    assert (work / _versions("requests")).is_file() and (work / _pr_info("attrs")).is_file()
    assert _text(remote, _versions("requests")) == '{\n "new_version": "2.32.3"\n}'
    assert _text(remote, _pr_info("attrs")) == '{\n "new_version": "24.2.0"\n}'


def test_a_workspace_of_the_wider_sparse_set_is_narrowed(tmp_path: Path, make_remote) -> None:
    """A workdir an earlier vbot checked out with node_attrs/, versions/ and version_pr_info/
    (a CI cache), with a file a killed run changed there: the next open narrows it and
    discards the file."""
    remote = _remote(tmp_path, make_remote)
    work = tmp_path / "w"
    with Workspace.open(remote.url, work) as ws:
        ws.repo.git.sparse_checkout("set", "--cone", "node_attrs", "version_pr_info", "versions")
    assert (work / _versions("flaky")).is_file()
    _bot_json(work / _versions("flaky"), {"new_version": "9.9"})
    with Workspace.open(remote.url, work) as ws:
        assert ws.sparse == ()
        assert not (work / "versions").exists() and not (work / "version_pr_info").exists()
        assert not (work / "node_attrs").exists()
        assert ws.repo.git.status("--porcelain", "--untracked-files=all") == ""
        head = ws.head_files("versions")
        assert head is not None and head.read(_versions("flaky")) == b'{\n "new_version": "1.1"\n}'


def test_a_snapshot_of_some_paths_fetches_only_their_blobs(tmp_path: Path,
                                                           make_remote) -> None:
    remote = _remote(tmp_path, make_remote)
    with Workspace.open(remote.url, tmp_path / "w") as ws:
        head = ws.head_files("versions", [_versions("requests")])
        assert head is not None
        assert head.read(_versions("requests")) == b'{\n "new_version": "2.31.0"\n}'
        assert head.style().indent == " "  # the folder's first file, loaded for it
        assert len(head.blobs) <= 2
        missing = subprocess.run(["git", "rev-list", "--objects", "--missing=print",
                                  "HEAD:versions"], cwd=ws.path, capture_output=True,
                                 text=True, check=True).stdout.count("?")
        assert missing == 2 - len(head.blobs)


def test_blobs_that_cannot_be_fetched_stop_the_run(tmp_path: Path, make_remote) -> None:
    """Reading a folder the sparse checkout leaves out as empty would rewrite every file:
    when git cannot give its blobs, the run stops with one line instead."""
    remote = _remote(tmp_path, make_remote)
    with Workspace.open(remote.url, tmp_path / "w") as ws:
        remote.path.rename(remote.path.with_name("moved.git"))
        with pytest.raises(VbotError, match="cannot read versions/ from git"):
            ws.head_files("versions")


def test_node_documents_are_read_from_git_in_one_batch(tmp_path: Path, make_remote) -> None:
    """The reader a workspace gives DataRepo: the same documents as the checked-out files,
    the partial clone's missing blobs fetched in one batch, not one fetch per file."""
    tree = cf_tree(tmp_path / "tree")
    remote = make_remote(tree)
    with Workspace.open(remote.url, tmp_path / "w") as ws:
        reader = ws.reader()
        repo = DataRepo.open(ws.path, reader)
        names = repo.safe_names()[0]
        packs = _packs(ws.path)
        reader.prefetch(repo.node_doc_paths(names))
        assert _packs(ws.path) == packs + 1
        reader.prefetch(repo.node_doc_paths(names))  # nothing missing: no second fetch
        assert _packs(ws.path) == packs + 1
        on_disk = DataRepo.open(tree)
        assert names and all(repo.node_attrs(n) == on_disk.node_attrs(n) for n in names)
        assert _packs(ws.path) == packs + 1
        assert not (ws.path / "node_attrs").exists()
        assert reader("node_attrs/nothing-here.json") is None
        with pytest.raises(VbotError, match="outside the data repo"):
            reader("../tree/graph.json")


def test_a_node_document_symlinked_in_head_is_refused(tmp_path: Path, make_remote) -> None:
    """A commit that makes a node's document a symlink (to a file outside the repo) gets
    that node refused, as reading the checked-out file would; the others are read."""
    tree = cf_tree(tmp_path / "tree")
    outside = tmp_path / "secret.json"
    outside.write_text('{"url": "https://example.invalid/x"}')
    victim = DataRepo.open(tree).node_doc_relpath("requests")
    (tree / victim).unlink()
    (tree / victim).symlink_to(outside)
    remote = make_remote(tree)
    with Workspace.open(remote.url, tmp_path / "w") as ws:
        repo = DataRepo.open(ws.path, ws.reader())
        with pytest.raises(NodeDocError, match="symbolic link"):
            repo.node_attrs("requests")
        assert repo.node_attrs("attrs")["version"]


def test_hostile_references_read_nothing_from_outside(tmp_path: Path, make_remote) -> None:
    """A graph whose references name a folder HEAD lacks, or whose node_attrs folder is a
    symlink to the outside: the nodes are reported, nothing outside the repo is read."""
    tree = cf_tree(tmp_path / "tree")
    graph = json.loads((tree / "graph.json").read_text())
    graph["nodes"][0]["payload"]["__lazy_json__"] = "nowhere/x.json"
    (tree / "graph.json").write_text(json.dumps(graph))
    outside = tmp_path / "outside"
    (tree / "node_attrs").rename(outside)
    (tree / "node_attrs").symlink_to(outside)
    remote = make_remote(tree)
    with Workspace.open(remote.url, tmp_path / "w") as ws:
        repo = DataRepo.open(ws.path, ws.reader())
        first, *rest = repo.safe_names()[0]
        with pytest.raises(NodeDocError, match="nowhere/x.json is missing"):
            repo.node_attrs(first)
        for name in rest:
            with pytest.raises(NodeDocError, match="symbolic link"):
                repo.node_attrs(name)
