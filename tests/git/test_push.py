"""A refused push is named by git's reason lines, not by its advice text (real git)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import git
import pytest

from vbot.git.push import reason


def _git(*args: str) -> None:
    subprocess.run(["git", *args], check=True, capture_output=True)


def test_a_push_to_a_checked_out_branch_is_one_short_reason(tmp_path: Path) -> None:
    src, clone = tmp_path / "src", tmp_path / "clone"
    _git("init", "-q", "-b", "main", str(src))
    (src / "a").write_text("a")
    _git("-C", str(src), "add", "a")
    _git("-C", str(src), "commit", "-qm", "a")
    _git("clone", "-q", str(src), str(clone))
    (clone / "a").write_text("b")
    _git("-C", str(clone), "commit", "-qam", "b")
    with pytest.raises(git.GitCommandError) as refused:
        git.Repo(clone).git.push("origin", "HEAD:refs/heads/main")
    text = reason(refused.value)
    assert text.startswith("refusing to update checked out branch: refs/heads/main; "
                           "! [remote rejected] HEAD -> main (branch is currently checked out)")
    assert "\n" not in text and "By default" not in text and "receive.denyCurrentBranch" \
        not in text
