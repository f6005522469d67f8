"""A run that ends tidy lets the next one skip ``git clean``; any other end does not.

Real git: a bare remote in a tmp dir, the workspace a clone of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import git
import pytest

from tests.test_git_faults import WORLD, tree_for, vbot
from vbot.errors import EXIT_OK
from vbot.fakeupstream import FakeUpstream
from vbot.git.workspace import TIDY, Workspace


def _mark(work: Path) -> str | None:
    path = work / ".git" / TIDY
    return path.read_text().strip() if path.exists() else None


def _tidy_clone(tmp_path: Path, make_remote) -> tuple[Any, Path]:
    """A remote, and a workspace of it whose last run ended tidy."""
    remote = make_remote(tree_for(tmp_path))
    work = tmp_path / "work"
    with Workspace.open(remote.url, work) as ws:
        ws.left_tidy()
    return remote, work


def test_a_tidy_end_is_marked_and_the_next_run_skips_clean(tmp_path: Path,
                                                            make_remote) -> None:
    remote, work = _tidy_clone(tmp_path, make_remote)
    head = git.Repo(work).head.commit.hexsha
    assert _mark(work) == head
    stray = work / "stray.json"  # nothing of vbot's makes this: a probe
    stray.write_text("{}")
    with Workspace.open(remote.url, work):
        assert _mark(work) is None  # taken at the start: a crash from here leaves none
        assert stray.exists()  # the tidy mark matched HEAD: no git clean
    assert _mark(work) is None  # this run did not say it was tidy
    with Workspace.open(remote.url, work):
        assert not stray.exists()  # no mark: cleaned as always


def test_a_run_that_fails_leaves_no_mark_and_is_cleaned_up_after(tmp_path: Path,
                                                                 make_remote) -> None:
    remote, work = _tidy_clone(tmp_path, make_remote)
    half = work / ".pkg.json.tmp"
    with pytest.raises(RuntimeError), Workspace.open(remote.url, work) as ws:
        half.write_text('{"new_ver')
        ws.left_tidy()
        raise RuntimeError("killed half-way")
    assert _mark(work) is None
    with Workspace.open(remote.url, work):
        assert not half.exists()


def test_a_mark_for_another_commit_or_unreadable_means_clean(tmp_path: Path,
                                                             make_remote) -> None:
    remote = make_remote(tree_for(tmp_path))
    work = tmp_path / "work"
    with Workspace.open(remote.url, work):
        pass
    stray = work / "stray.txt"
    for text in ("0" * 40 + "\n", "\xff not a commit"):
        stray.write_text("x")
        (work / ".git" / TIDY).write_text(text, "latin-1")
        with Workspace.open(remote.url, work):
            assert not stray.exists()
        assert _mark(work) is None


def test_sweeps_mark_their_tidy_end(tmp_path: Path, make_remote) -> None:
    remote = make_remote(tree_for(tmp_path))
    work = tmp_path / "work"
    with FakeUpstream(WORLD) as fake:
        first = vbot("sweep", remote.url, "--workdir", str(work), "-q", env=fake.env())
        assert first.returncode == EXIT_OK, first.stderr
        assert _mark(work) == remote.repo.commit("main").hexsha
        again = vbot("sweep", remote.url, "--workdir", str(work), "-q", env=fake.env())
        assert again.returncode == EXIT_OK, again.stderr
    assert _mark(work) == remote.repo.commit("main").hexsha
    assert git.Repo(work).git.status("--porcelain", "--untracked-files=all") == ""
