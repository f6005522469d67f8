"""``vbot validate``: check graph.json, versions files and new_version entries against schemas/.

Three ways to pick the files: a whole data repo folder (default: the current directory), the
files named on the command line (how the pre-commit framework calls it), or ``--staged``: the
files staged in git's index, listed by one ``git diff --cached --raw`` call and read with one
``git cat-file --batch`` call (the git hook). Every problem is printed as ``path: message``.

The data repo's ``vbot.toml`` is checked as well, with the checks a sweep makes before its
first request: the config schema (unknown tables and keys, wrong types) and the keys each
source declares. A path named on the command line that does not exist is an error.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from vbot.check.preflight import source_key_problems
from vbot.config import CONFIG_NAME, settings_problems
from vbot.errors import VbotError
from vbot.git import log as gitlog
from vbot.git import maintainer
from vbot.repo.validation import FOLDERS, Validator, classify, data_files, read_all

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _rel(path: Path, cwd: Path) -> str:
    """``path`` relative to its data repo: the nearest folder up with a graph.json."""
    absolute = path if path.is_absolute() else cwd / path
    for parent in absolute.parents:
        if (parent / "graph.json").is_file():
            return absolute.relative_to(parent).as_posix()
    parts = absolute.parts
    for i, part in enumerate(parts):
        if part in FOLDERS:
            return "/".join(parts[i:])
    return parts[-1]


def config_problems(data: bytes | None) -> list[str]:
    """The problems of a vbot.toml's content, as a sweep would find them before starting."""
    if data is None:
        return ["cannot read the file"]
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        return ["invalid TOML: not UTF-8 text"]
    except tomllib.TOMLDecodeError as exc:
        return [f"invalid TOML: {exc}"]
    found = settings_problems(doc)
    if not found and isinstance(doc.get("sources"), dict):
        found = [problem for _, problem in source_key_problems(doc["sources"])]
    return found


def validate_items(items: Iterable[tuple[str, str, bytes | None]],
                   out: TextIO) -> tuple[int, int]:
    """Check ``(shown path, repo-relative path, content)`` items; print problems.

    Returns ``(files checked, problems)``.
    """
    checker = Validator()
    problems = 0
    settings = 0
    for shown, rel, data in items:
        if rel == CONFIG_NAME:
            settings += 1
            found = config_problems(data)
        else:
            found = checker.check(rel, data)
        for message in found:
            print(f"{shown}: {message}", file=out)
            problems += 1
    return checker.files + settings, problems


def validate(paths: list[Path], staged: bool, out: TextIO, err: TextIO,
             cwd: Path | None = None) -> int:
    """The command: returns the exit code (1 when any problem was found)."""
    cwd = (cwd or Path.cwd()).resolve()
    if staged:
        if len(paths) > 1:
            raise VbotError("--staged takes at most one DIR (the data repo clone)")
        top = maintainer.repo_toplevel(paths[0] if paths else cwd)
        staged = {p: sha for p, sha in gitlog.staged_blobs(top).items()
                  if classify(p) or p == CONFIG_NAME}
        blobs = gitlog.read_blobs(top, list(staged.values()))
        items: Iterable[tuple[str, str, bytes | None]] = (
            (p, p, blobs[sha]) for p, sha in sorted(staged.items()))
        what = "staged files"
    elif len(paths) <= 1 and (not paths or paths[0].is_dir()):
        root = paths[0] if paths else cwd
        if not (root / "graph.json").is_file():
            raise VbotError(f"{root}: no graph.json (not a data repo folder)")
        shown_base = "" if root.resolve() == cwd else f"{root.as_posix().rstrip('/')}/"
        rels = data_files(root) + ([CONFIG_NAME] if (root / CONFIG_NAME).is_file() else [])
        items = ((shown_base + rel, rel, data)
                 for rel, data in zip(rels, read_all(root, rels), strict=True))
        what = "files"
    else:
        dirs = [p for p in paths if p.is_dir()]
        if dirs:
            raise VbotError(f"give one data repo folder or files, not both: {dirs[0]}")
        missing = [p for p in paths if not p.exists()]
        if missing:  # a mistyped name is not a file with no problems
            raise VbotError(f"{missing[0]}: no such file or folder")
        items = ((p.as_posix(), _rel(p, cwd), _read(p)) for p in paths)
        what = "files"
    files, problems = validate_items(items, out)
    verdict = "ok" if not problems else f"{problems} problem{'s' * (problems != 1)}"
    print(f"vbot validate: {files} {what} checked, {verdict}", file=err)
    return 1 if problems else 0
