"""``vbot validate``: whole folders, named files and staged blobs, against schemas/."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest

from tests.helpers import make_cf_tree, make_inline_tree, node_attrs, write_json
from vbot.main import main
from vbot.repo.paths import sharded_relpath

URL = "https://pypi.example/packages/source/a/a/a-1.0.tar.gz"


def _repo(root: Path, layout: str = "cf") -> Path:
    nodes = {n: node_attrs(n, URL, "1.0") for n in ("alpha", "beta", "gamma")}
    (make_cf_tree if layout == "cf" else make_inline_tree)(root, nodes)
    write_json(root / sharded_relpath("versions", "alpha"), {"new_version": "1.1"})
    write_json(root / sharded_relpath("versions", "beta"), {"bad": "Upstream: pypi: HTTP 404"})
    write_json(root / "versions" / "gamma.json", {"new_version": None})
    if layout == "cf":
        write_json(root / sharded_relpath("version_pr_info", "alpha"),
                   {"new_version": "1.1", "new_version_attempts": {}})
    return root


def _problems(out: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in out.splitlines():
        path, _, message = line.partition(": ")
        found.setdefault(path, []).append(message)
    return found


def test_clean_repo_passes(tmp_path: Path, capsys, monkeypatch) -> None:
    root = _repo(tmp_path / "repo")
    assert main(["validate", str(root)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "5 files checked, ok" in captured.err
    monkeypatch.chdir(root)
    assert main(["validate"]) == 0


def test_every_problem_is_reported(tmp_path: Path, capsys, monkeypatch) -> None:
    root = _repo(tmp_path / "repo")
    alpha = sharded_relpath("versions", "alpha")
    (root / alpha).write_text('{"new_version": "1.1",}')  # broken JSON
    write_json(root / sharded_relpath("versions", "beta"), {"bad": "no prefix"})
    write_json(root / "versions" / "gamma.json", {"new_version": 3, "extra": 1})
    # correct content, wrong shard folder
    write_json(root / "versions/0/0/0/0/0/delta.json", {"new_version": "2"})
    write_json(root / "versions/sub/epsilon.json", {"new_version": "2"})
    write_json(root / sharded_relpath("version_pr_info", "alpha"), {"new_version": "-1 x"})
    monkeypatch.chdir(root)
    assert main(["validate"]) == 1
    found = _problems(capsys.readouterr().out)
    assert set(found) == {alpha, sharded_relpath("versions", "beta"), "versions/gamma.json",
                          "versions/0/0/0/0/0/delta.json", "versions/sub/epsilon.json",
                          sharded_relpath("version_pr_info", "alpha")}
    assert found[alpha] == ["invalid JSON at line 1 column 23: Expecting property name "
                            "enclosed in double quotes"]
    assert "does not match '^Upstream: '" in found[sharded_relpath("versions", "beta")][0]
    assert found["versions/0/0/0/0/0/delta.json"] == [
        "wrong shard folder: delta.json belongs in "
        f"{sharded_relpath('versions', 'delta').rsplit('/', 1)[0]}/"]
    assert found["versions/sub/epsilon.json"][0].startswith("unexpected location")
    assert found[sharded_relpath("version_pr_info", "alpha")][0].startswith("new_version: ")


def test_graph_and_inline_new_version(tmp_path: Path, capsys) -> None:
    root = _repo(tmp_path / "repo", layout="inline")
    graph = json.loads((root / "graph.json").read_text())
    graph["nodes"][0]["new_version"] = "1.2"
    graph["nodes"][1]["new_version"] = "not a version"
    graph["nodes"].append({"id": "alpha"})
    write_json(root / "graph.json", graph)
    assert main(["validate", str(root)]) == 1
    found = _problems(capsys.readouterr().out)
    assert list(found) == [f"{root.as_posix()}/graph.json"]
    messages = found[f"{root.as_posix()}/graph.json"]
    assert messages[0].startswith("nodes/1/new_version: 'not a version' does not match")
    assert messages[1] == "nodes/3/id: duplicate node id 'alpha'"
    write_json(root / "graph.json", {"nodes": [{"id": 5}]})
    assert main(["validate", str(root)]) == 1
    assert "graph.json: nodes/0/id: 5 is not of type 'string'" in capsys.readouterr().out


def test_named_files(tmp_path: Path, capsys, monkeypatch) -> None:
    root = _repo(tmp_path / "repo")
    bad = root / "versions" / "gamma.json"
    write_json(bad, {"new_version": ""})
    monkeypatch.chdir(root)
    good = sharded_relpath("versions", "alpha")
    (root / "README.md").write_text("not a data file: not checked\n")
    assert main(["validate", good, "README.md"]) == 0
    assert main(["validate", good, "versions/gamma.json"]) == 1
    assert capsys.readouterr().out.startswith("versions/gamma.json: ")
    monkeypatch.chdir(tmp_path)  # files outside the current folder: located by their folder
    assert main(["validate", str(bad)]) == 1
    assert capsys.readouterr().out.startswith(f"{bad.as_posix()}: new_version: ")


def test_staged_reads_the_index_only(tmp_path: Path, capsys, monkeypatch) -> None:
    root = _repo(tmp_path / "repo")
    repo = git.Repo.init(root, initial_branch="main")
    repo.git.add("-A")
    repo.git.commit("-qm", "import", "--author", "t <t@example.invalid>",
                    env={"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"})
    monkeypatch.chdir(root)
    # nothing staged: nothing checked, even though the working tree is broken
    (root / "versions" / "gamma.json").write_text("{oops")
    assert main(["validate", "--staged"]) == 0
    assert "0 staged files checked, ok" in capsys.readouterr().err
    # a staged bad blob fails even when the working tree copy was fixed afterwards
    repo.git.add("versions/gamma.json")
    write_json(root / "versions" / "gamma.json", {"new_version": None})
    assert main(["validate", "--staged"]) == 1
    assert capsys.readouterr().out.startswith("versions/gamma.json: invalid JSON")
    # staged good blob with a broken working tree copy passes
    repo.git.add("versions/gamma.json")
    (root / "versions" / "gamma.json").write_text("{oops")
    assert main(["validate", "--staged", str(root)]) == 0


def test_errors(tmp_path: Path, capsys) -> None:
    assert main(["validate", str(tmp_path)]) == 1
    assert "no graph.json" in capsys.readouterr().err
    assert main(["validate", "--staged", str(tmp_path)]) == 1
    assert "not inside a git clone" in capsys.readouterr().err


@pytest.mark.parametrize("count", [2000])
def test_many_files_share_verdicts(tmp_path: Path, capsys, count: int) -> None:
    root = _repo(tmp_path / "repo")
    for i in range(count):
        doc = {"new_version": None} if i % 3 else {"new_version": f"1.{i % 7}"}
        write_json(root / sharded_relpath("versions", f"n{i}"), doc)
    write_json(root / sharded_relpath("versions", "n5"), {"new_version": False})
    assert main(["validate", str(root)]) == 1
    out = capsys.readouterr()
    assert out.out.count("\n") == 1 and "/n5.json: " in out.out
    assert f"{count + 5} files checked, 1 problem" in out.err


def test_a_path_that_does_not_exist_is_an_error(tmp_path: Path, capsys, monkeypatch) -> None:
    """Issue 19 item 7: ``vbot validate grpah.json`` is not "0 files checked, ok"."""
    root = _repo(tmp_path / "repo")
    monkeypatch.chdir(root)
    assert main(["validate", "grpah.json"]) == 1
    captured = capsys.readouterr()
    assert captured.err == "vbot: error: grpah.json: no such file or folder\n"
    assert captured.out == ""
    good = sharded_relpath("versions", "alpha")
    assert main(["validate", good, "versions/nope.json"]) == 1
    assert "versions/nope.json: no such file or folder" in capsys.readouterr().err
    assert main(["validate", "graph.json"]) == 0


def test_vbot_toml_is_checked_as_a_sweep_would(tmp_path: Path, capsys, monkeypatch) -> None:
    root = _repo(tmp_path / "repo")
    (root / "vbot.toml").write_text("[sources.pypi]\nurl = 'https://pypi.mirror.example'\n")
    assert main(["validate", str(root)]) == 0
    assert "files checked, ok" in capsys.readouterr().err
    (root / "vbot.toml").write_text("[sourcs.pypi]\n[http]\nconect_timeout = 5\n")
    assert main(["validate", str(root)]) == 1
    assert _problems(capsys.readouterr().out)[f"{root.as_posix()}/vbot.toml"] == [
        "[sourcs] is not a vbot setting (did you mean [sources]?)",
        "[http] conect_timeout is not a vbot setting (did you mean [http] connect_timeout?)"]
    (root / "vbot.toml").write_text("[sources.pyip]\n")
    monkeypatch.chdir(root)
    assert main(["validate", "vbot.toml"]) == 1
    assert capsys.readouterr().out == (
        "vbot.toml: [sources.pyip] is not a source (did you mean [sources.pypi]?)\n")
    (root / "vbot.toml").write_text("[sources.pypi\n")
    assert main(["validate", "vbot.toml"]) == 1
    assert capsys.readouterr().out.startswith("vbot.toml: invalid TOML: ")
    # staged: the index's copy
    repo = git.Repo.init(root, initial_branch="main")
    (root / "vbot.toml").write_text("[git]\ndepth = 'x'\n")
    repo.git.add("vbot.toml")
    (root / "vbot.toml").write_text("[git]\ndepth = 1\n")
    assert main(["validate", "--staged"]) == 1
    assert capsys.readouterr().out == 'vbot.toml: [git] depth must be an integer, not "x"\n'
    repo.git.add("vbot.toml")
    assert main(["validate", "--staged"]) == 0
    assert "1 staged files checked, ok" in capsys.readouterr().err


def test_sweep_cursors_are_checked(tmp_path: Path, capsys) -> None:
    """``.vbot/sweep-cursor*.json`` (written by incremental sweeps) are checked against the
    cursor schema; a hand-edited cursor that a sweep would ignore is reported."""
    from vbot.repo.cursor import dumps_sweep

    root = _repo(tmp_path / "repo")
    good = dumps_sweep("a" * 40, {"pypi": {"serial": 7}}, ["beta"])
    (root / ".vbot").mkdir()
    (root / ".vbot" / "sweep-cursor.json").write_text(good)
    (root / ".vbot" / "sweep-cursor-1-of-2.json").write_text(good)
    assert main(["validate", str(root)]) == 0
    assert "7 files checked, ok" in capsys.readouterr().err
    write_json(root / ".vbot" / "sweep-cursor-1-of-2.json", {"base": 3, "sources": {}})
    assert main(["validate", str(root)]) == 1
    found = _problems(capsys.readouterr().out)
    assert list(found) == [f"{root.as_posix()}/.vbot/sweep-cursor-1-of-2.json"]
