"""Shallow, partial and sparse workspaces (issue 13), with real git over file:// remotes.

The remote has the 6-node maintainer scenario plus a long generated history of 16 KB blobs
under pr_info/ (outside vbot's folders), as conda-forge's graph repo has.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import git
import pytest

from tests.helpers import WORLD1, Remote, cf_tree, point_env_at, world3, write_json
from vbot.commands.history import history
from vbot.commands.merge import MergeOptions, merge
from vbot.commands.sweep import SweepOptions, sweep
from vbot.errors import VbotError
from vbot.git.commit import commit
from vbot.git.options import FULL, CloneOptions
from vbot.git.push import push
from vbot.git.workspace import Workspace
from vbot.main import main
from vbot.repo.paths import sharded_relpath
from vbot.testing.gitfixtures import add_history

HISTORY = 400  # commits of 16 KB under pr_info/


def git_out(path: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=path, capture_output=True, text=True,
                          check=True).stdout.strip()


def objects_bytes(gitdir: Path) -> int:
    return sum(p.stat().st_size for p in (gitdir / "objects").rglob("*") if p.is_file())


def long_remote(tmp: Path, name: str = "remote", allow_filter: bool = True) -> Remote:
    (tmp / name).mkdir()
    remote = Remote(cf_tree(tmp / f"{name}-tree"), tmp / name)
    add_history(remote.path, HISTORY)
    if not allow_filter:
        remote.repo.git.config("uploadpack.allowFilter", "false")
    return remote


def pushed_by_other_writer(remote: Remote, tmp: Path, rel: str, doc: object) -> None:
    """A commit by someone else (a plain full clone) on top of the remote branch."""
    other = git.Repo.clone_from(remote.url, tmp / "other")
    write_json(Path(other.working_dir) / rel, doc)
    other.git.add("-A")
    other.git.commit("-q", "-m", "another writer")
    other.git.push("origin", "main")


def test_workspace_is_shallow_partial_sparse_and_small(tmp_path: Path) -> None:
    remote = long_remote(tmp_path)
    logged: list[str] = []
    with Workspace.open(remote.url, tmp_path / "ws", log=logged.append) as ws:
        assert git_out(ws.path, "rev-parse", "--is-shallow-repository") == "true"
        assert git_out(ws.path, "rev-list", "--count", "HEAD") == "1"
        assert git_out(ws.path, "config", "remote.origin.partialclonefilter") == "blob:none"
        assert ws.sparse == ()
        # the root files are checked out; no folder is: the node documents, versions/ and
        # version_pr_info/ are read from git (tests/git/test_narrow_sparse.py)
        assert (ws.path / "graph.json").is_file() and (ws.path / "vbot.toml").is_file()
        assert not (ws.path / "node_attrs").exists() and not (ws.path / "pr_info").exists()
        held = objects_bytes(ws.path / ".git")
        # the clone's pack and ONE batch of the sparse set's blobs (not a fetch per blob)
        assert len(list((ws.path / ".git" / "objects" / "pack").glob("*.pack"))) == 2
        # no pr_info blob at all, not even HEAD's: the sparse checkout did not ask for it
        assert git_out(ws.path, "cat-file", "--batch-all-objects", "--batch-check").count(
            " blob ") == len(list(ws.path.rglob("*.json"))) + 1  # + vbot.toml
    total = objects_bytes(remote.path)
    assert total > 3_000_000 and held < total / 50
    assert logged == []


def test_a_server_refusing_filters_gets_one_line_and_a_shallow_clone(tmp_path: Path) -> None:
    remote = long_remote(tmp_path, allow_filter=False)
    logged: list[str] = []
    with Workspace.open(remote.url, tmp_path / "ws", log=logged.append) as ws:
        assert git_out(ws.path, "rev-parse", "--is-shallow-repository") == "true"
        config = git_out(ws.path, "config", "--list")
        assert "promisor" not in config and "partialclonefilter" not in config
        assert not (ws.path / "pr_info").exists()  # still sparse
        # depth 1 alone: only the tip's one pr_info blob, not the 400 of the history
        assert objects_bytes(ws.path / ".git") < objects_bytes(remote.path) / 50
    assert len(logged) == 1 and "refuses partial clones" in logged[0]
    pushed_by_other_writer(remote, tmp_path, "pr_info/other.json", {"x": 1})
    with Workspace.open(remote.url, tmp_path / "ws", log=logged.append) as ws:
        assert (ws.path / ".git" / "shallow").is_file()
        assert ws.repo.head.commit.hexsha == remote.repo.commit("main").hexsha
    assert len(logged) == 1


def _sweep_and_merge(remote: Remote, work: Path, config: Path | None) -> list[str]:
    """Sweep then merge; returns the remote's tree after each."""
    trees = []
    sweep(SweepOptions(remote=remote.url, workdir=work, progress=False, config=config))
    trees.append(remote.tree_sha())
    merge(MergeOptions(remote=remote.url, workdir=work, progress=False, config=config))
    trees.append(remote.tree_sha())
    return trees


