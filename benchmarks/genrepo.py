"""Synthetic conda-forge-shaped data repos and the matching fake upstream world.

Each node document looks like a real ``node_attrs/<name>.json`` of conda-forge's graph (a few KB:
``meta_yaml`` and its per-platform copy, ``raw_meta_yaml``, ``requirements`` and
``total_requirements`` as ``__set__`` objects, ``conda-forge.yml``, lazy ``pr_info`` refs...).
Every node has a newer version upstream, so a first sweep rewrites every versions file.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vbot.repo.paths import sharded_relpath

# kind -> share of the nodes (kinds that are switched off give their share to pypi and github)
MIX = {"pypi": 0.62, "github": 0.30, "cran": 0.04, "npm": 0.02, "crates": 0.02}
LARGE_PYPI = 0.06  # share of PyPI documents that are ~200 KB (popular projects)
TAGS_ONLY_GITHUB = 0.1  # share of GitHub repos without a release: the tags endpoint is used

_DEPS = ["python", "pip", "setuptools", "numpy", "requests", "pyyaml", "packaging", "click",
         "typing-extensions", "attrs", "six", "jinja2", "cython", "libcxx", "zlib", "openssl",
         "r-base", "r-rcpp", "nodejs", "rust", "cmake", "make", "pkg-config", "libcurl"]


def _set(items: Iterable[str]) -> dict[str, Any]:
    return {"__set__": True, "elements": sorted(set(items))}


def _raw_meta(name: str, version: str, url: str, run: list[str]) -> str:
    reqs = "\n".join(f"    - {r}" for r in run)
    return (
        f'{{% set name = "{name}" %}}\n{{% set version = "{version}" %}}\n\n'
        "package:\n  name: {{ name|lower }}\n  version: {{ version }}\n\n"
        f"source:\n  url: {url}\n  sha256: {'ab' * 32}\n\n"
        "build:\n  number: 0\n  noarch: python\n"
        "  script: {{ PYTHON }} -m pip install . -vv --no-deps --no-build-isolation\n\n"
        "requirements:\n  host:\n    - python {{ python_min }}\n    - pip\n    - setuptools\n"
        f"  run:\n{reqs}\n\n"
        "test:\n  imports:\n    - {{ name }}\n  commands:\n    - pip check\n  requires:\n"
        "    - pip\n    - python {{ python_min }}\n\n"
        f"about:\n  home: https://github.com/example/{name}\n  license: BSD-3-Clause\n"
        "  license_file: LICENSE\n  summary: A package that does useful things\n"
        "  description: |\n" + "    Long description of the package, as recipes have. " * 6
        + "\n\nextra:\n  recipe-maintainers:\n    - alice\n    - bob\n"
    )


def node_attrs(name: str, version: str, url: str, rng: random.Random) -> dict[str, Any]:
    run = sorted(rng.sample(_DEPS, rng.randint(2, 7)))
    host = ["python", "pip", "setuptools"]
    meta = {
        "about": {"home": f"https://github.com/example/{name}", "license": "BSD-3-Clause",
                  "license_file": "LICENSE", "summary": "A package that does useful things",
                  "description": "Long description of the package, as recipes have. " * 6},
        "build": {"number": 0, "noarch": "python",
                  "script": "${PYTHON} -m pip install . -vv --no-deps --no-build-isolation"},
        "extra": {"recipe-maintainers": ["alice", "bob"]},
        "package": {"name": name, "version": version},
        "requirements": {"host": host, "run": run},
        "source": {"url": url, "sha256": "ab" * 32},
        "test": {"commands": ["pip check"], "imports": [name.replace("-", "_")],
                 "requires": ["pip"]},
    }
    reqs = {"build": _set([]), "host": _set(host), "run": _set(run), "test": _set(["pip"])}
    return {
        "archived": False,
        "branch": "main",
        "conda-forge.yml": {"bot": {"automerge": True},
                            "github": {"branch_name": "main", "tooling_branch_name": "main"}},
        "feedstock_name": name,
        "hash_type": "sha256",
        "linux_64_meta_yaml": meta,
        "linux_64_requirements": reqs,
        "meta_yaml": meta,
        "name": name,
        "outputs_names": _set([name]),
        "parsing_error": False,
        "platforms": ["linux_64"],
        "pinning_version": "2024.11.22.12.00.00",
        "pr_info": {"__lazy_json__": f"pr_info/{name}.json"},
        "raw_meta_yaml": _raw_meta(name, version, url, run),
        "requirements": reqs,
        "smithy_version": "3.44.2",
        "strong_exports": False,
        "total_requirements": {k: _set(f"{d} >=1" for d in v["elements"])
                               for k, v in reqs.items()},
        "url": url,
        "version": version,
        "version_pr_info": {"__lazy_json__": f"version_pr_info/{name}.json"},
    }


def _versions(rng: random.Random) -> tuple[list[str], str]:
    """Old releases, the node's current one, then a newer one (the expected answer)."""
    major = rng.randint(0, 5)
    count = rng.randint(3, 14)
    vers = [f"{major}.{i}.{rng.randint(0, 3)}" for i in range(count)]
    return vers, vers[-2]


