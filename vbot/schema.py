"""JSON Schema validation of the files vbot reads and writes."""

from __future__ import annotations

import functools
import json
import re
from typing import TYPE_CHECKING, Any

from vbot.paths import resource_dir

if TYPE_CHECKING:
    import jsonschema


@functools.cache
def validator(name: str) -> jsonschema.protocols.Validator:
    """A compiled validator for ``schemas/<name>.schema.json``."""
    import jsonschema  # ~0.1 s to import: only when a document fails a fast check

    schema = json.loads((resource_dir("schemas") / f"{name}.schema.json").read_text("utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


# Fast paths for the small per-node documents (checked once per node per sweep/merge, where
# jsonschema costs ~0.5 ms each): they accept only documents the schema accepts; anything else
# goes to jsonschema, which decides and explains.
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+!-]*")


def _version_ok(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 200 and bool(_VERSION.fullmatch(value))


def _versions_ok(doc: Any) -> bool:
    if not isinstance(doc, dict) or len(doc) != 1:
        return False
    if "new_version" in doc:
        return doc["new_version"] is None or _version_ok(doc["new_version"])
    bad = doc.get("bad")
    return isinstance(bad, str) and bad.startswith("Upstream: ") and len(bad) <= 2000


def _graph_ok(doc: Any) -> bool:
    if not isinstance(doc, dict) or not isinstance(doc.get("nodes"), list):
        return False
    if any(k in doc and not isinstance(doc[k], bool) for k in ("directed", "multigraph")):
        return False
    if "graph" in doc and not isinstance(doc["graph"], dict):
        return False
    for node in doc["nodes"]:
        if not isinstance(node, dict) or not isinstance(node.get("id"), str) or not node["id"]:
            return False
        if "payload" in node and not (isinstance(node["payload"], dict)
                                      and isinstance(node["payload"].get("__lazy_json__"), str)):
            return False
    for key in ("links", "edges"):
        if key in doc and not (isinstance(doc[key], list) and all(
                isinstance(e, dict) and "source" in e and "target" in e for e in doc[key])):
            return False
    return True


_FAST = {"versions": _versions_ok, "new_version": _version_ok, "graph": _graph_ok}


def fast_valid(name: str, doc: Any) -> bool:
    """True when the fast check of ``name`` accepts ``doc`` (then the schema accepts it too)."""
    fast = _FAST.get(name)
    return fast is not None and fast(doc)


def problems(name: str, doc: Any) -> list[str]:
    """Every schema violation of ``doc`` as a short message (empty when valid)."""
    fast = _FAST.get(name)
    if fast is not None and fast(doc):
        return []
    errors = sorted(validator(name).iter_errors(doc), key=lambda e: list(e.absolute_path))
    out = []
    for err in errors:
        where = "/".join(str(p) for p in err.absolute_path)
        out.append(f"{where}: {err.message}" if where else err.message)
    return out


def is_valid(name: str, doc: Any) -> bool:
    fast = _FAST.get(name)
    if fast is not None and fast(doc):
        return True
    return validator(name).is_valid(doc)
