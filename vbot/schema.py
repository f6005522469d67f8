"""JSON Schema validation of the files vbot reads and writes."""

from __future__ import annotations

import functools
import json
from typing import Any

import jsonschema

from vbot.paths import resource_dir


@functools.cache
def validator(name: str) -> jsonschema.protocols.Validator:
    """A compiled validator for ``schemas/<name>.schema.json``."""
    schema = json.loads((resource_dir("schemas") / f"{name}.schema.json").read_text("utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def problems(name: str, doc: Any) -> list[str]:
    """Every schema violation of ``doc`` as a short message (empty when valid)."""
    errors = sorted(validator(name).iter_errors(doc), key=lambda e: list(e.absolute_path))
    out = []
    for err in errors:
        where = "/".join(str(p) for p in err.absolute_path)
        out.append(f"{where}: {err.message}" if where else err.message)
    return out


def is_valid(name: str, doc: Any) -> bool:
    return validator(name).is_valid(doc)
