"""``vbot install-hooks``: install vbot's pre-commit hook into a data repo clone.

An existing pre-commit hook that is not vbot's is kept: it is renamed ``pre-commit.local`` and
vbot's hook runs it first. Installing again refreshes vbot's hook and keeps the chained one.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import TextIO

from vbot.errors import VbotError
from vbot.git import maintainer
from vbot.shipped import resource_dir

MARKER = "# vbot-hook:"
PYTHON_LINE = 'vbot_python="${VBOT_PYTHON:-}"'


def hook_text(python: str) -> str:
    """The shipped hook with the interpreter that runs vbot filled in."""
    text = (resource_dir("hooks") / "pre-commit").read_text("utf-8")
    if PYTHON_LINE not in text:  # pragma: no cover - guards the shipped file
        raise VbotError("the shipped pre-commit hook is damaged")
    quoted = "".join("\\" + c if c in '\\"$`}' else c for c in python)
    return text.replace(PYTHON_LINE, f'vbot_python="${{VBOT_PYTHON:-{quoted}}}"')


def _is_ours(path: Path) -> bool:
    try:
        return MARKER in path.read_text("utf-8", "replace")
    except OSError:
        return False


def install_hooks(repo_dir: Path, out: TextIO, python: str | None = None) -> Path:
    """Install the hook; returns its path."""
    top = maintainer.repo_toplevel(repo_dir)
    hooks = maintainer.hooks_dir(top)
    hooks.mkdir(parents=True, exist_ok=True)
    target = hooks / "pre-commit"
    kept = hooks / "pre-commit.local"
    if (target.exists() or target.is_symlink()) and not _is_ours(target):
        if kept.exists() or kept.is_symlink():
            raise VbotError(f"{target} exists and so does {kept}; merge them by hand")
        os.replace(target, kept)
        if not os.access(kept, os.X_OK):
            kept.chmod(kept.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        print(f"kept the existing hook as {kept} (vbot's hook runs it first)", file=out)
    tmp = target.with_name(".pre-commit.vbot.tmp")
    tmp.write_text(hook_text(python or sys.executable), "utf-8")
    tmp.chmod(0o755)
    os.replace(tmp, target)
    print(f"installed {target}", file=out)
    return target
