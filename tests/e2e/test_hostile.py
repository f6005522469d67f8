"""Hostile data repos: unsafe names, escaping references, symlinks, broken documents, schemes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.helpers import make_cf_tree, node_attrs, write_json
from vbot.check.outcome import FOUND, INVALID, NOSOURCE
from vbot.commands.merge import MergeOptions, merge
from vbot.commands.sweep import SweepOptions, sweep
from vbot.errors import EXIT_USER
from vbot.main import main
from vbot.repo.paths import MAX_NAME_BYTES, sharded_relpath, unsafe_reason
from vbot.testing.fakeupstream import FakeUpstream

WORLD = {"pypi": {"good": {"versions": ["1.0", "2.0"]}, "other": {"versions": ["3.0"]}}}


def url(name: str) -> str:
    return f"https://pypi.example/packages/source/{name[0]}/{name}/{name}-1.0.tar.gz"


def run_sweep(tmp: Path, remote_url: str, fake: FakeUpstream, **kw):
    return sweep(SweepOptions(remote=remote_url, workdir=tmp / "work", progress=False,
                              env=fake.env(), **kw))


@pytest.mark.parametrize("name", ["..", ".hidden", "a/b", "a\\b", "x" * (MAX_NAME_BYTES + 1),
                                  "nul\x00", "tab\tname", "del\x7f", "up..", "", "sur\ud800"])
def test_unsafe_names(name: str) -> None:
    assert unsafe_reason(name)


@pytest.mark.parametrize("name", ["numpy", "r-base", "_libgcc_mutex", "ca-certificates",
                                  "x" * MAX_NAME_BYTES, "pkg.v2", "ünïcode"])
def test_safe_names(name: str) -> None:
    assert unsafe_reason(name) is None


def test_unsafe_names_and_escaping_references_are_reported_and_skipped(
        tmp_path: Path, make_remote) -> None:
    tree = make_cf_tree(tmp_path / "tree", {"good": node_attrs("good", url("good"), "1.0")})
    outside = tmp_path / "outside.json"
    write_json(outside, node_attrs("other", url("other"), "1.0"))
    graph = json.loads((tree / "graph.json").read_text())
    graph["nodes"] += [
        {"id": "../../outside", "payload": {"__lazy_json__": "node_attrs/../../outside.json"}},
        {"id": "escape1", "payload": {"__lazy_json__": "../outside.json"}},
        {"id": "escape2", "payload": {"__lazy_json__": "node_attrs/../../outside.json"}},
        {"id": "escape3", "payload": {"__lazy_json__": "/abs/outside.json"}},
        {"id": ".git", "payload": {"__lazy_json__": "node_attrs/.git.json"}},
    ]
    write_json(tree / "graph.json", graph)
    remote = make_remote(tree)
    before = outside.read_bytes()
    with FakeUpstream(WORLD) as fake:
        report = run_sweep(tmp_path, remote.url, fake)
        assert fake.requests["/pypi/other/json"] == 0  # the outside document was never used
    got = {n: o.status for n, o in report.outcomes.items()}
    assert got["good"] == FOUND
    for key in ("'../../outside'", "escape1", "escape2", "escape3", "'.git'"):
        assert got[key] == INVALID, key
    assert len(got) == 6
    assert outside.read_bytes() == before
    assert all(f.startswith(("graph.json", "node_attrs/", "versions/")) for f in remote.files())
    assert [f for f in remote.files() if f.startswith("versions/")] == [
        sharded_relpath("versions", "good")]


def symlink_tree(tmp: Path) -> tuple[Path, Path]:
    tree = make_cf_tree(tmp / "tree", {n: node_attrs(n, url(n), "1.0")
                                       for n in ("good", "other", "linked")})
    victim = tmp / "victim.json"
    write_json(victim, {"new_version": "9.9"})
    # versions/…/other.json is a link to a file outside the repo; node_attrs of "linked" too
    link = tree / sharded_relpath("versions", "other")
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(victim, link)
    attrs = tree / sharded_relpath("node_attrs", "linked")
    attrs.unlink()
    os.symlink(tmp / "victim.json", attrs)
    return tree, victim


def test_symlinks_in_the_data_repo_are_never_followed(tmp_path: Path, make_remote) -> None:
    tree, victim = symlink_tree(tmp_path)
    remote = make_remote(tree)
    assert remote.repo.git.ls_tree("main", sharded_relpath("versions", "other")).startswith(
        "120000")  # really a symlink in git
    with FakeUpstream(WORLD) as fake:
        report = run_sweep(tmp_path, remote.url, fake)
    assert report.outcomes["good"].status == FOUND
    assert report.outcomes["other"].status == INVALID
    assert "refusing path" in (report.outcomes["other"].reason or "")
    assert report.outcomes["linked"].status == INVALID
    assert json.loads(victim.read_text()) == {"new_version": "9.9"}  # untouched

    # merge does not read through the link either
    result = merge(MergeOptions(remote=remote.url, workdir=tmp_path / "m", progress=False))
    assert any("other" in p for p in result.listed.get("invalid", []))
    assert not any(f.endswith("/other.json") for f in remote.files()
                   if f.startswith("version_pr_info/"))
    assert json.loads(victim.read_text()) == {"new_version": "9.9"}


def test_a_symlinked_versions_folder_is_not_written_through(tmp_path: Path, make_remote) -> None:
    tree = make_cf_tree(tmp_path / "tree", {"good": node_attrs("good", url("good"), "1.0")})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, tree / "versions")
    remote = make_remote(tree)
    with FakeUpstream(WORLD) as fake:
        report = run_sweep(tmp_path, remote.url, fake)
    assert report.outcomes["good"].status == INVALID
    assert list(elsewhere.iterdir()) == []


def test_one_broken_document_affects_only_its_node(tmp_path: Path, make_remote) -> None:
    nodes = {n: node_attrs(n, url(n), "1.0") for n in ("good", "other")}
    nodes["weird"] = {"meta_yaml": ["not", "a", "dict"], "url": {"a": 1}, "version": {"x": 1},
                      "conda-forge.yml": {"bot": {"version_updates": {"sources": [1, None],
                                                                      "exclude": "nope"}}}}
    tree = make_cf_tree(tmp_path / "tree", {**nodes, "listdoc": {}, "truncated": {}})
    (tree / sharded_relpath("node_attrs", "listdoc")).write_text("[1, 2, 3]\n")
    (tree / sharded_relpath("node_attrs", "truncated")).write_text('{\n  "version": "1.0",\n  "u')
    remote = make_remote(tree)
    with FakeUpstream(WORLD) as fake:
        report = run_sweep(tmp_path, remote.url, fake)
    got = report.outcomes
    assert got["good"].status == FOUND and got["other"].status == FOUND
    assert got["weird"].status == NOSOURCE
    assert got["listdoc"].status == INVALID and "not a JSON object" in got["listdoc"].reason
    assert got["truncated"].status == INVALID
    assert "line 3 column" in got["truncated"].reason  # names the position
    assert sharded_relpath("node_attrs", "truncated").split("/")[0] in got["truncated"].reason


def test_non_http_recipe_urls_are_refused(tmp_path: Path, make_remote) -> None:
    nodes = {
        "good": node_attrs("good", url("good"), "1.0"),
        "file": node_attrs("file", "file:///etc/passwd", "1.0"),
        "ftp": node_attrs("ftp", "ftp://pypi.example/packages/source/f/ftp/ftp-1.0.tar.gz", "1.0"),
        "gopher": node_attrs("gopher", "gopher://github.com/o/r/archive/v1.0.tar.gz", "1.0"),
    }
    remote = make_remote(make_cf_tree(tmp_path / "tree", nodes))
    with FakeUpstream(WORLD) as fake:
        report = run_sweep(tmp_path, remote.url, fake)
        paths = set(fake.requests)
    assert report.outcomes["good"].status == FOUND
    for name in ("file", "ftp", "gopher"):
        assert report.outcomes[name].status == NOSOURCE, name
    assert paths == {"/pypi/good/json"}


@pytest.mark.parametrize(("text", "words"), [
    ('{"nodes": [\n  {"id": "a"},\n  {"id": ', "graph.json: invalid JSON at line 3 column"),
    ('{"nodes": {"a": 1}}', "graph.json: not node-link graph data"),
    ('{"nodes": [{"id": "a"}, {"id": 5}]}', "nodes/1/id"),
    ("\ufeff\x00\x01", "graph.json"),
])
def test_malformed_graph_json_names_the_file_and_position(tmp_path: Path, make_remote, capsys,
                                                          text: str, words: str) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "graph.json").write_text(text)
    remote = make_remote(tree)
    code = main(["sweep", remote.url, "--workdir", str(tmp_path / "w"), "-q", "--no-push"])
    err = capsys.readouterr().err
    assert code == EXIT_USER
    assert words in err and err.count("\n") == 1


def test_lone_surrogates_in_documents_affect_only_their_node(tmp_path: Path,
                                                             make_remote) -> None:
    bad = "https://pypi.example/packages/source/s/sur\ud800/sur\ud800-1.0.tar.gz"
    nodes = {"good": node_attrs("good", url("good"), "1.0"),
             "sur": node_attrs("sur", bad, "1.0\udfff")}
    remote = make_remote(make_cf_tree(tmp_path / "tree", nodes))
    with FakeUpstream(WORLD) as fake:
        report = run_sweep(tmp_path, remote.url, fake, report=tmp_path / "r.json")
    assert report.outcomes["good"].status == FOUND
    # "internal": a source tripped over the document (vbot's failure: no file written for it)
    assert report.outcomes["sur"].status in ("bad", INVALID, NOSOURCE, "internal")
    if report.outcomes["sur"].status == "internal":
        assert sharded_relpath("versions", "sur") not in remote.files()
    json.loads((tmp_path / "r.json").read_text("utf-8"))
    for rel in remote.files():
        if rel.startswith("versions/"):
            remote.show(rel)
