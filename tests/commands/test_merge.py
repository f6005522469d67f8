"""``vbot merge`` over real conda-forge nodes: it merges as conda-forge's bot merges.

Three real nodes (tests/fixtures/realsample): rb-liquid and pynmeagps have a version_pr_info
``new_version`` (set by conda-forge's bot) higher than their versions file; lockfile-lint's
version_pr_info (1-space indent, no final newline) is one patch release behind.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import git
import pytest

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
    # incremental: nothing changed since the last merge
    assert again.changed == 0 and again.unchanged == 0
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


# -- incremental merges (issue 17): the same result as a full merge -----------------------


def _random_tree(root: Path, rng: random.Random, count: int) -> Path:
    from tests.helpers import make_cf_tree, node_attrs

    nodes = {f"n{i}": node_attrs(f"n{i}", f"https://x.example/n{i}-1.0.tar.gz",
                                 f"1.{rng.randint(0, 3)}") for i in range(count)}
    make_cf_tree(root, nodes)
    for name in nodes:  # some nodes start with results and merged values already
        if rng.random() < 0.5:
            jsonio.atomic_write_text(root / sharded_relpath("versions", name),
                                     jsonio.dumps({"new_version": f"1.{rng.randint(0, 6)}"}))
        if rng.random() < 0.3:
            jsonio.atomic_write_text(root / _pr_info(name),
                                     jsonio.dumps({"new_version": f"1.{rng.randint(0, 6)}"}))
    return root


def _random_move(clone: Path, rng: random.Random, count: int) -> None:
    """What happens between merges: sweeps write results (versions, errors, nulls, garbage),
    maintainers bump node versions and reset version_pr_info."""
    for _ in range(rng.randint(1, 4)):
        name = f"n{rng.randrange(count)}"
        kind = rng.random()
        if kind < 0.5:
            doc: Any = rng.choice([{"new_version": f"1.{rng.randint(0, 9)}"},
                                   {"new_version": None}, {"bad": "Upstream: pypi: gone"}])
            jsonio.atomic_write_text(clone / sharded_relpath("versions", name), jsonio.dumps(doc))
        elif kind < 0.65:
            (clone / sharded_relpath("versions", name)).unlink(missing_ok=True)
        elif kind < 0.85:
            rel = clone / sharded_relpath("node_attrs", name)
            attrs = json.loads(rel.read_text())
            attrs["version"] = f"1.{rng.randint(0, 9)}"
            rel.write_text(json.dumps(attrs))
        else:
            path = clone / _pr_info(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"new_version": f"1.{rng.randint(0, 3)}"}))


@pytest.mark.parametrize("seed", range(4))
def test_incremental_merge_equals_full_merge(tmp_path: Path, seed: int) -> None:
    """Two remotes see the same moves; one merges incrementally, the other with --full
    (the code before): their trees are equal after every merge."""
    from tests.helpers import Remote

    rng = random.Random(seed)
    count = 12
    tree = _random_tree(tmp_path / "tree", rng, count)
    remotes = [Remote(tree, tmp_path / k) for k in ("incr", "full")]
    clones = [git.Repo.clone_from(r.url, tmp_path / f"c-{i}") for i, r in enumerate(remotes)]
    for step in range(6):
        state = rng.getstate()
        for i, remote in enumerate(remotes):
            rng.setstate(state)
            clone = clones[i]
            clone.git.pull("-q", "--rebase", "origin", "main")
            _random_move(Path(clone.working_dir), rng, count)
            clone.git.add("-A")
            if clone.git.status("--porcelain"):
                clone.git.commit("-qm", f"move {step}")
                clone.git.push("-q", "origin", "HEAD:main")
            if rng.random() < 0.8:  # sometimes two moves between merges
                done = merge(MergeOptions(remote=remote.url, workdir=tmp_path / f"w-{i}",
                                          progress=False, full=i == 1))
                how = done.report.extra["incremental"]
                if i == 0 and any("Vbot-Merge-Base" in c.message for c in remote.commits()[1:]):
                    assert how["incremental"] is True, how
        assert remotes[0].tree_sha() == remotes[1].tree_sha(), step
    shown = merge(MergeOptions(remote=remotes[0].url, workdir=tmp_path / "fresh",
                               progress=False, depth=1))  # a fresh runner finds the base
    assert shown.report.extra["incremental"]["incremental"] is True
    merge(MergeOptions(remote=remotes[1].url, workdir=tmp_path / "w-1", progress=False,
                       full=True))
    assert remotes[0].tree_sha() == remotes[1].tree_sha()


def test_incremental_merge_sees_what_landed_during_a_rebased_merge(tmp_path: Path,
                                                                   monkeypatch) -> None:
    """A merge whose push is rebased onto a sweep it never read: the next merge merges that
    sweep's results (the trailer's tree is what the merge read, not what it pushed)."""
    from tests.helpers import Remote, make_cf_tree, node_attrs
    from vbot.commands import merge as merge_module

    nodes = {n: node_attrs(n, f"https://x.example/{n}-1.0.tar.gz", "1.0") for n in "ab"}
    tree = make_cf_tree(tmp_path / "tree", nodes)
    jsonio.atomic_write_text(tree / sharded_relpath("versions", "a"),
                             jsonio.dumps({"new_version": "2.0"}))
    remote = Remote(tree, tmp_path)
    other = git.Repo.clone_from(remote.url, tmp_path / "other")
    original = merge_module.commit_and_push

    def sweep_lands_first(*args: Any, **kwargs: Any) -> Any:
        jsonio.atomic_write_text(Path(other.working_dir) / sharded_relpath("versions", "b"),
                                 jsonio.dumps({"new_version": "3.0"}))
        other.git.add("-A")
        other.git.commit("-qm", "a sweep")
        other.git.push("-q", "origin", "HEAD:main")
        return original(*args, **kwargs)

    monkeypatch.setattr(merge_module, "commit_and_push", sweep_lands_first)
    merge(MergeOptions(remote=remote.url, workdir=tmp_path / "w", progress=False))
    monkeypatch.setattr(merge_module, "commit_and_push", original)
    assert remote.show(_pr_info("a")) == {"new_version": "2.0"}
    assert "b" not in [p.rsplit("/", 1)[-1][:-5] for p in remote.files()
                       if p.startswith("version_pr_info/")]
    again = merge(MergeOptions(remote=remote.url, workdir=tmp_path / "w2", progress=False))
    assert again.report.extra["incremental"]["incremental"] is True
    assert remote.show(_pr_info("b")) == {"new_version": "3.0"}