def plan(n: int, kinds: tuple[str, ...], seed: int = 7,
         mix: dict[str, float] | None = None) -> list[tuple[str, str]]:
    """(node name, kind) for every node, in a fixed pseudo-random mix: ``mix`` (kind -> weight)
    when given, else ``MIX`` restricted to ``kinds`` (the missing kinds' share goes 2/3 to PyPI,
    1/3 to GitHub)."""
    rng = random.Random(seed)
    if mix:
        weights = dict(mix)
    else:
        weights = {k: MIX[k] for k in kinds}
        spare = sum(v for k, v in MIX.items() if k not in kinds)
        if "pypi" in weights:
            weights["pypi"] += spare * 2 / 3
        if "github" in weights:
            weights["github"] += spare / 3
    names, probs = zip(*weights.items(), strict=True)
    return [(f"pkg-{i:05d}", rng.choices(names, probs)[0]) for i in range(n)]


def generate(root: Path, n: int, kinds: tuple[str, ...], seed: int = 7,
             mix: dict[str, float] | None = None
             ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Write the cf-layout tree under ``root``; return (world, {node: expectation})."""
    rng = random.Random(seed)
    world: dict[str, Any] = {"pypi": {}, "github": {}, "npm": {}, "cran": {}, "crates": {}}
    expect: dict[str, dict[str, Any]] = {}
    nodes = plan(n, kinds, seed, mix)
    for name, kind in nodes:
        vers, current = _versions(rng)
        newest = vers[-1]
        if kind == "pypi":
            url = f"https://pypi.example/packages/source/{name[0]}/{name}/{name}-{current}.tar.gz"
            entry: dict[str, Any] = {"versions": vers}
            if rng.random() < LARGE_PYPI:
                entry["large"] = True
            world["pypi"][name] = entry
            expect[name] = {"kind": kind, "package": name, "large": "large" in entry}
        elif kind == "github":
            repo = f"org{rng.randint(0, 999)}/{name}"
            url = f"https://github.com/{repo}/archive/refs/tags/v{current}.tar.gz"
            tags = [f"v{v}" for v in reversed(vers)]
            tags_only = rng.random() < TAGS_ONLY_GITHUB
            releases = [] if tags_only else [{"tag_name": f"v{newest}"}]
            world["github"][repo] = {"releases": releases, "tags": tags}
            expect[name] = {"kind": kind, "repo": repo, "tags_only": tags_only}
        elif kind == "npm":
            url = f"https://registry.npm.example/{name}/-/{name}-{current}.tgz"
            world["npm"][name] = {"versions": vers, "latest": newest}
            expect[name] = {"kind": kind, "package": name}
        elif kind == "cran":
            pkg = "R" + name.replace("-", "")
            url = f"https://cran.r-project.org/src/contrib/{pkg}_{current}.tar.gz"
            world["cran"][pkg] = vers  # the fake's PACKAGES index: package -> versions
            expect[name] = {"kind": kind, "package": pkg}
        else:  # crates
            url = f"https://crates.io/api/v1/crates/{name}/{current}/download"
            world["crates"][name] = {"versions": vers}
            expect[name] = {"kind": kind, "package": name}
        expect[name]["version"] = newest
        doc = node_attrs(name, current, url, rng)
        path = root / sharded_relpath("node_attrs", name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, sort_keys=True, indent=2) + "\n", "utf-8")
    graph = {
        "directed": True, "multigraph": False,
        "graph": {"outputs_lut": {}},
        "nodes": [{"id": name, "payload": {"__lazy_json__": f"node_attrs/{name}.json"}}
                  for name, _ in nodes],
        "links": [{"source": nodes[i][0], "target": nodes[rng.randrange(i)][0]}
                  for i in range(1, len(nodes)) for _ in range(rng.randint(0, 2))],
    }
    (root / "graph.json").write_text(json.dumps(graph, sort_keys=True, indent=1) + "\n", "utf-8")
    return world, expect
