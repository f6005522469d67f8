"""GitHub's GraphQL endpoint (``POST /github/graphql``) for the query shape vbot sends.

Understands aliased ``repository(owner: "...", name: "...")`` fields asking for
``releases(first: N) { nodes { tagName isDraft isPrerelease } }`` and
``refs(refPrefix: "refs/tags/", first: N) { nodes { name } }``; answers from the world's
``github`` table like the REST routes do.
A repository missing from the world is ``null`` with a ``NOT_FOUND`` error, as GitHub does.
"""

from __future__ import annotations

import json
import re
from typing import Any

from vbot.testing.fakeupstream.responses import Rendered

_FIELD = re.compile(
    r'(?P<alias>\w+)\s*:\s*repository\(\s*owner:\s*(?P<owner>"(?:[^"\\]|\\.)*")\s*,\s*'
    r'name:\s*(?P<name>"(?:[^"\\]|\\.)*")\s*\)')
_FIRST = re.compile(r"refs\([^)]*first:\s*(\d+)")


def render(world: dict[str, Any], body: bytes) -> Rendered:
    try:
        query = json.loads(body)["query"]
        assert isinstance(query, str)
    except (ValueError, KeyError, TypeError, AssertionError):
        return 400, "application/json", b'{"message":"Problems parsing JSON"}'
    first = _FIRST.search(query)
    limit = min(100, int(first.group(1))) if first else 100
    data: dict[str, Any] = {}
    errors = []
    for match in _FIELD.finditer(query):
        repo = f"{json.loads(match['owner'])}/{json.loads(match['name'])}"
        entry = world.get("github", {}).get(repo)
        if entry is None:
            data[match["alias"]] = None
            errors.append({"type": "NOT_FOUND", "path": [match["alias"]],
                           "message": f"Could not resolve to a Repository with the name '{repo}'."})
            continue
        data[match["alias"]] = {
            "releases": {"nodes": [
                {"tagName": r["tag_name"], "isDraft": bool(r.get("draft")),
                 "isPrerelease": bool(r.get("prerelease"))} for r in entry.get("releases", [])]},
            "refs": {"nodes": [{"name": t} for t in entry.get("tags", [])[:limit]]},
        }
    if "rateLimit" in query:
        data["rateLimit"] = {"cost": 1, "remaining": 4999}
    doc: dict[str, Any] = {"data": data}
    if errors:
        doc["errors"] = errors
    return 200, "application/json", json.dumps(doc, separators=(",", ":")).encode()
