"""jsonschema's "valid" verdict on a large document, remembered by the document's exact bytes.

A repeat sweep reads the same ``graph.json`` again; validating its 25,000 nodes against
``schemas/graph.schema.json`` costs about half a second each time. A :class:`VerdictCache`
remembers that jsonschema accepted a document: one empty marker file per verdict in
``verdicts/`` of the cache folder, named by a sha256 of

- the document's exact bytes,
- the schema file's exact bytes and the schema's name,
- the jsonschema version,

so a changed byte in any of them is validated again, and only a verdict jsonschema itself gave
is ever remembered (a refusal is never remembered: it is re-validated, for its messages). A
cache that cannot be read or written is left alone: the document is validated as without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from importlib.metadata import version
from pathlib import Path

from vbot import schema

FOLDER = "verdicts"
KEEP = 16  # markers kept (the newest); a data repo has one graph.json at a time


class VerdictCache:
    def __init__(self, root: Path) -> None:
        self.folder = Path(root) / FOLDER

    @staticmethod
    def key(name: str, data: bytes) -> str | None:
        """The marker name for ``data`` under ``schemas/<name>.schema.json`` (None when the
        schema cannot be read: no verdict is then looked up or kept)."""
        try:
            schema_bytes = (schema.schema_dir() / f"{name}.schema.json").read_bytes()
        except OSError:
            return None
        h = hashlib.sha256()
        for part in (version("jsonschema").encode(), name.encode(), schema_bytes):
            h.update(len(part).to_bytes(8, "big"))
            h.update(part)
        h.update(data)
        return f"{name}-{h.hexdigest()}"

    def known_valid(self, name: str, data: bytes) -> bool:
        """True when jsonschema accepted exactly these bytes under exactly this schema."""
        key = self.key(name, data)
        return key is not None and (self.folder / key).is_file()

    def remember_valid(self, name: str, data: bytes) -> None:
        """Keep jsonschema's acceptance of ``data`` (call only after it accepted them)."""
        key = self.key(name, data)
        if key is None:
            return
        with contextlib.suppress(OSError):
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / key).touch()
            self._prune()

    def _prune(self) -> None:
        markers = sorted(self.folder.iterdir(), key=lambda p: p.stat().st_mtime_ns,
                         reverse=True)
        for old in markers[KEEP:]:
            with contextlib.suppress(OSError):
                os.unlink(old)
