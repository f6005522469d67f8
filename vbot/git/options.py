"""How much of the data repo a workspace holds: ``[git]`` in vbot.toml and ``--depth``.

```toml
[git]
depth = 1        # commits of history fetched (0: the whole history)
sparse = true    # check out the root files only (the folders are read from git)
filter = true    # partial clone (--filter=blob:none) where the server allows it
```
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vbot.config import read_settings
from vbot.errors import VbotError

# the folders vbot reads from the work tree: none. Cone mode checks out every file at the
# root (graph.json, vbot.toml); every folder stays in git, out of the work tree. Sweeps and
# merges read the node documents, versions/ and version_pr_info/ from git
# (vbot/git/headfiles.py: writing 25,000 node documents to disk was most of a fresh clone's
# time) and write into the work tree only the files they change (the commit takes the listed
# paths, vbot/git/commit.py)
SPARSE_FOLDERS: tuple[str, ...] = ()
DEFAULT_DEPTH = 1


@dataclass(frozen=True)
class CloneOptions:
    depth: int = DEFAULT_DEPTH  # 0: the whole history
    sparse: bool = True
    filter: bool = True

    @property
    def shallow(self) -> bool:
        return self.depth > 0


FULL = CloneOptions(depth=0, sparse=False, filter=False)  # a plain clone, as before


def _git_table(path: Path) -> Mapping[str, Any]:
    """``[git]`` of a vbot.toml, the whole file checked against the config schema first (a
    broken file is one line naming it and the key, whatever table the mistake is in)."""
    return read_settings(path).get("git", {})


def clone_options(config_files: list[Path], depth: int | None = None, *,
                  stale: Path | None = None) -> CloneOptions:
    """``[git]`` of ``stale`` (a copy not brought up to date yet: ignored when it cannot be
    read or is invalid), then of the existing ``config_files`` (later wins), then ``depth``
    (the CLI)."""
    values: dict[str, Any] = {}
    if stale is not None and stale.is_file():
        with contextlib.suppress(VbotError):  # the fetch brings the fix, read strictly later
            values.update(_git_table(stale))
    for path in config_files:
        if path.is_file():
            values.update(_git_table(path))
    kwargs = {key: values[key] for key in ("depth", "sparse", "filter") if key in values}
    if depth is not None:
        kwargs["depth"] = depth
    if kwargs.get("depth", DEFAULT_DEPTH) < 0:
        raise VbotError("[git] depth must not be negative (0: the whole history)")
    return CloneOptions(**kwargs)