def test_sweep_and_merge_commits_equal_those_of_a_full_clone(tmp_path: Path, fake,
                                                             monkeypatch) -> None:
    fake.set_world(WORLD1)
    point_env_at(fake, monkeypatch)
    shallow = long_remote(tmp_path, "shallow")
    full = long_remote(tmp_path, "full")
    assert shallow.tree_sha() == full.tree_sha()
    plain = tmp_path / "plain.toml"
    plain.write_text("[git]\ndepth = 0\nsparse = false\nfilter = false\n")
    before = shallow.tree_sha()
    assert _sweep_and_merge(shallow, tmp_path / "w1", None) == \
        _sweep_and_merge(full, tmp_path / "w2", plain)
    assert shallow.tree_sha() != before
    assert git_out(tmp_path / "w1", "rev-parse", "--is-shallow-repository") == "true"
    assert git_out(tmp_path / "w2", "rev-parse", "--is-shallow-repository") == "false"
    assert (tmp_path / "w2" / "pr_info").is_dir()  # the plain clone checked out everything
    for remote in (shallow, full):
        sweep_c, merge_c = remote.commits()[1], remote.commits()[0]
        assert merge_c.parents == (sweep_c,)
        assert sweep_c.parents[0].message == "bot: pr_info\n"
        assert sweep_c.message.startswith("vbot sweep: 5 checked, 5 new, 0 unchanged, 1 errors")
    for i in (0, 1):
        changes = [sorted(c.stats.files) for c in (shallow.commits()[i], full.commits()[i])]
        assert changes[0] == changes[1] and changes[0]


def test_sweep_after_another_writer_lands_and_keeps_pr_info(tmp_path: Path, fake,
                                                            monkeypatch) -> None:
    fake.set_world(WORLD1)
    point_env_at(fake, monkeypatch)
    remote = long_remote(tmp_path)
    work = tmp_path / "work"
    sweep(SweepOptions(remote=remote.url, workdir=work, progress=False))
    marker = work / ".git" / "marker-of-this-clone"
    marker.write_text("same clone")
    # the other bot goes on: 200 more pr_info commits and a file of its own at the root
    add_history(remote.path, 200, seed=1)
    pushed_by_other_writer(remote, tmp_path, "other.json", {"by": "other"})
    pr_info = remote.repo.git.rev_parse("main:pr_info")
    fake.set_world(world3())
    report = sweep(SweepOptions(remote=remote.url, workdir=work, progress=False))
    assert report.extra["pushed"] and report.counts()["new"] >= 1
    assert marker.read_text() == "same clone"  # updated in place, not re-cloned
    assert git_out(work, "rev-parse", "--is-shallow-repository") == "true"
    head = remote.repo.commit("main")
    assert head.message.startswith("vbot sweep:") and head.parents[0].message == "another writer\n"
    assert remote.repo.git.rev_parse("main:pr_info") == pr_info
    assert remote.show("other.json") == {"by": "other"}
    assert remote.show(sharded_relpath("versions", "requests")) == {"new_version": "2.34.0"}
    # history: the workspace holds what it needed, not the 600 commits
    assert int(git_out(work, "rev-list", "--count", "HEAD")) < 10


def test_push_after_the_remote_moved_rebases_the_one_commit(tmp_path: Path) -> None:
    remote = long_remote(tmp_path)
    with Workspace.open(remote.url, tmp_path / "ws") as ws:
        write_json(ws.path / "versions" / "mine.json", {"new_version": "1"})
        mine = commit(ws, ["versions"], "mine", ["versions/mine.json"])
        add_history(remote.path, 50, seed=2)
        pushed_by_other_writer(remote, tmp_path, "versions/theirs.json", {"new_version": "2"})
        push(ws, backoff=0)
    head = remote.repo.commit("main")
    assert head.message.strip() == "mine" and head.hexsha != mine
    assert head.parents[0].message == "another writer\n"
    assert remote.show("versions/theirs.json") == {"new_version": "2"}
    assert remote.show("versions/mine.json") == {"new_version": "1"}


