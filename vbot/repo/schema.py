"""JSON Schema validation: the files in ``schemas/`` alone decide what is valid.

One validator is compiled per schema file and reused while the file is unchanged: it is looked
up by the file's stat signature (mtime, ctime, size, inode), so an edited installed schema takes
effect at the next document, without a restart. Problems are rendered ``path: message`` (the
path of the offending value inside the document, ``/``-joined).

Verdicts on small flat documents (versions files, ``new_version`` values) are remembered per
compiled validator: a data repo holds few distinct ones, and every remembered verdict is
jsonschema's own.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from vbot.errors import VbotError
from vbot.shipped import resource_dir

MEMO_SIZE = 32768  # remembered verdicts per schema (a few MB at most)
_SCALARS = (str, int, float, bool, type(None))


@functools.cache
def schema_dir() -> Path:
    """The installed ``schemas/`` folder (where it is does not change while vbot runs; what
    is in it may)."""
    return resource_dir("schemas")


@dataclass
class Schema:
    """A compiled schema file and the verdicts it gave on small flat documents."""

    validator: Any  # jsonschema.protocols.Validator
    _memo: dict[Any, bool] = field(default_factory=dict, repr=False)

    def is_valid(self, doc: Any) -> bool:
        key = _memo_key(doc)
        if key is None:
            return bool(self.validator.is_valid(doc))
        verdict = self._memo.get(key)
        if verdict is None:
            verdict = bool(self.validator.is_valid(doc))
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = verdict
        return verdict

    def problems(self, doc: Any, prefix: str = "") -> list[str]:
        """Every violation as ``path: message`` (the closest branch's for oneOf/anyOf)."""
        if self.is_valid(doc):
            return []
        out = []
        for top in sorted(self.validator.iter_errors(doc),
                          key=lambda e: list(map(str, e.absolute_path))):
            for err in _causes(top):
                where = "/".join(str(p) for p in err.absolute_path)
                where = f"{prefix}/{where}" if prefix and where else (prefix or where)
                out.append(f"{where}: {err.message}" if where else err.message)
        return out


def _memo_key(doc: Any) -> Any:
    """A hashable stand-in for a scalar or a flat object of scalars (types included:
    ``True == 1`` for Python, not for JSON Schema); None for anything else."""
    kind = type(doc)
    if kind in _SCALARS:
        return (kind, doc)
    if kind is dict and len(doc) <= 4:
        items = []
        for k, v in doc.items():
            if type(k) is not str or type(v) not in _SCALARS:
                return None
            items.append((k, type(v), v))
        return tuple(sorted(items, key=lambda item: item[0]))
    return None


@functools.lru_cache(maxsize=16)
def _compile(path: str, stamp: tuple[int, ...]) -> Schema:
    try:
        doc = json.loads(Path(path).read_text("utf-8"))
        cls = jsonschema.validators.validator_for(doc)
        cls.check_schema(doc)
    except (OSError, ValueError, jsonschema.exceptions.SchemaError) as exc:
        raise VbotError(f"{path}: not a usable JSON Schema: "
                        f"{getattr(exc, 'message', None) or exc}") from None
    return Schema(cls(doc))


def load(name: str) -> Schema:
    """The compiled ``schemas/<name>.schema.json`` (compiled again when the file changed)."""
    path = os.path.join(schema_dir(), f"{name}.schema.json")
    try:
        st = os.stat(path)
    except OSError as exc:
        raise VbotError(f"{path}: cannot read the schema: {exc.strerror or exc}") from None
    return _compile(path, (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino))


def validator(name: str) -> Any:
    """The compiled jsonschema validator of ``schemas/<name>.schema.json``."""
    return load(name).validator


def problems(name: str, doc: Any, prefix: str = "") -> list[str]:
    """Every schema violation of ``doc`` as ``path: message`` (empty when valid)."""
    return load(name).problems(doc, prefix)


def is_valid(name: str, doc: Any) -> bool:
    return load(name).is_valid(doc)


def _causes(err: ValidationError) -> list[ValidationError]:
    """The errors worth showing for ``err``: for oneOf/anyOf, those of the closest branch."""
    if not err.context:
        return [err]
    branches: dict[Any, list[ValidationError]] = {}
    for sub in err.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)

    def distance(subs: list[ValidationError]) -> tuple[int, int]:
        missing = sum(s.validator == "required" for s in subs if not s.relative_path)
        wrong_type = sum(s.validator == "type" for s in subs if not s.relative_path)
        return (missing + wrong_type, len(subs))

    best = min(branches.values(), key=distance)
    if distance(best)[0] and all(distance(b)[0] for b in branches.values()):
        return [_no_branch(err)]  # no branch fits at all: say what was expected
    return [cause for sub in best for cause in _causes(sub)]


def _no_branch(err: ValidationError) -> ValidationError:
    wanted = []
    for sub in err.validator_value if isinstance(err.validator_value, list) else []:
        if "required" in sub:
            wanted.append(f"an object with {' and '.join(map(repr, sub['required']))}")
        elif "const" in sub:
            wanted.append(json.dumps(sub["const"]))
        elif "type" in sub:
            wanted.append(f"a {sub['type']}")
    if wanted:
        err.message = f"{err.instance!r} is not {' or '.join(wanted)}"
    return err
