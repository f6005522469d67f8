"""Issue 2 behaviours: CLI errors, schema-valid files, token scoping, rollback by git revert."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest

from tests.helpers import SMOKE_NODES, SMOKE_WORLD, make_cf_tree, node_attrs, point_env_at
from vbot.commands.merge import MergeOptions, merge
from vbot.commands.sweep import SweepOptions, sweep
from vbot.errors import VbotError
from vbot.main import main
from vbot.repo import schema
from vbot.repo.paths import sharded_relpath


@pytest.fixture
def world(fake, monkeypatch):
    fake.set_world(SMOKE_WORLD)
    point_env_at(fake, monkeypatch)
    return fake


def test_missing_repo_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    code = main(["sweep", str(tmp_path / "nope"), "--workdir", str(tmp_path / "w"), "-q"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "repository not found" in err


def test_unreachable_url_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    code = main(["sweep", "http://127.0.0.1:9/x.git", "--workdir", str(tmp_path / "w"), "-q"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("vbot: error: cannot clone") and err.count("\n") == 1


def test_malformed_graph_names_file_and_position(tmp_path: Path, make_remote, capsys) -> None:
    tree = make_cf_tree(tmp_path / "tree", {"a": node_attrs("a", "https://x.example/a.tgz", "1")})
    (tree / "graph.json").write_text('{"nodes": [\n  {"id": "a",}\n]}\n')
    remote = make_remote(tree)
    code = main(["sweep", remote.url, "--workdir", str(tmp_path / "w"), "-q"])
    err = capsys.readouterr().err
    assert code == 1
    assert "graph.json: invalid JSON at line 2 column" in err


def test_not_a_graph_is_refused(tmp_path: Path, make_remote, capsys) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "graph.json").write_text(json.dumps({"nodes": "everything"}))
    code = main(["merge", make_remote(tree).url, "--workdir", str(tmp_path / "w"), "-q"])
    assert code == 1 and "graph.json: not node-link graph data" in capsys.readouterr().err


def test_files_are_schema_valid_at_sharded_paths(tmp_path: Path, make_remote, world) -> None:
    remote = make_remote(make_cf_tree(tmp_path / "tree", SMOKE_NODES))
    sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "w", progress=False))
    written = [f for f in remote.files() if f.startswith("versions/")]
    assert sorted(written) == sorted(sharded_relpath("versions", n)
                                     for n in ("requests", "attrs", "black", "bar"))
    for rel in written:
        text = remote.repo.git.show(f"main:{rel}") + "\n"
        doc = json.loads(text)
        assert schema.is_valid("versions", doc)
        assert text == json.dumps(doc, sort_keys=True, indent=2) + "\n"


def test_pypi_without_url_stops_naming_the_setting(tmp_path, make_remote, world, monkeypatch):
    monkeypatch.delenv("VBOT_PYPI_URL")
    remote = make_remote(make_cf_tree(tmp_path / "tree", {"requests": SMOKE_NODES["requests"]}))
    with pytest.raises(VbotError, match=r"^pypi is not configured \(set VBOT_PYPI_URL "):
        sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "w", progress=False))
    assert len(remote.commits()) == 1  # nothing committed (more: tests/check/test_preflight.py)


def test_token_goes_only_to_the_github_api(tmp_path, make_remote, world, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_" + "s3cr3t" * 6)
    remote = make_remote(make_cf_tree(tmp_path / "tree", SMOKE_NODES))
    sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "w", progress=False))
    seen = {(h["path"].split("/")[1], "Authorization" in h) for h in world.headers_seen}
    assert ("github", True) in seen
    assert ("pypi", True) not in seen and ("pypi", False) in seen


def test_cli_report_and_commit_message(tmp_path, make_remote, world, capsys) -> None:
    remote = make_remote(make_cf_tree(tmp_path / "tree", SMOKE_NODES))
    out_file = tmp_path / "report.json"
    code = main(["sweep", remote.url, "--workdir", str(tmp_path / "w"), "-q",
                 "--report", str(out_file)])
    assert code == 0
    report = json.loads(out_file.read_text())
    assert report["counts"]["checked"] == 4 and report["counts"]["new"] == 4
    assert report["by_source"] == {"github": {"found": 2}, "pypi": {"found": 2}}
    head = remote.commits()[0].message.splitlines()[0]
    assert head == "vbot sweep: 4 checked, 4 new, 0 unchanged, 0 errors"
    assert "4 checked" in capsys.readouterr().out


def test_git_revert_restores_earlier_trees(tmp_path: Path, make_remote, world) -> None:
    remote = make_remote(make_cf_tree(tmp_path / "tree", SMOKE_NODES))
    initial = remote.tree_sha()
    sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "w", progress=False))
    after_sweep = remote.tree_sha()
    merge(MergeOptions(remote=remote.url, workdir=tmp_path / "w", progress=False))
    sweep_c, merge_c = remote.commits()[1], remote.commits()[0]
    clone = git.Repo.clone_from(remote.url, tmp_path / "maint")
    clone.git.revert("--no-edit", merge_c.hexsha)
    assert clone.head.commit.tree.hexsha == after_sweep
    clone.git.revert("--no-edit", sweep_c.hexsha)
    assert clone.head.commit.tree.hexsha == initial
    clone.git.push("origin", "HEAD:main")
    # a later sweep proceeds normally and writes the results again
    sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "w", progress=False))
    assert remote.tree_sha() == after_sweep


def test_other_tools_files_are_not_churned(tmp_path: Path, make_remote, world) -> None:
    tree = make_cf_tree(tmp_path / "tree", SMOKE_NODES)
    rel = sharded_relpath("versions", "requests")
    (tree / rel).parent.mkdir(parents=True, exist_ok=True)
    (tree / rel).write_text('{"new_version":"2.32.3"}')  # another tool's formatting
    remote = make_remote(tree)
    sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "w", progress=False))
    assert remote.repo.git.show(f"main:{rel}") == '{"new_version":"2.32.3"}'


def test_prerelease_and_yanked_skipped_and_tags_fallback(tmp_path, make_remote, world) -> None:
    remote = make_remote(make_cf_tree(tmp_path / "tree", SMOKE_NODES))
    report = sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "w", progress=False))
    # requests: 2.33.0 yanked, 2.34.0rc1 pre-release; bar: latest release is a pre-release -> tags
    assert report.outcomes["requests"].version == "2.32.3"
    assert report.outcomes["bar"].version == "1.1"
    assert any(p.endswith("/repos/foo/bar/tags") for p in world.requests)