def test_commit_never_deletes_what_the_sparse_checkout_hides(tmp_path: Path) -> None:
    remote = long_remote(tmp_path)
    before = remote.repo.commit("main").hexsha
    with Workspace.open(remote.url, tmp_path / "ws") as ws:
        assert not (ws.path / "pr_info" / "bot.json").exists()
        assert commit(ws, ["pr_info", "versions"], "nothing", ["pr_info/bot.json"]) is None
        assert commit(ws, ["pr_info", "versions"], "nothing") is None  # git status, sparse
        write_json(ws.path / "versions" / "a.json", {"new_version": "1"})
        sha = commit(ws, ["pr_info", "versions"], "one file",
                        ["pr_info/bot.json", "versions/a.json"])
        assert ws.changed_files(sha or "") == ["versions/a.json"]
        push(ws)
    assert remote.repo.commit("main").parents[0].hexsha == before
    assert remote.repo.git.rev_parse("main:pr_info") == remote.repo.git.rev_parse(
        f"{before}:pr_info")


def test_depth_from_config_and_cli(tmp_path: Path) -> None:
    remote = long_remote(tmp_path)
    config = tmp_path / "c.toml"
    config.write_text("[git]\ndepth = 7\n")
    with Workspace.open(remote.url, tmp_path / "a", config=config) as ws:
        assert git_out(ws.path, "rev-list", "--count", "HEAD") == "7"
    with Workspace.open(remote.url, tmp_path / "a", config=config, depth=3) as ws:
        assert ws.options.depth == 3
    with Workspace.open(remote.url, tmp_path / "b", depth=0) as ws:
        assert git_out(ws.path, "rev-list", "--count", "HEAD") == str(HISTORY + 1)
        assert ws.sparse is not None  # the whole history, still partial and sparse
    with Workspace.open(remote.url, tmp_path / "c", options=FULL) as ws:
        assert ws.sparse is None and (ws.path / "pr_info" / "bot.json").is_file()
    config.write_text("[git]\ndepth = 'deep'\n")
    with pytest.raises(VbotError, match=r"\[git\] depth must be an integer"), \
            Workspace.open(remote.url, tmp_path / "d", config=config):
        pass
    config.write_text("[git]\nshallow = true\n")
    with pytest.raises(VbotError, match=r"\[git\] shallow is not a vbot setting"), \
            Workspace.open(remote.url, tmp_path / "d", config=config):
        pass
    assert CloneOptions().depth == 1


