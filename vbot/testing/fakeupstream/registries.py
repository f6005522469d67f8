"""Fake RubyGems, MetaCPAN and NVIDIA redist answers, in the real services' shapes.

World keys (documented with the others in ``routes.py``):

- ``rubygems``: ``{"<gem>": [{"number": "5.6.1", "prerelease": false}, …]}`` newest first (an
  entry may add ``platform`` and other fields of the real object): ``GET
  /rubygems/api/v1/versions/<gem>.json``; an unknown gem is RubyGems' plain-text 404.
- ``metacpan``: ``{"<Dist>": {"version": "0.016", "maturity": "released"}}`` (optional
  ``author``): ``GET /metacpan/v1/release/<Dist>``, the latest release document; an unknown
  distribution is MetaCPAN's JSON 404.
- ``nvidia``: ``{"<subdir>": {"<X.Y.Z>": {"<json_name>": {"version": "0.4.0.1"}}}}``: ``GET
  /nvidia/compute/<subdir>/redist/`` (the HTML directory listing, names in byte order as the
  real server lists them) and ``…/redist/redistrib_<X.Y.Z>.json`` (the manifest).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

Rendered = tuple[int, str, bytes]
JSON = "application/json"


def _json(obj: Any) -> Rendered:
    return 200, JSON, json.dumps(obj, separators=(",", ":")).encode()


def _sha(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


# -- RubyGems ----------------------------------------------------------------------------------
def _gem_version(gem: str, i: int, entry: dict[str, Any]) -> dict[str, Any]:
    number = str(entry["number"])
    day = f"2024-{(i % 12) + 1:02d}-{(i % 28) + 1:02d}T00:00:00.000Z"
    return {
        "authors": "Jane Doe, John Roe", "built_at": day, "created_at": day,
        "description": f"{gem} does useful things.", "downloads_count": 1000 + 37 * i,
        "metadata": {"changelog_uri": f"https://github.com/example/{gem}/blob/main/CHANGELOG.md",
                     "rubygems_mfa_required": "true"},
        "number": number, "summary": f"The {gem} gem", "platform": "ruby",
        "rubygems_version": ">= 0", "ruby_version": ">= 2.7.0",
        "prerelease": bool(entry.get("prerelease")), "licenses": ["MIT"], "requirements": [],
        "sha": _sha(gem, number, str(entry.get("platform", "ruby"))),
        "spec_sha": _sha("spec", gem, number),
        **{k: v for k, v in entry.items() if k not in ("number", "prerelease")},
    }


def rubygems(world: dict[str, Any], path: str, query: dict[str, list[str]]) -> Rendered | None:
    match = re.fullmatch(r"api/v1/versions/(?P<gem>[^/]+)\.json", path)
    if not match:
        return None
    entries = world.get("rubygems", {}).get(match.group("gem"))
    if entries is None:
        return 404, "text/plain", b"This rubygem could not be found."
    return _json([_gem_version(match.group("gem"), i, e) for i, e in enumerate(entries)])


# -- MetaCPAN ----------------------------------------------------------------------------------
def numified(version: str) -> float:
    """Perl's numeric form: ``0.016`` -> 0.016, ``v1.2.3`` / ``1.2.3`` -> 1.002003."""
    text = version.lstrip("v")
    parts = [p for p in text.split(".") if p.isdigit()]
    if not parts:
        return 0.0
    if len(parts) <= 2 and not version.startswith("v"):
        try:
            return float(text.split("_")[0])
        except ValueError:
            return 0.0
    return float(parts[0] + "." + "".join(p.zfill(3)[:3] for p in parts[1:]))


