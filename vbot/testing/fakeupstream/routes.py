"""Routes and bodies of the fake upstream beyond the skeleton's PyPI/GitHub/npm/files.

World keys (next to ``pypi``, ``github``, ``npm``, ``files``); where two shapes are given,
both are accepted:

- ``github``: ``{"o/r": {"releases": [{"tag_name", "prerelease", "draft"}], "tags": [...]}}``;
  ``GET /github/repos/o/r/releases`` lists releases, ``…/tags`` pages with a ``Link`` header.
- ``cran``: ``{"Lahman": "14.0-0"}`` (or a list of versions): ``/cran/src/contrib/PACKAGES``.
- ``crates``: ``{"serde": [{"vers", "yanked"}, …]}`` or ``{"serde": {"versions": [...],
  "yanked": [...]}}``, oldest published first: ``/crates/<tier>/<name>`` (sparse index lines)
  and ``/crates-api/api/v1/crates?ids[]=…`` (crates.io's API, batched ``max_stable_version``).
- ``gitlab``: ``{"group/project": {"releases": ["v1.0" | {"tag_name", "upcoming_release"}],
  "tags": [...]}}``: ``/gitlab/api/v4/projects/<enc>/releases`` and ``…/repository/tags``.
- ``ros``: ``{"humble": {"<repo>": "1.2.3-1" | {"version": "1.2.3-1", "packages": [...]}}}``:
  ``/ros/<distro>/distribution.yaml``.
- ``git``: ``{"https://<host>/<path>": [tags]}`` or ``{"<host>/<path>": {"tags": [...]}}``: a
  real bare repo (built on first use), served by dumb HTTP under ``/git/<host>/<path>``
  (``FakeUpstream.env()`` sets ``VBOT_GIT_REWRITE`` so that ``https://<host>/`` goes there).
- ``rubygems``: ``{"<gem>": [{"number": "5.6.1", "prerelease": false}, …]}`` newest first:
  ``/rubygems/api/v1/versions/<gem>.json`` (``registries.py``).
- ``metacpan``: ``{"<Dist>": {"version": "0.016", "maturity": "released"}}``:
  ``/metacpan/v1/release/<Dist>``, the latest release document (``registries.py``).
- ``nvidia``: ``{"<subdir>": {"<X.Y.Z>": {"<json_name>": {"version": "0.4.0.1"}}}}``:
  ``/nvidia/compute/<subdir>/redist/`` (HTML index) and ``…/redist/redistrib_<X.Y.Z>.json``
  (``registries.py``).
"""

from __future__ import annotations

import json
import tempfile
import threading
from pathlib import Path
from typing import Any

import yaml

from vbot.testing.fakeupstream import registries, responses

Rendered = responses.Rendered
JSON = "application/json"


def _json(obj: Any, headers: dict[str, str] | None = None) -> Rendered:
    body = json.dumps(obj, separators=(",", ":")).encode()
    return (200, JSON, body, headers) if headers else (200, JSON, body)  # type: ignore[return-value]


# -- GitHub ------------------------------------------------------------------------------------
def github(world: dict[str, Any], path: str, query: dict[str, list[str]]) -> Rendered | None:
    parts = path.split("/")
    if len(parts) < 4 or parts[0] != "repos":
        return None
    repo = f"{parts[1]}/{parts[2]}"
    rest = "/".join(parts[3:])
    entry = world.get("github", {}).get(repo)
    if rest == "releases/latest":
        return responses.render_github_latest(world, repo)
    if entry is None:
        return None
    page = max(1, int(query.get("page", ["1"])[0]))
    per_page = min(100, max(1, int(query.get("per_page", ["30"])[0])))
    if rest == "releases":
        rels = entry.get("releases", [])[(page - 1) * per_page : page * per_page]
        return _json([{"tag_name": r["tag_name"], "name": r.get("name", r["tag_name"]),
                       "draft": bool(r.get("draft")), "prerelease": bool(r.get("prerelease")),
                       "id": i + 1} for i, r in enumerate(rels)])
    if rest == "tags":
        tags = entry.get("tags", [])
        chunk = tags[(page - 1) * per_page : page * per_page]
        body = [{"name": t, "commit": {"sha": f"{i:040x}"}, "zipball_url": "",
                 "tarball_url": ""} for i, t in enumerate(chunk)]
        if page * per_page >= len(tags):
            return _json(body)
        link = (f'</github/repos/{repo}/tags?per_page={per_page}&page={page + 1}>; '
                f'rel="next"')
        return _json(body, {"Link": link})
    return None