def test_revert_deepens_a_shallow_workspace(tmp_path: Path, fake, monkeypatch,
                                            capsys) -> None:
    fake.set_world(WORLD1)
    point_env_at(fake, monkeypatch)
    remote = long_remote(tmp_path)
    work = tmp_path / "work"
    before = remote.tree_sha()
    run = sweep(SweepOptions(remote=remote.url, workdir=work, progress=False)).run_id
    add_history(remote.path, 100, seed=3)  # the sweep is now 100 commits down
    assert main(["revert", run, remote.url, "--workdir", str(work)]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith(", pushed")
    assert remote.repo.commit("main").message.startswith(f"vbot revert: {run}")
    assert remote.repo.commit("main^").message == "bot: pr_info\n"
    # the revert undid only the sweep's files: the tree is the old one but for pr_info
    diff = remote.repo.git.diff("--name-only", before, "main").splitlines()
    assert diff == ["pr_info/bot.json"]
    # it fetched the history down to the sweep, not all of it
    assert int(git_out(work, "rev-list", "--count", "HEAD")) < HISTORY
    assert git_out(work, "rev-parse", "--is-shallow-repository") == "true"
    assert main(["revert", "sweep-20000101T000000Z-000000", remote.url, "--workdir",
                 str(work)]) == 1
    assert "no commit with Vbot-Run" in capsys.readouterr().err


def test_history_on_a_shallow_clone_says_how_to_get_the_rest(tmp_path: Path, fake,
                                                            monkeypatch, capsys) -> None:
    fake.set_world(WORLD1)
    point_env_at(fake, monkeypatch)
    remote = long_remote(tmp_path)
    work = tmp_path / "work"
    sweep(SweepOptions(remote=remote.url, workdir=work, progress=False))
    entries = history(work, "requests")
    assert [e.new for e in entries] == [{"new_version": "2.32.3"}]
    err = capsys.readouterr().err
    assert "shallow clone" in err and "fetch --unshallow" in err
    clone = git.Repo.clone_from(remote.url, tmp_path / "full")  # a maintainer's full clone
    assert [e.new for e in history(Path(clone.working_dir), "requests")] == \
        [{"new_version": "2.32.3"}]
    assert "shallow" not in capsys.readouterr().err


def test_a_killed_runs_commit_is_rebased_over_a_long_move(tmp_path: Path) -> None:
    """The commit of a run killed before its push survives the next run's shallow update, even
    when the remote moved by many commits meanwhile (no --depth fetch cuts it off)."""
    remote = long_remote(tmp_path)
    with Workspace.open(remote.url, tmp_path / "ws") as ws:
        write_json(ws.path / "versions" / "left.json", {"new_version": "1"})
        commit(ws, ["versions"], "left by a killed run")
    add_history(remote.path, 100, seed=4)
    moved_to = remote.repo.commit("main").hexsha
    with Workspace.open(remote.url, tmp_path / "ws") as ws:
        assert ws.unpushed() == 1
        assert ws.repo.commit("HEAD^").hexsha == moved_to
        push(ws)
    assert remote.repo.commit("main").message.strip() == "left by a killed run"
    assert remote.repo.commit("main^").hexsha == moved_to
    assert remote.show("versions/left.json") == {"new_version": "1"}


def test_depth_option_on_the_command_line(tmp_path: Path, capsys) -> None:
    from vbot.main import build_parser

    parser = build_parser()
    assert parser.parse_args(["sweep", "R", "--depth", "0"]).depth == 0
    assert parser.parse_args(["merge", "R", "--depth", "5"]).depth == 5
    assert parser.parse_args(["sweep", "R"]).depth is None
    with pytest.raises(SystemExit):
        parser.parse_args(["sweep", "R", "--depth", "-1"])
    assert "must be 0" in capsys.readouterr().err


def test_status_of_a_shallow_clone_says_so(tmp_path: Path, capsys) -> None:
    remote = long_remote(tmp_path)
    with Workspace.open(remote.url, tmp_path / "ws"):
        pass
    assert main(["status", str(tmp_path / "ws"), "--html", str(tmp_path / "s.html")]) == 0
    assert "is a shallow clone" in capsys.readouterr().err
    assert main(["status", remote.url, "--html", str(tmp_path / "s.html"), "--workdir",
                 str(tmp_path / "st")]) == 0
    assert "shallow" not in capsys.readouterr().err
    assert git_out(tmp_path / "st", "rev-list", "--count", "HEAD") == str(HISTORY + 1)


def push_file(remote: Remote, tmp: Path, rel: str, text: str) -> None:
    """Another writer changes ``rel`` on the remote branch (a plain clone, a commit, a push)."""
    dest = tmp / f"writer-{len(remote.commits())}"
    other = git.Repo.clone_from(remote.url, dest)
    (dest / rel).write_text(text)
    other.git.add("-A")
    other.git.commit("-q", "-m", f"edit {rel}")
    other.git.push("origin", "main")


@pytest.mark.parametrize("broken, line", [
    ("[sources.pypi\n", "invalid TOML"),
    ("[git]\ndepth = 'x'\n", '[git] depth must be an integer, not "x"'),
])
def test_a_broken_vbot_toml_never_wedges_the_workspace(tmp_path: Path, fake, monkeypatch,
                                                       capsys, broken: str, line: str) -> None:
    """Issue 19 item 2: the settings are read from the fetched tree, so the run after the fix
    succeeds with the same --workdir (a CI cache of it included)."""
    fake.set_world(WORLD1)
    point_env_at(fake, monkeypatch)
    remote = Remote(cf_tree(tmp_path / "tree"), tmp_path)
    wd = tmp_path / "wd"
    args = ["sweep", remote.url, "--workdir", str(wd), "-q"]
    assert main(args) == 0
    good = (wd / "vbot.toml").read_text()
    push_file(remote, tmp_path, "vbot.toml", broken)
    head = remote.repo.commit("main").hexsha
    for _ in range(2):  # fails each time while the remote holds the broken file
        assert main(args) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"vbot: error: {wd / 'vbot.toml'}: {line}")
        assert err.count("\n") == 1 and "Traceback" not in err
        assert remote.repo.commit("main").hexsha == head
        assert not (tmp_path / ".wd.lock").exists()
    push_file(remote, tmp_path, "vbot.toml", good)
    fake.set_world(world3())
    assert main(args) == 0, capsys.readouterr().err
    assert remote.repo.commit("main").message.startswith("vbot sweep:")
    assert remote.show(sharded_relpath("versions", "requests")) == {"new_version": "2.34.0"}