def metacpan(world: dict[str, Any], path: str, query: dict[str, list[str]]) -> Rendered | None:
    match = re.fullmatch(r"v1/release/(?P<dist>[^/]+)", path)
    if not match:
        return None
    dist = match.group("dist")
    entry = world.get("metacpan", {}).get(dist)
    if entry is None:
        return 404, JSON, b'{"code":404,"message":"Not found"}'
    version, author = str(entry["version"]), str(entry.get("author", "AUTHOR")).upper()
    maturity = str(entry.get("maturity", "released"))
    archive = f"{dist}-{version}.tar.gz"
    doc = {
        "abstract": f"{dist.replace('-', '::')} does useful things", "archive": archive,
        "author": author, "authorized": True, "changes_file": "Changes",
        "checksum_md5": hashlib.md5(archive.encode()).hexdigest(),  # noqa: S324 - a fake body
        "checksum_sha256": _sha(archive), "date": "2024-05-01T12:00:00",
        "dependency": [{"module": "perl", "phase": "runtime", "relationship": "requires",
                        "version": "5.006"}],
        "deprecated": False, "distribution": dist,
        "download_url": (f"https://cpan.metacpan.org/authors/id/{author[0]}/{author[:2]}/"
                         f"{author}/{archive}"),
        "first": False, "id": _sha("release", dist, version)[:27], "license": ["perl_5"],
        "main_module": dist.replace("-", "::"), "maturity": maturity,
        "metadata": {"abstract": "", "author": [author], "dynamic_config": 0,
                     "license": ["perl_5"], "meta-spec": {"version": 2}, "name": dist,
                     "release_status": "stable" if maturity == "released" else "testing",
                     "version": version},
        "name": f"{dist}-{version}", "provides": [dist.replace("-", "::")],
        "resources": {"repository": {"type": "git",
                                     "url": f"https://github.com/example/{dist}.git"}},
        "stat": {"gid": 1000, "mode": 33188, "mtime": 1714564800, "size": 30000, "uid": 1000},
        "status": "latest", "tests": {"fail": 0, "na": 0, "pass": 120, "unknown": 0},
        "version": version, "version_numified": numified(version),
    }
    return _json(doc)


# -- NVIDIA redist -----------------------------------------------------------------------------
NVIDIA_404: Rendered = (404, "text/html", b"<html>\n<head><title>404 Not Found</title></head>\n"
                        b"<body>\n<center><h1>404 Not Found</h1></center>\n</body>\n</html>\n")


def _index(subdir: str, releases: dict[str, Any]) -> Rendered:
    names = {f"redistrib_{r}.json" for r in releases}
    names |= {f"{c}/" for comps in releases.values() for c in comps}
    names |= {"LICENSE.txt"}
    rows = [f"<a href='{n}'>{n}</a>{' ' * max(1, 50 - len(n))}01-Mar-2025 10:00"
            f"{'      -' if n.endswith('/') else '   4096'}" for n in sorted(names)]
    html = (f"<html>\n<head><title>Index of /compute/{subdir}/redist/</title></head>\n<body>\n"
            f"<h1>Index of /compute/{subdir}/redist/</h1><hr><pre><a href='../'>../</a>\n"
            + "\n".join(rows) + "\n</pre><hr></body>\n</html>\n")
    return 200, "text/html", html.encode()


def _manifest(subdir: str, release: str, comps: dict[str, Any]) -> Rendered:
    doc: dict[str, Any] = {"release_date": "2025-03-01", "release_label": release,
                           "release_product": subdir}
    for comp, entry in comps.items():
        version = str(entry["version"])
        arch = "linux-sbsa" if subdir == "nvpl" else "linux-x86_64"
        archive = f"{comp}/{arch}/{comp}-{arch}-{version}-archive.tar.xz"
        doc[comp] = {"name": comp.replace("_", " ").upper(), "license": "NVIDIA Software License",
                     "license_path": f"{comp}/LICENSE.txt", "version": version,
                     arch: {"relative_path": archive, "sha256": _sha(archive),
                            "md5": hashlib.md5(archive.encode()).hexdigest(),  # noqa: S324
                            "size": "1048576"},
                     **{k: v for k, v in entry.items() if k != "version"}}
    return _json(doc)


def nvidia(world: dict[str, Any], path: str, query: dict[str, list[str]]) -> Rendered | None:
    match = re.fullmatch(r"compute/(?P<subdir>[^/]+)/redist/(?:redistrib_(?P<rel>[^/]+)\.json)?",
                         path)
    if not match:
        return None
    releases = world.get("nvidia", {}).get(match.group("subdir"))
    comps = releases.get(match.group("rel")) if releases and match.group("rel") else None
    if releases is None or (match.group("rel") is not None and comps is None):
        return NVIDIA_404
    if comps is None:
        return _index(match.group("subdir"), releases)
    return _manifest(match.group("subdir"), match.group("rel"), comps)


ROUTES = {"rubygems": rubygems, "metacpan": metacpan, "nvidia": nvidia}
