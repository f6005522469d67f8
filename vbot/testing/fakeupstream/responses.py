"""Response bodies in the real API shapes, rendered from a world file.

Each ``render_*`` function returns ``(status, content_type, body_bytes)`` or None (404).
Bodies follow the samples in ``samples/`` (real answers with registry hosts renamed).
"""

from __future__ import annotations

import copy
import functools
import json
from importlib import resources
from typing import Any

Rendered = tuple[int, str, bytes]
JSON = "application/json"


@functools.cache
def sample(name: str) -> dict[str, Any]:
    text = resources.files("vbot.testing.fakeupstream").joinpath("samples", name).read_text("utf-8")
    return json.loads(text)


def _json(obj: Any) -> Rendered:
    return 200, JSON, json.dumps(obj, separators=(",", ":")).encode()


def _pypi_file(name: str, version: str, yanked: bool, big: dict[str, Any] | None) -> dict:
    entry = copy.deepcopy(big) if big else {
        "comment_text": "", "digests": {"md5": "0" * 32, "sha256": "0" * 64},
        "packagetype": "sdist", "python_version": "source", "requires_python": ">=3.9",
        "size": 12345, "upload_time": "2025-01-01T00:00:00", "has_sig": False,
    }
    fname = f"{name}-{version}.tar.gz"
    entry.update({
        "filename": fname, "yanked": yanked, "yanked_reason": "broken" if yanked else None,
        "url": f"https://files.pypi.example/packages/source/{name[0]}/{name}/{fname}",
    })
    return entry


def render_pypi(world: dict[str, Any], name: str) -> Rendered | None:
    entry = world.get("pypi", {}).get(name)
    if entry is None:
        return None
    vers = list(entry.get("versions", []))
    yanked = set(entry.get("yanked", []))
    large = bool(entry.get("large"))
    if large:
        base = sample("pypi-requests.json")
        tmpl_files = next(f for f in base["releases"].values() if f)
        info = dict(base["info"], name=name)
        doc: dict[str, Any] = {"info": info, "urls": base["urls"], "last_serial": 1,
                               "vulnerabilities": []}
        files = [tmpl_files[0]] * 2
    else:
        info = {"name": name, "summary": f"{name} package", "author": None, "license": "MIT",
                "description": f"# {name}\n\n" + "Lorem ipsum dolor sit amet. " * 40,
                "requires_python": ">=3.9", "project_urls": {}, "yanked": False}
        doc = {"info": info, "urls": [], "last_serial": 1, "vulnerabilities": []}
        files = [None]
    stable = [v for v in vers if v not in yanked]
    info["version"] = stable[-1] if stable else (vers[-1] if vers else "0")
    releases: dict[str, Any] = {}
    if large:  # the real document's history, as yanked dev releases: realistic size, no effect
        for i, old in enumerate(sample("pypi-requests.json")["releases"].values()):
            releases[f"0.0.dev{i}"] = [dict(f, yanked=True) for f in old]
    releases.update({v: [_pypi_file(name, v, v in yanked, f) for f in files] for v in vers})
    doc["releases"] = releases
    feeds = world.get("_feeds")  # the project's serial in the change feed (feeds.py)
    serial = feeds.project_serial(name, bool(entry.get("stale"))) if feeds is not None else 1
    doc["last_serial"] = serial
    status, ctype, body = _json(doc)
    return status, ctype, body, {"X-PyPI-Last-Serial": str(serial)}  # type: ignore[return-value]


def render_github_latest(world: dict[str, Any], repo: str) -> Rendered | None:
    entry = world.get("github", {}).get(repo)
    if entry is None:
        return None
    for rel in entry.get("releases", []):
        if not rel.get("draft") and not rel.get("prerelease"):
            return _json({"tag_name": rel["tag_name"], "name": rel.get("name", rel["tag_name"]),
                          "draft": False, "prerelease": False, "id": 1,
                          "html_url": f"https://github.com/{repo}/releases/tag/{rel['tag_name']}"})
    return 404, JSON, b'{"message":"Not Found","documentation_url":"https://docs.github.com"}'


def render_npm(world: dict[str, Any], name: str) -> Rendered | None:
    entry = world.get("npm", {}).get(name)
    if entry is None:
        return None
    vers = entry.get("versions", [])
    latest = entry.get("latest") or (vers[-1] if vers else None)
    tmpl = next(iter(sample("npm-is-number.json")["versions"].values()))
    doc = {
        "_id": name, "name": name, "dist-tags": {"latest": latest} if latest else {},
        "versions": {v: dict(tmpl, name=name, version=v, _id=f"{name}@{v}") for v in vers},
        "time": {v: f"2025-01-{i % 28 + 1:02d}T00:00:00.000Z" for i, v in enumerate(vers)},
    }
    return _json(doc)
