"""The parts of incremental sweeps that need no sweep: the safety net's spread, the cursor's
reading (hostile files are no cursor), the settings digest, git's view of a base tree."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import git
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vbot.config import load_config
from vbot.git.diff import blob_at, changed_paths, commit_with_tree, head_tree, last_trailer
from vbot.repo.cursor import dumps_sweep, parse_sweep, sweep_cursor_relpath
from vbot.run.incremental import (
    DEFAULT_FULL_EVERY,
    full_every_of,
    net_slot,
    net_slots,
    safety_net_due,
    settings_digest,
)


def test_safety_net_spreads_nodes_evenly_over_the_days() -> None:
    names = [f"pkg-{i:05d}" for i in range(7000)]
    per_day = Counter(d for n in names for d in range(7) if safety_net_due(n, d, 7))
    assert sum(per_day.values()) == len(names)  # each node exactly one day in seven
    assert all(abs(c - 1000) < 120 for c in per_day.values()), per_day
    # the day number decides, not the weekday: day 7 picks what day 0 picked
    assert [n for n in names if safety_net_due(n, 7, 7)] == \
        [n for n in names if safety_net_due(n, 0, 7)]
    # independent of --shard's split: each shard gets its share of a day's nodes
    from vbot.run.jobshard import Shard

    for index in range(7):
        mine = [n for n in names if Shard(index, 7).owns(n)]
        due = sum(safety_net_due(n, 3, 7) for n in mine)
        assert 0.08 < due / len(mine) < 0.2


@pytest.mark.parametrize(("since", "day", "want"), [
    (None, 10, {3}), (10, 10, set()), (9, 10, {3}), (8, 10, {2, 3}), (3, 10, set(range(7))),
    (12, 10, {3}),  # a net day in the future: today's share only
])
def test_net_slots_catch_up_on_missed_days(since: int | None, day: int, want: set[int]) -> None:
    assert net_slots(since, day, 7) == want


@given(st.text(min_size=1, max_size=20), st.integers(1, 30))
def test_net_slot_is_in_range(name: str, every: int) -> None:
    assert 0 <= net_slot(name, every) < every
    assert sum(safety_net_due(name, d, every) for d in range(every)) == 1


def test_full_every_setting() -> None:
    config = load_config(None, None, env={})
    assert full_every_of(config) == DEFAULT_FULL_EVERY


BASE = "0123456789abcdef0123456789abcdef01234567"


def test_cursor_round_trip() -> None:
    text = dumps_sweep(BASE, {"pypi": {"serial": 5, "server": "x"}}, ["b", "a"], "f" * 64, 3)
    cursor, problem = parse_sweep(text.encode())
    assert problem is None and cursor is not None
    assert cursor.pending == {"a", "b"} and cursor.net == 3 and cursor.config == "f" * 64
    assert json.loads(text)["pending"] == ["a", "b"]  # sorted: no needless diff
    assert sweep_cursor_relpath((1, 4)) == ".vbot/sweep-cursor-1-of-4.json"


@pytest.mark.parametrize("data", [
    None, b"", b"\xff\xfe", b"[]", b"[" * 50000, b'{"base": "x", "sources": {}, "pending": []}',
    json.dumps({"base": BASE, "sources": {}, "pending": [1]}).encode(),
    json.dumps({"base": BASE, "sources": {}, "pending": ["a", "a"]}).encode(),
    json.dumps({"base": BASE, "sources": {"../x": 1}, "pending": []}).encode(),
    json.dumps({"base": BASE, "sources": {}, "pending": [], "extra": 1}).encode(),
    json.dumps({"base": BASE, "sources": {}, "pending": [], "net": -1}).encode(),
    json.dumps({"base": BASE}).encode(),
])
def test_broken_cursors_are_no_cursor(data: bytes | None) -> None:
    cursor, problem = parse_sweep(data)
    assert cursor is None and problem and "\n" not in problem


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                  max_size=3),
    max_leaves=10).map(lambda v: json.dumps(v).encode()))
def test_cursor_reader_never_raises(data: bytes) -> None:
    cursor, problem = parse_sweep(data)
    assert (cursor is None) != (problem is None)


def test_settings_digest_follows_the_settings() -> None:
    from vbot.check.checker import Checker
    from vbot.check.factory import make_http
    from vbot.sources import Context

    def digest(env: dict[str, str]) -> str:
        config = load_config(None, None, env=env)
        return settings_digest(config, Checker(Context(config=config, http=make_http(config, 1))))

    one = digest({"VBOT_PYPI_URL": "http://a.example"})
    assert one == digest({"VBOT_PYPI_URL": "http://a.example", "GITHUB_TOKEN": "t"})
    assert one != digest({"VBOT_PYPI_URL": "http://b.example"})


def _commit(repo: git.Repo, path: Path, rel: str, text: str, message: str) -> str:
    (path / rel).parent.mkdir(parents=True, exist_ok=True)
    (path / rel).write_text(text)
    repo.git.add("-A")
    repo.git.commit("-qm", message)
    return repo.head.commit.hexsha


def test_base_tree_found_by_deepening_a_shallow_clone(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    repo = git.Repo.init(origin, initial_branch="main")
    _commit(repo, origin, "a.json", "1", "first")
    base = repo.head.commit.tree.hexsha
    _commit(repo, origin, "b.json", "1", "merge\n\nVbot-Merge-Base: " + base)
    for i in range(20):
        _commit(repo, origin, f"c/{i}.json", str(i), f"step {i}")
    clone = tmp_path / "clone"
    git.Repo.clone_from(f"file://{origin}", clone, depth=1)
    commit = commit_with_tree(clone, "main", base)
    assert commit is not None and head_tree(clone) != base
    changed = changed_paths(clone, commit, "HEAD", exclude=("c",))
    assert changed == ["b.json"]
    found = last_trailer(clone, "main", "Vbot-Merge-Base")
    assert found is not None and found[1] == base
    assert blob_at(clone, commit, "a.json") == b"1" and blob_at(clone, commit, "b.json") is None
    # a tree that never was, a value that is no tree id: None, not an error
    assert commit_with_tree(clone, "main", "1" * 40, max_depth=32) is None
    assert commit_with_tree(clone, "main", "HEAD; rm -rf /") is None


def test_base_tree_fetched_by_id_without_history(tmp_path: Path) -> None:
    from vbot.git.diff import tree_at

    origin = tmp_path / "origin"
    repo = git.Repo.init(origin, initial_branch="main")
    _commit(repo, origin, "node_attrs/a.json", "1", "first")
    base = repo.head.commit.tree.hexsha
    for i in range(100):  # another writer goes on: the base is far behind HEAD
        _commit(repo, origin, f"pr_info/{i}.json", str(i), f"step {i}")
    _commit(repo, origin, "node_attrs/a.json", "2", "a changed")
    clone = tmp_path / "clone"
    git.Repo.clone_from(f"file://{origin}", clone, depth=1, multi_options=["--no-local"])
    found = tree_at(clone, "main", base)
    assert found == base  # the tree itself, by id: no history fetched
    assert git.Repo(clone).git.rev_list("--count", "HEAD") == "1"
    assert changed_paths(clone, found, "HEAD", exclude=("pr_info",)) == ["node_attrs/a.json"]
