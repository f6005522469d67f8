"""Deterministic JSON files: sorted keys, 2-space indent, atomic writes, no churn.

Files another tool wrote (conda-forge's bot writes ``version_pr_info`` with 1-space indent and
no final newline) keep their own style when vbot changes them: :func:`style_of` reads it,
:func:`dumps_styled` writes in it, so a diff shows the changed lines only.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vbot.errors import VbotError

_SCALARS = (str, int, bool, type(None))


def dumps(obj: Any) -> str:
    """The one canonical text of a JSON document in a data repo."""
    if (type(obj) is dict and obj and all(type(k) is str for k in obj)
            and all(type(v) in _SCALARS for v in obj.values())):
        # a flat object (versions files, most merge results): the same text as below without
        # the pure-Python indenting encoder, whose cost dominates writing many small files
        return "{\n" + ",\n".join(
            f"  {_scalar(k)}: {_scalar(obj[k])}" for k in sorted(obj)) + "\n}\n"
    return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


_scalar = json.JSONEncoder(ensure_ascii=False).encode


@dataclass(frozen=True)
class Style:
    """How a JSON file is laid out: ``indent`` (a string of spaces or tabs; None for one
    line), a final newline or not, non-ASCII text as ``\\u`` escapes or not. Keys are always
    sorted, as both bots write them."""

    indent: str | None = "  "
    newline: bool = True
    ascii: bool = False


CANONICAL = Style()
_FIRST_INDENT = re.compile(r"\n(?:[ \t]*\r?\n)*([ \t]*)[^ \t\r\n]")
# a \\uXXXX escape (not an escaped backslash before a "u") of a character above ASCII
_NON_ASCII_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u(?:00[89a-fA-F]|0[1-9a-fA-F]|[1-9a-fA-F])")


def style_of(text: str | bytes) -> Style:
    """The style of an existing JSON text (the canonical one where it shows none)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    body = text.rstrip(" \t\r\n")
    indent: str | None = None
    match = _FIRST_INDENT.search(body)  # the first line after the first that has text
    if match:
        indent = match.group(1) or None
    if "\n" not in body and body[:1] in "[{" and len(body) > 2:
        indent = None  # one line: {"a": 1}
    elif indent is None:
        indent = CANONICAL.indent  # "{}" and the like show no indent: keep vbot's
    return Style(indent=indent, newline=text.endswith("\n"),
                 ascii=text.isascii() and _NON_ASCII_ESCAPE.search(text) is not None)


def dumps_styled(obj: Any, style: Style = CANONICAL) -> str:
    """``obj`` as JSON in ``style`` (:func:`dumps` for the canonical style)."""
    if style == CANONICAL:
        return dumps(obj)
    text = json.dumps(obj, sort_keys=True, indent=style.indent, ensure_ascii=style.ascii)
    return text + "\n" if style.newline else text


def folder_style(root: str | os.PathLike[str], folder: str) -> Style:
    """The style of the first existing ``.json`` file under ``folder`` of the data repo at
    ``root`` (sorted walk, links neither followed nor read), for a new file of that folder;
    the canonical style when there is none."""
    from vbot.repo.paths import read_contained

    for top, dirs, files in os.walk(os.path.join(root, folder)):
        dirs.sort()
        for fname in sorted(files):
            if not fname.endswith(".json") or fname.startswith("."):
                continue
            rel = os.path.relpath(os.path.join(top, fname), root).replace(os.sep, "/")
            try:
                data = read_contained(root, rel)
            except VbotError:
                continue
            if data is not None:
                return style_of(data)
    return CANONICAL


def loads(text: str | bytes, where: str) -> Any:
    """Parse JSON, turning a syntax error into a VbotError naming the file and position."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise VbotError(f"{where}: invalid JSON at line {exc.lineno} column {exc.colno}: "
                        f"{exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise VbotError(f"{where}: not UTF-8 text at byte {exc.start}") from None
    except RecursionError:
        raise VbotError(f"{where}: invalid JSON: nested too deeply") from None


def load(path: Path, where: str | None = None) -> Any:
    """Read and parse a JSON file; errors name ``where`` (default: the path)."""
    label = where or str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise VbotError(f"{label}: cannot read: {exc.strerror or exc}") from None
    return loads(data, label)


_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def _open_temp(folder: str, name: str) -> tuple[int, str]:
    """A new, exclusive temp file next to ``name``: unique per process and thread, without
    ``mkstemp``'s random names; ``O_EXCL`` never follows or reuses a file."""
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        return os.open(tmp, _TEMP_FLAGS, 0o644), tmp
    except FileExistsError:  # left by a killed process that had our pid and thread id
        os.unlink(tmp)
        return os.open(tmp, _TEMP_FLAGS, 0o644), tmp


def atomic_write_text(path: Path | str, text: str, fsync: bool = True) -> None:
    """Write ``text`` to ``path`` via a temp file in the same folder and a rename.

    ``fsync=False`` for files that a git commit makes durable (versions files, merge results):
    the rename still makes the write atomic for readers, and a file torn by a power cut before
    the commit is an uncommitted change, which the next run discards.

    Plain ``os`` calls on purpose: ``tempfile.mkstemp`` + a text wrapper + ``Path.mkdir``
    cost several times the system calls' own time per small file (figures in
    benchmarks/RESULTS.md).
    """
    atomic_write_bytes(path, text.encode("utf-8"), fsync)


def atomic_write_bytes(path: Path | str, data: bytes, fsync: bool = True) -> None:
    """:func:`atomic_write_text` of bytes."""
    folder, name = os.path.split(os.fspath(path))
    try:
        fd, tmp = _open_temp(folder, name)
    except FileNotFoundError:  # mkdir only when needed: it is a syscall per file otherwise
        os.makedirs(folder, exist_ok=True)
        fd, tmp = _open_temp(folder, name)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


_MISSING = object()
MISSING = _MISSING  # what parse_or_missing returns for no file or unparseable bytes


def read_if_valid(path: Path) -> Any:
    """Parsed content of ``path``, or a sentinel when it is missing or unparseable."""
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return _MISSING


def read_parsed(path: Path) -> tuple[Any, bytes | None]:
    """(parsed content, the bytes) of ``path``; (a sentinel, None) when it is missing or
    unparseable. The bytes give a writer the file's style (:func:`style_of`)."""
    try:
        data = path.read_bytes()
        return json.loads(data), data
    except (OSError, ValueError, RecursionError):
        return _MISSING, None


def parse_or_missing(data: bytes | None) -> Any:
    """:func:`read_parsed`'s reading of bytes already read (None: no file)."""
    if data is None:
        return _MISSING
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return _MISSING


def write_if_changed(path: Path, obj: Any, fsync: bool = True,
                     new_style: Style = CANONICAL) -> bool:
    """Write ``obj`` unless the file already parses to the same value: in the file's own style
    (indent, final newline), ``new_style`` for a new or unparseable file.

    Returns True when the file was (re)written.
    """
    current, data = read_parsed(path)
    if current == obj:
        return False
    style = style_of(data) if data is not None else new_style
    atomic_write_text(path, dumps_styled(obj, style), fsync=fsync)
    return True
