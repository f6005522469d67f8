"""``vbot merge`` over real conda-forge nodes: it merges as conda-forge's bot merges.

Three real nodes (tests/fixtures/realsample): rb-liquid and pynmeagps have a version_pr_info
``new_version`` (set by conda-forge's bot) higher than their versions file; lockfile-lint's
version_pr_info (1-space indent, no final newline) is one patch release behind.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import git

from tests.helpers import FIXTURES
from vbot.commands.merge import MergeOptions, merge, merged_value
from vbot.main import main
from vbot.repo import jsonio
from vbot.repo.paths import sharded_relpath

SAMPLE = FIXTURES / "realsample"


def _pr_info(name: str) -> str:
    return sharded_relpath("version_pr_info", name)


def _tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(SAMPLE, tree, ignore=shutil.ignore_patterns("README.md"))
    return tree


def test_merge_never_lowers_and_keeps_the_real_bots_style(tmp_path: Path, make_remote,
                                                          capsys) -> None:
    remote = make_remote(_tree(tmp_path))
    before = remote.commits()[0]
    assert main(["merge", remote.url, "--workdir", str(tmp_path / "w"), "-q"]) == 0
    out = capsys.readouterr().out
    assert "1 new_version updates, 2 unchanged" in out, out

    # no value lowered: the bot's 5.6.1 / 1.1.4 stay (versions say 5.6.0 / 1.0.44)
    assert remote.show(_pr_info("rb-liquid"))["new_version"] == "5.6.1"
    assert remote.show(_pr_info("pynmeagps"))["new_version"] == "1.1.4"
    assert remote.show(_pr_info("lockfile-lint"))["new_version"] == "4.14.1"

    # the merge commit touches one file, one line, in the file's own style
    head = remote.commits()[0]
    assert head.parents[0] == before
    assert sorted(head.stats.files) == [_pr_info("lockfile-lint")]
    diff = remote.repo.git.show("--format=", "main", "--", _pr_info("lockfile-lint"))
    changed = [line for line in diff.splitlines()
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed == ['- "new_version": "4.14.0",', '+ "new_version": "4.14.1",'], diff
    assert "No newline at end of file" in diff
    original = (SAMPLE / _pr_info("lockfile-lint")).read_text("utf-8")
    merged = remote.repo.git.show(f"main:{_pr_info('lockfile-lint')}",
                                  strip_newline_in_stdout=False)
    assert merged == original.replace('"4.14.0"', '"4.14.1"')


def test_merge_again_changes_nothing(tmp_path: Path, make_remote) -> None:
    remote = make_remote(_tree(tmp_path))
    merge(MergeOptions(remote=remote.url, workdir=tmp_path / "w", progress=False))
    tree = remote.tree_sha()
    again = merge(MergeOptions(remote=remote.url, workdir=tmp_path / "w", progress=False))
    # incremental: only what changed since the tree the last merge read (its own result)
    assert again.changed == 0 and again.unchanged == 1
    assert again.report.extra["incremental"]["incremental"] is True
    assert remote.tree_sha() == tree
    full = merge(MergeOptions(remote=remote.url, workdir=tmp_path / "w", progress=False,
                              full=True))
    assert full.changed == 0 and full.unchanged == 3
    assert remote.tree_sha() == tree


def test_new_version_pr_info_takes_the_folders_style(tmp_path: Path, make_remote) -> None:
    tree = _tree(tmp_path)
    (tree / _pr_info("rb-liquid")).unlink()  # rb-liquid has no version_pr_info yet
    remote = make_remote(tree)
    result = merge(MergeOptions(remote=remote.url, workdir=tmp_path / "w", progress=False))
    assert result.changed == 2
    text = remote.repo.git.show(f"main:{_pr_info('rb-liquid')}", strip_newline_in_stdout=False)
    assert json.loads(text) == {"new_version": "5.6.0"}
    # the first file of the folder (pynmeagps: 2-space indent, no final newline) sets the style
    sample = (SAMPLE / _pr_info("pynmeagps")).read_text("utf-8")
    assert jsonio.style_of(sample) == jsonio.Style(indent="  ", newline=False)
    assert text == '{\n  "new_version": "5.6.0"\n}'


def test_merged_value_rules() -> None:
    # the larger of found and the node's version, never below the existing new_version
    assert merged_value("5.6.0", "4.0.3", "5.6.1") == "5.6.1"
    assert merged_value("1.0.44", "1.0.54", "1.1.4") == "1.1.4"
    assert merged_value("1.0.44", "1.0.54", None) == "1.0.54"
    assert merged_value("4.14.1", "4.14.1", "4.14.0") == "4.14.1"
    # conda order with "-" read as ".": 1.2-3 is 1.2.3, above 1.2.2 and tied with 1.2.3
    assert merged_value("1.2.2", "1.0", "1.2-3") == "1.2-3"
    assert merged_value("1.2.4", "1.0", "1.2-3") == "1.2.4"
    assert merged_value("1.2.3", "1.0", "1.2-3") == "1.2-3"  # a tie keeps what is there
    # what conda-forge's bot leaves that is no version never wins
    assert merged_value("2.0", "1.0", False) == "2.0"
    assert merged_value("2.0", "1.0", "not a version!") == "2.0"


def test_style_round_trip() -> None:
    for text in ('{\n "a": 1,\n "b": {}\n}', '{\n  "a": [\n    1\n  ]\n}\n', '{"a": 1}',
                 '{\n\t"a": "\\u00e9"\n}\n', '{\n    "a": "é"\n}'):
        style = jsonio.style_of(text)
        assert jsonio.dumps_styled(json.loads(text), style) == text, text
    assert jsonio.style_of('{\n "a": 1\n}') == jsonio.Style(indent=" ", newline=False)
    # ASCII escapes only where a non-ASCII character is escaped (not "\\u", nor controls)
    assert jsonio.style_of('{"a": "\\u00e9"}').ascii
    assert not jsonio.style_of('{"a": "\\\\u00e9"}').ascii
    assert not jsonio.style_of('{"a": "\\u001f"}').ascii
    assert jsonio.dumps_styled({"b": 1, "a": 2}) == jsonio.dumps({"b": 1, "a": 2})


def test_inline_layout_never_lowers(tmp_path: Path, make_remote) -> None:
    from tests.helpers import make_inline_tree, write_json

    tree = make_inline_tree(tmp_path / "inline", {
        "a": {"version": "1.0", "new_version": "3.0"}, "b": {"version": "1.0"}})
    write_json(tree / "versions" / "a.json", {"new_version": "2.0"})
    write_json(tree / "versions" / "b.json", {"new_version": "2.0"})
    remote = make_remote(tree)
    merge(MergeOptions(remote=remote.url, workdir=tmp_path / "w", progress=False))
    nodes = {n["id"]: n for n in remote.show("graph.json")["nodes"]}
    assert nodes["a"]["new_version"] == "3.0"
    assert nodes["b"]["new_version"] == "2.0"
    clone = tmp_path / "clone"
    git.Repo.clone_from(remote.url, clone)
    assert main(["validate", str(clone)]) == 0


def _changed_lines(remote, rel: str) -> list[str]:
    diff = remote.repo.git.show("--format=", "main", "--", rel)
    return [line for line in diff.splitlines()
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_sweep_keeps_the_versions_files_style(tmp_path: Path, make_remote) -> None:
    from vbot.commands.sweep import SweepOptions, sweep
    from vbot.testing.fakeupstream import FakeUpstream

    tree = _tree(tmp_path)
    (tree / sharded_relpath("versions", "lockfile-lint")).unlink()
    remote = make_remote(tree)
    world = {"pypi": {"pynmeagps": {"versions": ["1.0.44", "1.1.4", "1.1.5"], "yanked": []}},
             "npm": {"lockfile-lint": {"latest": "4.14.1", "versions": ["4.14.0", "4.14.1"]}}}
    with FakeUpstream(world) as fake:
        sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "w", progress=False,
                           env=fake.env(), nodes=("pynmeagps", "lockfile-lint"),
                           http_cache=False))
    # a changed file: one line, its 1-space indent and missing final newline kept
    rel = sharded_relpath("versions", "pynmeagps")
    assert _changed_lines(remote, rel) == ['- "new_version": "1.0.44"', '+ "new_version": "1.1.5"']
    text = remote.repo.git.show(f"main:{rel}", strip_newline_in_stdout=False)
    assert text == '{\n "new_version": "1.1.5"\n}'
    # a new file: the style of the folder's first file (pynmeagps's)
    new = remote.repo.git.show(f"main:{sharded_relpath('versions', 'lockfile-lint')}",
                               strip_newline_in_stdout=False)
    assert new == '{\n "new_version": "4.14.1"\n}'

    merge(MergeOptions(remote=remote.url, workdir=tmp_path / "w", progress=False))
    assert _changed_lines(remote, _pr_info("pynmeagps")) == [
        '-  "new_version": "1.1.4",', '+  "new_version": "1.1.5",']
    assert remote.show(_pr_info("rb-liquid"))["new_version"] == "5.6.1"