# -- CRAN --------------------------------------------------------------------------------------
def cran(world: dict[str, Any], path: str, query: dict[str, list[str]]) -> Rendered | None:
    if path != "src/contrib/PACKAGES":
        return None
    stanzas = []
    for pkg, vers in sorted(world.get("cran", {}).items()):
        for ver in [vers] if isinstance(vers, str) else vers:
            stanzas.append(f"Package: {pkg}\nVersion: {ver}\nDepends: R (>= 3.5.0)\n"
                           f"Imports: stats, utils\nLicense: GPL-2\n"
                           f"MD5sum: {'0' * 32}\nNeedsCompilation: no\n")
    return 200, "text/plain", "\n".join(stanzas).encode()


# -- crates sparse index -----------------------------------------------------------------------
def crates(world: dict[str, Any], path: str, query: dict[str, list[str]]) -> Rendered | None:
    from vbot.sources.crates import index_path

    name = path.rsplit("/", 1)[-1]
    for crate, entry in world.get("crates", {}).items():
        if crate.lower() == name and index_path(crate) == path:
            if isinstance(entry, dict):
                yanked = set(entry.get("yanked", []))
                entry = [{"vers": v, "yanked": v in yanked} for v in entry.get("versions", [])]
            lines = [json.dumps({"name": crate, "vers": e["vers"], "deps": [], "cksum": "0" * 64,
                                 "features": {}, "yanked": bool(e.get("yanked")), "v": 2},
                                separators=(",", ":")) for e in entry]
            return 200, "text/plain", ("\n".join(lines) + "\n").encode()
    return None


def _semver_key(vers: str) -> tuple[int, ...] | None:
    """Precedence of a stable ``X.Y.Z[+build]`` (None: a pre-release or not semver)."""
    core = vers.split("+", 1)[0]
    if "-" in core:
        return None
    parts = core.split(".")
    return tuple(int(p) for p in parts) if len(parts) == 3 and all(
        p.isdigit() for p in parts) else None


def crates_api(world: dict[str, Any], path: str, query: dict[str, list[str]]) -> Rendered | None:
    """crates.io's ``GET /api/v1/crates?ids[]=…&per_page=…``: the named crates that exist,
    each with ``max_stable_version`` (highest non-yanked stable by semver precedence)."""
    if path != "api/v1/crates":
        return None
    wanted = {n.lower() for n in query.get("ids[]", [])}
    per_page = int(query.get("per_page", ["10"])[0])
    out = []
    for crate, entry in sorted(world.get("crates", {}).items()):
        if crate.lower() not in wanted:
            continue
        if isinstance(entry, dict):
            yanked = set(entry.get("yanked", []))
            entry = [{"vers": v, "yanked": v in yanked} for v in entry.get("versions", [])]
        live = [e["vers"] for e in entry if not e.get("yanked")]
        stable = [v for v in live if _semver_key(v) is not None]
        best = max(stable, key=lambda v: _semver_key(v) or (), default=None)
        newest = live[-1] if live else None
        out.append({"id": crate, "name": crate, "updated_at": "2025-01-01T00:00:00.000000+00:00",
                    "created_at": "2020-01-01T00:00:00.000000+00:00", "versions": None,
                    "keywords": None, "categories": None, "badges": [], "downloads": 1000,
                    "recent_downloads": 100, "default_version": best or newest,
                    "num_versions": len(entry), "yanked": not live, "max_version": newest,
                    "newest_version": newest, "max_stable_version": best,
                    "description": f"The {crate} crate", "homepage": None,
                    "documentation": None, "repository": None, "exact_match": False,
                    "links": {"owners": f"/api/v1/crates/{crate}/owners"}})
    return _json({"crates": out[:per_page],
                  "meta": {"total": len(out), "next_page": None, "prev_page": None}})


