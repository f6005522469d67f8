"""How much of the data repo a workspace holds: ``[git]`` in vbot.toml and ``--depth``.

```toml
[git]
depth = 1        # commits of history fetched (0: the whole history)
sparse = true    # check out only the folders vbot reads and writes
filter = true    # partial clone (--filter=blob:none) where the server allows it
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vbot.errors import VbotError

# the folders vbot reads and writes; cone mode adds every file at the root (graph.json,
# vbot.toml); everything else (pr_info/, ...) stays in git, out of the work tree
SPARSE_FOLDERS = ("node_attrs", "version_pr_info", "versions")
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


def _read_table(path: Path) -> Mapping[str, Any]:
    from vbot.config import _read_toml  # one TOML reader for all of vbot.toml

    table = _read_toml(path).get("git", {})
    if not isinstance(table, dict):
        raise VbotError(f"{path}: [git] must be a table")
    return table


def clone_options(config_files: list[Path], depth: int | None = None) -> CloneOptions:
    """``[git]`` of the existing ``config_files`` (later wins), then ``depth`` (the CLI)."""
    values: dict[str, Any] = {}
    for path in config_files:
        if path.is_file():
            for key, value in _read_table(path).items():
                values[key] = (value, path)
    kwargs: dict[str, Any] = {}
    for key, kind in (("depth", int), ("sparse", bool), ("filter", bool)):
        if key in values:
            value, where = values[key]
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                what = "an integer" if kind is int else "true or false"
                raise VbotError(f"{where}: [git] {key} must be {what}")
            kwargs[key] = value
    unknown = sorted(set(values) - {"depth", "sparse", "filter"})
    if unknown:
        raise VbotError(f"{values[unknown[0]][1]}: [git] has no setting {unknown[0]!r} "
                        "(depth, sparse, filter)")
    if depth is not None:
        kwargs["depth"] = depth
    if kwargs.get("depth", DEFAULT_DEPTH) < 0:
        raise VbotError("[git] depth must not be negative (0: the whole history)")
    return CloneOptions(**kwargs)