def test_the_fetched_settings_take_effect_in_the_same_run(tmp_path: Path) -> None:
    """A pushed ``[git] sparse = false`` is the workspace's at the run that fetches it."""
    remote = Remote(cf_tree(tmp_path / "tree"), tmp_path)
    with Workspace.open(remote.url, tmp_path / "wd") as ws:
        assert ws.options.sparse and ws.sparse is not None
    push_file(remote, tmp_path, "vbot.toml", "[git]\nsparse = false\n")
    with Workspace.open(remote.url, tmp_path / "wd") as ws:
        assert not ws.options.sparse and ws.sparse is None


def test_the_lock_names_the_workdir_and_its_file_and_is_removed(tmp_path: Path) -> None:
    remote = Remote(cf_tree(tmp_path / "tree"), tmp_path)
    wd = tmp_path / "wd"
    lock = tmp_path / ".wd.lock"
    with Workspace.open(remote.url, wd) as ws:
        assert lock.is_file()
        with pytest.raises(VbotError) as caught, Workspace.open(remote.url, wd):
            pass
        assert str(caught.value) == f"another vbot is working in {wd} (it holds {lock})"
        assert ws.path == wd
    assert not lock.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    # a failing run leaves nothing behind either
    with pytest.raises(RuntimeError), Workspace.open(remote.url, wd):
        raise RuntimeError("boom")
    assert not lock.exists()
    with Workspace.open(remote.url, wd):  # and the next run gets the lock
        pass


def test_a_lock_left_by_a_killed_run_is_taken_over(tmp_path: Path) -> None:
    """A lock file with no holder (the process was killed: flock went with it) is no lock."""
    remote = Remote(cf_tree(tmp_path / "tree"), tmp_path)
    (tmp_path / ".wd.lock").write_text("")
    with Workspace.open(remote.url, tmp_path / "wd") as ws:
        assert (ws.path / "graph.json").is_file()
    assert not (tmp_path / ".wd.lock").exists()


def test_a_lock_held_by_another_process(tmp_path: Path) -> None:
    remote = Remote(cf_tree(tmp_path / "tree"), tmp_path)
    lock = tmp_path / ".wd.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time\n"
         f"fh = open({str(lock)!r}, 'a+')\nfcntl.flock(fh, fcntl.LOCK_EX)\n"
         "print('held', flush=True)\ntime.sleep(60)\n"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(VbotError, match="another vbot is working in .*wd "
                                            r"\(it holds .*/\.wd\.lock\)"), \
                Workspace.open(remote.url, tmp_path / "wd"):
            pass
        assert lock.exists()  # not ours to remove
    finally:
        holder.kill()
        holder.wait()
    with Workspace.open(remote.url, tmp_path / "wd"):
        pass
    assert not lock.exists()


def test_a_workdir_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    remote = Remote(cf_tree(tmp_path / "tree"), tmp_path)
    (tmp_path / "wd").write_text("")
    with pytest.raises(VbotError, match=r"workdir .*wd is not a folder"), \
            Workspace.open(remote.url, tmp_path / "wd"):
        pass


def test_a_workdir_that_cannot_be_made_is_one_line(tmp_path: Path, capsys) -> None:
    remote = Remote(cf_tree(tmp_path / "tree"), tmp_path)
    (tmp_path / "file").write_text("")
    wd = tmp_path / "file" / "sub" / "wd"
    # the workspace says so itself; the command line checks the path before any work
    with pytest.raises(VbotError, match=f"^{wd.parent}: cannot make the folder for {wd}: "
                       "Not a directory$"), Workspace.open(remote.url, wd):
        pass
    assert main(["sweep", remote.url, "--workdir", str(wd), "-q"]) == 1
    err = capsys.readouterr().err
    assert err == (f"vbot: error: --workdir {wd}: not a folder ({tmp_path / 'file'} is a "
                   "file)\n")