# -- GitLab ------------------------------------------------------------------------------------
def gitlab(world: dict[str, Any], path: str, query: dict[str, list[str]]) -> Rendered | None:
    prefix = "api/v4/projects/"
    if not path.startswith(prefix):
        return None
    rest = path[len(prefix) :]
    for suffix, key in (("/releases", "releases"), ("/repository/tags", "tags")):
        if rest.endswith(suffix):
            entry = world.get("gitlab", {}).get(rest[: -len(suffix)])
            if entry is None:
                return 404, JSON, b'{"message":"404 Project Not Found"}'
            if key == "releases":
                rels = [{"tag_name": r} if isinstance(r, str) else r
                        for r in entry.get("releases", [])]
                return _json([{"tag_name": r["tag_name"], "name": r.get("name", r["tag_name"]),
                               "upcoming_release": bool(r.get("upcoming_release"))}
                              for r in rels])
            return _json([{"name": t, "message": "", "target": "0" * 40,
                           "commit": {"id": "0" * 40}} for t in entry.get("tags", [])])
    return None


# -- rosdistro ---------------------------------------------------------------------------------
def ros(world: dict[str, Any], path: str, query: dict[str, list[str]]) -> Rendered | None:
    distro, _, rest = path.partition("/")
    table = world.get("ros", {}).get(distro)
    if rest != "distribution.yaml" or table is None:
        return None
    repos = {}
    for repo, entry in sorted(table.items()):
        entry = {"version": entry} if isinstance(entry, str) else entry
        tag_tmpl = "release/" + distro + "/{package}/{version}"
        release: dict[str, Any] = {"tags": {"release": tag_tmpl},
                                   "url": f"https://github.com/ros2-gbp/{repo}-release.git",
                                   "version": entry["version"]}
        if entry.get("packages"):
            release["packages"] = list(entry["packages"])
        repos[repo] = {"doc": {"type": "git", "url": f"https://github.com/ros/{repo}.git",
                               "version": distro},
                       "release": release, "status": "maintained"}
    doc = {"release_platforms": {"ubuntu": ["jammy"]}, "repositories": repos,
           "type": "distribution", "version": 2}
    return 200, "text/yaml", yaml.safe_dump(doc, sort_keys=True).encode()


# -- git (dumb HTTP) ---------------------------------------------------------------------------
def _git_repos(world: dict[str, Any]) -> dict[str, list[str]]:
    """``<host>/<path>`` -> tags, from either world shape."""
    out = {}
    for key, entry in world.get("git", {}).items():
        tags = entry if isinstance(entry, list) else entry.get("tags", [])
        out[key.split("://", 1)[-1].rstrip("/")] = list(tags)
    return out


def git(world: dict[str, Any], path: str, query: dict[str, list[str]]) -> Rendered | None:
    repos = _git_repos(world)
    key = next((k for k in sorted(repos, key=len, reverse=True)
                if path.startswith(k + "/")), None)
    if key is None:
        return None
    rel = path[len(key) + 1 :]
    bare = _bare_repo(world, key, repos[key])
    target = (bare / rel).resolve()
    if not target.is_relative_to(bare) or not target.is_file():
        return None
    return 200, "text/plain", target.read_bytes()


def _bare_repo(world: dict[str, Any], key: str, tags: list[str]) -> Path:
    from vbot.git.tags import make_tag_repo

    lock = world.setdefault("_git_lock", threading.Lock())
    with lock:
        tmp = world.setdefault("_git_tmp", tempfile.TemporaryDirectory(prefix="vbot-fake-git-"))
        built = world.setdefault("_git_built", {})
        if key not in built:
            bare = Path(tmp.name) / f"repo{len(built)}.git"
            make_tag_repo(bare, tags)
            built[key] = bare.resolve()
        return built[key]


def git_rewrite(world: dict[str, Any], base: str) -> str:
    """``VBOT_GIT_REWRITE`` pointing every host of ``world["git"]`` at ``/git/<host>/``."""
    hosts = sorted({k.split("/", 1)[0] for k in _git_repos(world)})
    return ",".join(f"https://{h}/={base}/git/{h}/,http://{h}/={base}/git/{h}/"
                    f",git://{h}/={base}/git/{h}/" for h in hosts)


ROUTES = {"github": github, "cran": cran, "crates": crates, "crates-api": crates_api,
          "gitlab": gitlab, "ros": ros, "git": git, **registries.ROUTES}
