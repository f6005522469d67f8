#!/usr/bin/env python3
"""Write the bundled sample data: ``data/repo/``, ``data/world.json`` and the expected results.

The sample imitates a slice of conda-forge's graph data repo (cf-graph-countyfair layout):
40 real conda-forge feedstocks with their real recipe source URLs, a fake upstream "world"
that answers for them, and the versions vbot must find. Everything here is authored: the
real sample was not available when it was written (see ``data/README.md``).

Pure standard library, deterministic: running it twice gives byte-identical files.

    python data/make_sample.py            # (re)writes data/repo, data/world.json and
                                          # tests/fixtures/realdata/expected.json
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REPO = HERE / "repo"
WORLD = HERE / "world.json"
EXPECTED = ROOT / "tests" / "fixtures" / "realdata" / "expected.json"

PYPI = "https://pypi.example"
PYPI_FILES = "https://files.pypi.example"
NPM = "https://registry.npm.example"
CRAN = "https://cran.r-project.org"


# ---------------------------------------------------------------------------------------------
# small helpers


def dumps(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, indent=2) + "\n"


def fake_sha256(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def hashed_pypi(filename: str) -> str:
    """A files.pypi.example URL in the real ``/packages/xx/yy/<60 hex>/<file>`` shape."""
    h = hashlib.sha256(f"pypi-file:{filename}".encode()).hexdigest()
    return f"{PYPI_FILES}/packages/{h[:2]}/{h[2:4]}/{h[4:]}/{filename}"


def sharded(folder: str, name: str) -> str:
    h = hashlib.sha1(f"{name}.json".encode()).hexdigest()
    return "/".join([folder, *h[:5], f"{name}.json"])


def as_set(items) -> dict:
    return {"__set__": True, "elements": sorted(set(items))}


def vlist(text: str) -> list[str]:
    return text.split()


# conda-forge.yml shapes
CFY_NOARCH = {
    "bot": {"automerge": True},
    "conda_build": {"pkg_format": "2"},
    "conda_forge_output_validation": True,
    "github": {"branch_name": "main", "tooling_branch_name": "main"},
}
CFY_COMPILED = {
    "azure": {"settings_win": {"variables": {"CONDA_BLD_PATH": "C:\\bld\\"}}},
    "bot": {"automerge": True},
    "build_platform": {"linux_aarch64": "linux_64", "osx_arm64": "osx_64"},
    "conda_build": {"pkg_format": "2"},
    "conda_forge_output_validation": True,
    "github": {"branch_name": "main", "tooling_branch_name": "main"},
    "provider": {"linux_aarch64": "default", "linux_ppc64le": "default"},
    "test": "native_and_emulated",
}


def cfy(base: dict, **bot) -> dict:
    """``base`` with extra ``bot`` settings (None removes a key)."""
    out = json.loads(json.dumps(base))
    for key, value in bot.items():
        if value is None:
            out["bot"].pop(key, None)
        else:
            out["bot"][key] = value
    return out


# ---------------------------------------------------------------------------------------------
# node definitions
#
# Each node: name, conda version, the raw (jinja) recipe pieces, plus
#   world=[(table, key, value)]  what the fake upstream serves for it
#   files=[url, ...]              raw downloads that exist upstream
#   exp=(source, version, why)    what vbot must find
#   versions / vpri / pr_info     earlier bot documents in the data repo

PY_SCRIPT = "{{ PYTHON }} -m pip install . -vv --no-deps --no-build-isolation"
PY_TEST_REQ = ["pip", "python {{ python_min }}"]
PY_HOST = ["python {{ python_min }}", "pip"]
C_BUILD = ["{{ compiler('c') }}", "{{ stdlib('c') }}"]
CXX_BUILD = ["{{ compiler('cxx') }}", "{{ stdlib('c') }}"]
CMAKE_BUILD = ["cmake", "ninja", "{{ compiler('c') }}", "{{ compiler('cxx') }}",
               "{{ stdlib('c') }}"]

NODES: list[dict] = []


def add(**node) -> None:
    NODES.append(node)


def py_node(name, version, url, *, pypi, summary, license, license_file, home, dev_url,
            maintainers, host, run, imports, world_versions, yanked=(), large=False,
            python_min="3.9", noarch=True, build=(), jinja_name=None, cfyml=None,
            run_constrained=(), exp=None, versions=None, vpri=None, pr_info=False,
            archived=False, extra_world=(), outputs=None, test_commands=("pip check",)):
    """A Python package whose recipe downloads the sdist from PyPI."""
    jname = jinja_name or name
    if noarch:
        builds = [("noarch", "python"), ("script", PY_SCRIPT), ("number", "0")]
    else:
        builds = [("script", PY_SCRIPT), ("number", "0")]
    world = [("pypi", pypi, {"versions": list(world_versions), "yanked": list(yanked),
                             "large": large})]
    add(name=name, version=version, kind="python", sets=[("name", jname), ("version", version)],
        pkg_name="{{ name|lower }}", source={"url": url}, build=builds,
        reqs={"build": list(build), "host": host, "run": run,
              "run_constrained": list(run_constrained)},
        test={"imports": imports, "requires": PY_TEST_REQ if noarch else ["pip"],
              "commands": list(test_commands)},
        about=[("home", home), ("summary", summary), ("license", license),
               ("license_file", license_file), ("dev_url", dev_url)],
        maintainers=maintainers, python_min=python_min, noarch=noarch,
        cfyml=cfyml or (CFY_NOARCH if noarch else CFY_COMPILED), world=world + list(extra_world),
        exp=exp, versions=versions, vpri=vpri, pr_info=pr_info, archived=archived,
        outputs=outputs or [name])


def src_pypi(name, ext="tar.gz"):
    """``/packages/source/<c>/<name>/<name>-{{ version }}.<ext>`` (jinja template)."""
    first = "{{ name[0] }}" if name == "{{ name }}" else name[0]
    return f"{PYPI}/packages/source/{first}/{name}/{name}-{{{{ version }}}}.{ext}"


# --- PyPI ------------------------------------------------------------------------------------

LARGE = {
    "requests": """
        0.0.1 0.2.0 0.2.1 0.2.2 0.2.3 0.2.4 0.3.0 0.3.1 0.3.2 0.3.3 0.3.4 0.4.0 0.4.1 0.5.0
        0.5.1 0.6.0 0.6.1 0.6.2 0.6.3 0.6.4 0.6.5 0.6.6 0.7.0 0.7.1 0.7.2 0.7.3 0.7.4 0.7.5
        0.7.6 0.8.0 0.8.1 0.8.2 0.8.3 0.8.4 0.8.5 0.8.6 0.8.7 0.8.8 0.8.9 0.9.0 0.9.1 0.9.2
        0.9.3 0.10.0 0.10.1 0.10.2 0.10.3 0.10.4 0.10.6 0.10.7 0.10.8 0.11.1 0.11.2 0.12.0
        0.12.01 0.12.1 0.13.0 0.13.1 0.13.2 0.13.3 0.13.4 0.13.5 0.13.6 0.13.7 0.13.8 0.13.9
        0.14.0 0.14.1 0.14.2 1.0.0 1.0.1 1.0.2 1.0.3 1.0.4 1.1.0 1.2.0 1.2.1 1.2.2 1.2.3 2.0.0
        2.0.1 2.1.0 2.2.0 2.2.1 2.3.0 2.4.0 2.4.1 2.4.2 2.4.3 2.5.0 2.5.1 2.5.2 2.5.3 2.6.0
        2.6.1 2.6.2 2.7.0 2.8.0 2.8.1 2.9.0 2.9.1 2.9.2 2.10.0 2.11.0 2.11.1 2.12.0 2.12.1
        2.12.2 2.12.3 2.12.4 2.12.5 2.13.0 2.14.0 2.14.1 2.14.2 2.15.0 2.15.1 2.16.0 2.16.1
        2.16.2 2.16.3 2.16.4 2.16.5 2.17.0 2.17.1 2.17.2 2.17.3 2.18.0 2.18.1 2.18.2 2.18.3
        2.18.4 2.19.0 2.19.1 2.20.0 2.20.1 2.21.0 2.22.0 2.23.0 2.24.0 2.25.0 2.25.1 2.26.0
        2.27.0 2.27.1 2.28.0 2.28.1 2.28.2 2.29.0 2.30.0 2.31.0 2.32.0 2.32.1 2.32.2 2.32.3
        2.32.4 2.32.5 2.33.0 2.33.1 2.34.0.dev1 2.34.0 2.34.1 2.34.2
    """,
    "networkx": """
        0.23 0.24 0.25 0.26 0.27 0.28 0.29 0.30 0.31 0.32 0.33 0.34 0.35 0.35.1 0.36 0.37 0.99
        1.0rc1 1.0 1.0.1 1.1 1.2rc1 1.2 1.3rc1 1.3 1.4rc1 1.4 1.5rc1 1.5 1.6rc1 1.6 1.7rc1 1.7
        1.8rc1 1.8 1.8.1 1.9rc1 1.9 1.9.1 1.10rc2 1.10 1.11rc1 1.11rc2 1.11 2.0 2.1 2.2rc1 2.2
        2.3rc3 2.3rc4 2.3 2.4rc1 2.4rc2 2.4 2.5rc1 2.5 2.5.1 2.6rc1 2.6rc2 2.6 2.6.1 2.6.2 2.6.3
        2.7rc1 2.7 2.7.1 2.8rc1 2.8 2.8.1rc1 2.8.1 2.8.2 2.8.3 2.8.4 2.8.5 2.8.6 2.8.7 3.0b1
        2.8.8 3.0rc1 3.0 3.1rc0 3.1 3.2rc0 3.2 3.2.1 3.3rc0 3.3 3.4rc0 3.4 3.4.1 3.4.2 3.5rc0
        3.5 3.6rc0 3.6 3.6.1 3.7rc0 3.7
    """,
    "jsonschema": """
        0.1a 0.2 0.3 0.4 0.5 0.6 0.7 0.8.0 1.0.0 1.1.0 1.2.0 1.3.0 2.0.0 2.1.0 2.2.0 2.3.0 2.4.0
        2.5.0 2.5.1 2.6.0 3.0.0a1 3.0.0a2 3.0.0a3 3.0.0a4 3.0.0a5 3.0.0a6 3.0.0b1 3.0.0b2
        3.0.0b3 3.0.0 3.0.1 3.0.2 3.1.0 3.1.1 3.2.0 4.0.0a1 4.0.0a2 4.0.0a3 4.0.0a4 4.0.0a5
        4.0.0a6 4.0.0 4.0.1 4.1.0a1 4.1.0 4.1.1 4.1.2 4.2.0 4.2.1 4.3.0 4.3.1 4.3.2 4.3.3 4.4.0
        4.5.0 4.5.1 4.6.0 4.6.1 4.6.2 4.7.0 4.7.1 4.7.2 4.8.0 4.9.0 4.9.1 4.10.0 4.10.1 4.10.2
        4.10.3 4.11.0 4.12.0 4.12.1 4.13.0 4.14.0 4.15.0 4.16.0 4.17.0 4.17.1 4.17.3 4.18.0a1
        4.18.0a2 4.18.0a3 4.18.0a4 4.18.0a5 4.18.0a6 4.18.0a7 4.18.0a8 4.18.0a9 4.18.0a10 4.18.0
        4.18.1 4.18.2 4.18.3 4.18.4 4.18.5 4.18.6 4.19.0 4.19.1 4.19.2 4.20.0 4.21.0 4.21.1
        4.22.0 4.23.0 4.24.0 4.24.1 4.25.0 4.25.1 4.26.0
    """,
}
# yanked in the real PyPI documents of these three (see shared/upstream-samples)
LARGE_YANKED = {"requests": ["2.32.0", "2.32.1"], "networkx": ["2.6", "2.6.1"],
                "jsonschema": ["4.0.0"]}

py_node(
    "requests", "2.32.3", src_pypi("{{ name }}"),
    pypi="requests", large=True, world_versions=vlist(LARGE["requests"]),
    yanked=LARGE_YANKED["requests"],
    summary="Requests is an elegant and simple HTTP library for Python, built with ♥.",
    license="Apache-2.0", license_file="LICENSE", home="https://requests.readthedocs.io",
    dev_url="https://github.com/psf/requests",
    maintainers=["carlodri", "jakirkham", "ocefpaf", "pelson", "sigmavirus24"],
    host=PY_HOST + ["setuptools"],
    run=["python >={{ python_min }}", "certifi >=2017.4.17", "charset-normalizer >=2,<4",
         "idna >=2.5,<4", "urllib3 >=1.21.1,<3"],
    run_constrained=["chardet >=3.0.2,<6", "pysocks >=1.5.6,!=1.5.7"],
    imports=["requests"],
    exp=("pypi", "2.34.2", "large PyPI document (real release history, 2.32.0/2.32.1 yanked); "
                           "2.34.0.dev1 is a pre-release"),
    versions="2.33.1", vpri="2.33.1", pr_info=True)

py_node(
    "networkx", "3.4.2", src_pypi("{{ name }}"),
    pypi="networkx", large=True, world_versions=vlist(LARGE["networkx"]),
    yanked=LARGE_YANKED["networkx"], python_min="3.10",
    summary="Python package for creating and manipulating complex networks",
    license="BSD-3-Clause", license_file="LICENSE.txt", home="https://networkx.org",
    dev_url="https://github.com/networkx/networkx",
    maintainers=["SylvainCorlay", "jarrodmillman", "MridulS", "ocefpaf"],
    host=PY_HOST + ["setuptools >=61.2"], run=["python >={{ python_min }}"],
    run_constrained=["matplotlib-base >=3.8", "numpy >=1.24", "pandas >=2.0", "scipy >=1.11.2"],
    imports=["networkx", "networkx.algorithms", "networkx.generators"],
    exp=("pypi", "3.7", "large PyPI document; rc0 releases published after the finals "
                        "must not win; 3.7 > 3.6.1 by conda order"),
    versions="3.5", vpri="3.5")

py_node(
    "jsonschema", "4.23.0", src_pypi("{{ name }}"),
    pypi="jsonschema", large=True, world_versions=vlist(LARGE["jsonschema"]),
    yanked=LARGE_YANKED["jsonschema"],
    summary="An implementation of JSON Schema validation for Python",
    license="MIT", license_file="COPYING", home="https://github.com/python-jsonschema/jsonschema",
    dev_url="https://github.com/python-jsonschema/jsonschema",
    maintainers=["bollwyvl", "blink1073", "ocefpaf", "pelson"],
    host=PY_HOST + ["hatchling", "hatch-fancy-pypi-readme", "hatch-vcs"],
    run=["python >={{ python_min }}", "attrs >=22.2.0", "jsonschema-specifications >=2023.03.6",
         "referencing >=0.28.4", "rpds-py >=0.7.1"],
    imports=["jsonschema"], test_commands=("pip check", "jsonschema --version"),
    exp=("pypi", "4.26.0", "large PyPI document with long alpha series (4.18.0a1..a10)"),
    versions="4.25.1")

py_node(
    "msgpack-python", "1.1.0", src_pypi("msgpack"),
    pypi="msgpack", jinja_name="msgpack-python", noarch=False,
    world_versions=vlist("1.0.7 1.0.8 1.1.0rc1 1.1.0 1.1.1rc1 1.1.1 1.1.2"),
    summary="MessagePack (de)serializer.", license="Apache-2.0", license_file="COPYING",
    home="https://msgpack.org/", dev_url="https://github.com/msgpack/msgpack-python",
    maintainers=["jakirkham", "ocefpaf", "pelson"],
    build=["cross-python_{{ target_platform }}  # [build_platform != target_platform]",
           "python  # [build_platform != target_platform]",
           "cython  # [build_platform != target_platform]"] + ["{{ compiler('c') }}",
                                                             "{{ compiler('cxx') }}",
                                                             "{{ stdlib('c') }}"],
    host=["python", "pip", "setuptools >=35.0.2", "cython >=3.0.11,<3.1"], run=["python"],
    imports=["msgpack", "msgpack.fallback"],
    exp=("pypi", "1.1.2", "recipe name msgpack-python, PyPI name msgpack (taken from the URL)"),
    versions=None)

py_node(
    "attrs", "24.2.0", hashed_pypi("attrs-24.2.0.tar.gz").replace("24.2.0", "{{ version }}"),
    pypi="attrs",
    world_versions=vlist("23.1.0 23.2.0 24.1.0 24.2.0 24.3.0 25.1.0 25.2.0 25.3.0 25.4.0"),
    summary="attrs is the Python package that will bring back the joy of writing classes by "
            "relieving you from the drudgery of implementing object protocols (aka dunder "
            "methods).",
    license="MIT", license_file="LICENSE", home="https://www.attrs.org/",
    dev_url="https://github.com/python-attrs/attrs",
    maintainers=["bollwyvl", "hynek", "ocefpaf"],
    host=PY_HOST + ["hatchling", "hatch-fancy-pypi-readme >=23.2.0", "hatch-vcs"],
    run=["python >={{ python_min }}"], imports=["attr", "attrs"],
    exp=("pypi", "25.4.0", "hashed files.pypi.example URL: PyPI name from the file name"),
    versions="25.3.0", vpri="25.3.0")

py_node(
    "six", "1.16.0", hashed_pypi("six-1.16.0.tar.gz").replace("1.16.0", "{{ version }}"),
    pypi="six", world_versions=vlist("1.14.0 1.15.0 1.16.0 1.17.0"),
    summary="Python 2 and 3 compatibility utilities", license="MIT", license_file="LICENSE",
    home="https://github.com/benjaminp/six", dev_url="https://github.com/benjaminp/six",
    maintainers=["jakirkham", "msarahan", "ocefpaf", "pelson"],
    host=PY_HOST + ["setuptools"], run=["python >={{ python_min }}"], imports=["six"],
    exp=("pypi", "1.17.0", "hashed files.pypi.example URL"),
    versions=None)

py_node(
    "idna", "3.7", hashed_pypi("idna-3.7.tar.gz").replace("3.7", "{{ version }}"),
    pypi="idna", world_versions=vlist("3.4 3.5 3.6 3.7 3.8 3.9 3.10"),
    summary="Internationalized Domain Names in Applications (IDNA)", license="BSD-3-Clause",
    license_file="LICENSE.md", home="https://github.com/kjd/idna",
    dev_url="https://github.com/kjd/idna",
    maintainers=["goanpeca", "jschueller", "ocefpaf"],
    host=PY_HOST + ["flit-core <4"], run=["python >={{ python_min }}"], imports=["idna"],
    exp=("pypi", "3.10", "hashed URL; 3.10 > 3.9 by conda order, not string order"),
    versions="3.9", vpri="3.9")

py_node(
    "typing_extensions", "4.12.2", src_pypi("{{ name }}"),
    pypi="typing_extensions",
    world_versions=vlist("4.11.0 4.12.0rc1 4.12.0 4.12.1 4.12.2 4.13.0rc1 4.13.0 4.13.1 4.13.2 "
                         "4.14.0rc1 4.14.0 4.14.1 4.15.0rc1 4.15.0"),
    summary="Backported and Experimental Type Hints for Python", license="PSF-2.0",
    license_file="LICENSE", home="https://github.com/python/typing_extensions",
    dev_url="https://github.com/python/typing_extensions",
    maintainers=["ocefpaf", "pelson", "jakirkham", "FFY00"],
    host=PY_HOST + ["flit-core >=3.4,<4"], run=["python >={{ python_min }}"],
    imports=["typing_extensions"], outputs=["typing-extensions", "typing_extensions"],
    exp=("pypi", "4.15.0", "rc releases before every final; underscore in the PyPI name"),
    vpri="4.14.1")

py_node(
    "pydantic", "2.11.7", src_pypi("{{ name }}"),
    pypi="pydantic",
    world_versions=vlist("2.10.5 2.10.6 2.11.0a1 2.11.0a2 2.11.0b1 2.11.0b2 2.11.0 2.11.1 "
                         "2.11.2 2.11.3 2.11.4 2.11.5 2.11.6 2.11.7 2.12.0a1 2.12.0b1"),
    summary="Data validation using Python type hints", license="MIT", license_file="LICENSE",
    home="https://github.com/pydantic/pydantic", dev_url="https://github.com/pydantic/pydantic",
    maintainers=["dgasmith", "pavelzw", "samuelcolvin", "davidbrochart"],
    host=PY_HOST + ["hatchling", "hatch-fancy-pypi-readme >=22.5.0"],
    run=["python >={{ python_min }}", "annotated-types >=0.6.0", "pydantic-core 2.33.2",
         "typing-extensions >=4.12.2", "typing-inspection >=0.4.0"],
    imports=["pydantic"],
    exp=("pypi", "2.11.7", "only pre-releases (2.12.0a1, 2.12.0b1) are newer: stays at the "
                           "stable 2.11.7, equal to the recipe"),
    versions="2.11.7")

py_node(
    "packaging", "24.1", src_pypi("{{ name }}"),
    pypi="packaging", world_versions=vlist("23.1 23.2 24.0 24.1 24.2 25.0"), yanked=["25.0"],
    summary="Core utilities for Python packages", license="Apache-2.0 OR BSD-2-Clause",
    license_file=["LICENSE", "LICENSE.APACHE", "LICENSE.BSD"],
    home="https://github.com/pypa/packaging", dev_url="https://github.com/pypa/packaging",
    maintainers=["jakirkham", "nicoddemus", "ocefpaf"],
    host=PY_HOST + ["flit-core >=3.3"], run=["python >={{ python_min }}"],
    imports=["packaging"],
    exp=("pypi", "24.2", "the newest upstream release (25.0) is yanked"))

py_node(
    "tqdm", "4.66.5", src_pypi("{{ name }}"),
    pypi="tqdm", world_versions=vlist("4.66.3 4.66.4 4.66.5 4.66.6 4.67.0 4.67.1"),
    summary="A Fast, Extensible Progress Meter", license="MPL-2.0 AND MIT",
    license_file="LICENCE", home="https://tqdm.github.io/", dev_url="https://github.com/tqdm/tqdm",
    maintainers=["casperdcl", "pmlandwehr"],
    host=PY_HOST + ["setuptools >=70.1", "setuptools-scm >=8", "wheel"],
    run=["python >={{ python_min }}", "colorama"], imports=["tqdm"],
    test_commands=("pip check", "tqdm --help", "tqdm -v"),
    exp=("pypi", "4.67.1", "plain PyPI source URL"),
    versions="4.67.0", vpri="4.67.0")

py_node(
    "pyyaml", "6.0.2", src_pypi("{{ name }}"),
    pypi="pyyaml", noarch=False, world_versions=vlist("6.0 6.0.1 6.0.2rc1 6.0.2 6.0.3"),
    summary="YAML parser and emitter for Python", license="MIT", license_file="LICENSE",
    home="https://pyyaml.org/", dev_url="https://github.com/yaml/pyyaml",
    maintainers=["jakirkham", "mbargull", "ocefpaf", "pelson"],
    build=["cross-python_{{ target_platform }}  # [build_platform != target_platform]",
           "python  # [build_platform != target_platform]",
           "cython  # [build_platform != target_platform]"] + C_BUILD,
    host=["python", "pip", "setuptools", "cython", "yaml"], run=["python"],
    imports=["yaml", "_yaml"],
    exp=("pypi", "6.0.3", "compiled (not noarch) PyPI package"))

py_node(
    "click", "8.1.8", src_pypi("{{ name }}"),
    pypi="click", world_versions=vlist("8.1.6 8.1.7 8.1.8 8.2.0 8.2.1 8.3.0"),
    summary="Python composable command line interface toolkit", license="BSD-3-Clause",
    license_file="LICENSE.txt", home="https://palletsprojects.com/p/click/",
    dev_url="https://github.com/pallets/click",
    maintainers=["jakirkham", "ocefpaf", "pelson", "xhochy"],
    host=PY_HOST + ["flit-core <4"], run=["python >={{ python_min }}"],
    imports=["click"],
    cfyml=cfy(CFY_NOARCH, version_updates={"exclude": ["8.3.0"]}),
    exp=("pypi", "8.2.1", "bot.version_updates.exclude lists 8.3.0, the newest: the next "
                          "highest is proposed instead"),
    versions="8.2.0", vpri="8.2.0")

# PyPI sdist first, GitHub archive as the mirror; conda-forge.yml says: ask GitHub only.
py_node(
    "black", "24.10.0",
    [src_pypi("{{ name }}"), "https://github.com/psf/black/archive/refs/tags/{{ version }}.tar.gz"],
    pypi="black", world_versions=vlist("24.4.2 24.8.0 24.10.0 25.1.0"),
    summary="The uncompromising Python code formatter", license="MIT", license_file="LICENSE",
    home="https://github.com/psf/black", dev_url="https://github.com/psf/black",
    maintainers=["hugovk", "ocefpaf", "ambv", "felix-hilden"],
    host=PY_HOST + ["hatchling >=1.20.0", "hatch-vcs", "hatch-fancy-pypi-readme"],
    run=["python >={{ python_min }}", "click >=8.0.0", "mypy_extensions >=0.4.3",
         "packaging >=22.0", "pathspec >=0.9.0", "platformdirs >=2", "tomli >=1.1.0",
         "typing_extensions >=4.0.1"],
    imports=["black"], test_commands=("pip check", "black --version"),
    cfyml=cfy(CFY_NOARCH, version_updates={"sources": ["github"]}),
    extra_world=[("github", "psf/black", {
        "releases": [{"tag_name": "25.9.0", "prerelease": False, "draft": False},
                     {"tag_name": "25.1.0", "prerelease": False, "draft": False},
                     {"tag_name": "24.10.0", "prerelease": False, "draft": False}],
        "tags": ["25.9.0", "25.1.0", "24.10.0", "24.8.0", "24.4.2"]})],
    exp=("github", "25.9.0", "bot.version_updates.sources = [github]: the GitHub answer (25.9.0) "
                             "wins over PyPI's (25.1.0)"),
    versions="25.1.0", vpri="25.1.0")

py_node(
    "pytest-runner", "6.0.0", src_pypi("{{ name }}"),
    pypi="pytest-runner", world_versions=vlist("5.3.2 6.0.0 6.0.1"),
    summary="Invoke py.test as distutils command with dependency resolution",
    license="MIT", license_file="LICENSE", home="https://github.com/pytest-dev/pytest-runner",
    dev_url="https://github.com/pytest-dev/pytest-runner",
    maintainers=["jaimergp", "ocefpaf"],
    host=PY_HOST + ["setuptools >=56", "setuptools_scm >=3.4.1"],
    run=["python >={{ python_min }}", "pytest >=6"], imports=["ptr"],
    archived=True,
    exp=(None, None, "archived feedstock: not checked although PyPI has 6.0.1"))


# --- generic (non-Python) nodes ----------------------------------------------------------------


def gh_rel(*tags, pre=()):
    return [{"tag_name": t, "prerelease": t in pre, "draft": False} for t in tags]


add(name="fzf", version="0.56.3", kind="go",
    sets=[("name", "fzf"), ("version", "0.56.3")], pkg_name="{{ name }}",
    source={"url": "https://github.com/junegunn/fzf/archive/v{{ version }}.tar.gz"},
    build=[("number", "0")],
    reqs={"build": ["{{ compiler('go-nocgo') }}", "go-licenses"], "host": [], "run": []},
    test={"commands": ["fzf --version", "fzf --help"]},
    about=[("home", "https://github.com/junegunn/fzf"),
           ("summary", "A command-line fuzzy finder"), ("license", "MIT"),
           ("license_file", ["LICENSE", "library_licenses/"]),
           ("dev_url", "https://github.com/junegunn/fzf")],
    maintainers=["bryanwweber", "mariusvniekerk", "conda-forge/go"],
    cfyml=CFY_COMPILED,
    world=[("github", "junegunn/fzf", {
        "releases": gh_rel("v0.65.2", "v0.65.1", "v0.65.0", "v0.64.0", "v0.63.0"),
        "tags": ["v0.65.2", "v0.65.1", "v0.65.0", "v0.64.0", "v0.63.0", "v0.62.0", "v0.61.3",
                 "v0.61.0", "v0.60.3", "v0.60.0", "v0.59.0", "v0.58.0", "v0.57.0", "v0.56.3"]})],
    exp=("github", "0.65.2", "GitHub latest release exists; v prefix from archive/v<ver>.tar.gz"),
    versions={"bad": "Upstream: github: HTTP 502 from /repos/junegunn/fzf/releases/latest"},
    vpri="0.65.1")

add(name="double-conversion", version="3.3.0", kind="cmake",
    sets=[("version", "3.3.0")], pkg_name="double-conversion",
    source={"url": "https://github.com/google/double-conversion/archive/v{{ version }}.tar.gz"},
    build=[("number", "0"),
           ("run_exports", ["{{ pin_subpackage('double-conversion', max_pin='x') }}"])],
    reqs={"build": CMAKE_BUILD[:2] + ["{{ compiler('cxx') }}", "{{ stdlib('c') }}"],
          "host": [], "run": []},
    test={"commands": [
        "test -f ${PREFIX}/include/double-conversion/double-conversion.h  # [unix]",
        "test -f ${PREFIX}/lib/libdouble-conversion${SHLIB_EXT}  # [unix]",
        "if not exist %LIBRARY_INC%\\double-conversion\\double-conversion.h exit 1  # [win]"]},
    about=[("home", "https://github.com/google/double-conversion"),
           ("summary", "Efficient binary-decimal and decimal-binary conversion routines for "
                       "IEEE doubles"),
           ("license", "BSD-3-Clause"), ("license_file", "LICENSE")],
    maintainers=["ocefpaf", "hmaarrfk", "xhochy"],
    cfyml=CFY_COMPILED,
    ctx={"pin_subpackage('double-conversion', max_pin='x')": "double-conversion >=3.3.0,<4.0a0"},
    world=[("github", "google/double-conversion", {
        "releases": [],
        "tags": ["v3.3.1", "v3.3.0", "v3.2.1", "v3.2.0", "v3.1.8", "v3.1.7", "v3.1.6"]})],
    exp=("github", "3.3.1", "no GitHub releases at all: the tags list is used"))

add(name="sdl3", version="3.2.10", kind="cmake",
    sets=[("version", "3.2.10")], pkg_name="sdl3",
    source={"url": "https://github.com/libsdl-org/SDL/releases/download/release-{{ version }}/"
                   "SDL3-{{ version }}.tar.gz"},
    build=[("number", "0"),
           ("run_exports", ["{{ pin_subpackage('sdl3', max_pin='x') }}"])],
    reqs={"build": CMAKE_BUILD + ["pkg-config"],
          "host": ["libusb  # [linux]", "xorg-libx11  # [linux]", "xorg-libxext  # [linux]",
                   "xorg-libxrandr  # [linux]", "libxkbcommon  # [linux]",
                   "wayland  # [linux]", "dbus  # [linux]", "libudev  # [linux]",
                   "pulseaudio-client  # [linux]", "alsa-lib  # [linux]",
                   "libegl-devel  # [linux]"],
          "run": []},
    test={"commands": ["test -f ${PREFIX}/include/SDL3/SDL.h  # [unix]",
                       "test -f ${PREFIX}/lib/libSDL3${SHLIB_EXT}  # [unix]",
                       "if not exist %LIBRARY_BIN%\\SDL3.dll exit 1  # [win]"]},
    about=[("home", "https://www.libsdl.org"),
           ("summary", "Simple DirectMedia Layer, a cross-platform development library"),
           ("license", "Zlib"), ("license_file", "LICENSE.txt"),
           ("dev_url", "https://github.com/libsdl-org/SDL")],
    maintainers=["hmaarrfk", "traversaro", "carlodri"],
    cfyml=CFY_COMPILED,
    ctx={"pin_subpackage('sdl3', max_pin='x')": "sdl3 >=3.2.10,<4.0a0"},
    world=[("github", "libsdl-org/SDL", {
        "releases": gh_rel("release-3.2.24", "release-2.32.10", "release-3.2.22",
                           "release-3.2.20", "preview-3.1.8", pre=("preview-3.1.8",)),
        "tags": ["release-3.2.24", "release-3.2.22", "release-3.2.20", "release-3.2.18",
                 "release-3.2.16", "release-3.2.14", "release-3.2.12", "release-3.2.10",
                 "release-2.32.10", "release-2.32.8", "preview-3.1.8", "prerelease-3.1.2"]})],
    exp=("github", "3.2.24", "release tag with release- prefix (inferred from the URL)"))

add(name="gperftools", version="2.15", kind="autotools",
    sets=[("name", "gperftools"), ("version", "2.15")], pkg_name="{{ name }}",
    source={"url": "https://github.com/gperftools/gperftools/releases/download/"
                   "{{ name }}-{{ version }}/{{ name }}-{{ version }}.tar.gz"},
    build=[("number", "0"), ("skip", "true  # [win]"),
           ("run_exports", ["{{ pin_subpackage('gperftools', max_pin='x.x') }}"])],
    reqs={"build": ["make", "libtool", "autoconf", "automake"] + CXX_BUILD,
          "host": ["libunwind  # [linux]"], "run": ["perl"]},
    test={"commands": ["test -f ${PREFIX}/lib/libtcmalloc${SHLIB_EXT}",
                       "test -f ${PREFIX}/include/gperftools/tcmalloc.h",
                       "pprof --help"]},
    about=[("home", "https://github.com/gperftools/gperftools"),
           ("summary", "Fast, multi-threaded malloc() and nifty performance analysis tools"),
           ("license", "BSD-3-Clause"), ("license_file", "COPYING")],
    maintainers=["jakirkham", "pitrou", "wolfv"],
    cfyml=CFY_COMPILED,
    ctx={"pin_subpackage('gperftools', max_pin='x.x')": "gperftools >=2.15,<2.16.0a0"},
    world=[("github", "gperftools/gperftools", {
        "releases": gh_rel("gperftools-2.17.2", "gperftools-2.17", "gperftools-2.16"),
        "tags": ["gperftools-2.17.2", "gperftools-2.17.1", "gperftools-2.17",
                 "gperftools-2.16.90", "gperftools-2.16", "gperftools-2.15",
                 "gperftools-2.14", "gperftools-2.13"]})],
    exp=("github", "2.17.2", "tags carry the <package name>- prefix"))

add(name="solr", version="9.7.0", kind="java",
    sets=[("version", "9.7.0")], pkg_name="solr",
    source={"url": "https://github.com/apache/solr/archive/refs/tags/releases/solr/"
                   "{{ version }}.tar.gz"},
    build=[("number", "0"), ("noarch", "generic")],
    reqs={"build": ["openjdk 21"], "host": [], "run": ["openjdk >=11", "lsof  # [linux]"]},
    test={"commands": ["solr version"]},
    about=[("home", "https://solr.apache.org/"),
           ("summary", "Solr is the popular, blazing-fast, open source enterprise search "
                       "platform built on Apache Lucene."),
           ("license", "Apache-2.0"), ("license_file", ["LICENSE.txt", "NOTICE.txt"]),
           ("dev_url", "https://github.com/apache/solr")],
    maintainers=["bollwyvl", "sodre"],
    cfyml=CFY_NOARCH,
    world=[("github", "apache/solr", {
        "releases": [],
        "tags": ["releases/solr/9.9.0", "releases/solr/9.8.1", "releases/solr/9.8.0",
                 "releases/solr/9.7.0", "releases/solr/9.6.1", "releases/solr/9.6.0",
                 "releases/lucene-solr/8.11.4", "releases/lucene-solr/8.11.3",
                 "releases/lucene-solr/8.11.2"]})],
    exp=("github", "9.9.0", "tag prefix releases/solr/ inferred from the URL path; the old "
                            "releases/lucene-solr/ tags are ignored"),
    versions="9.8.1", vpri="9.8.1")

LZ4_TAGS = ["v1.10.0", "v1.9.4", "v1.9.3", "v1.9.2", "v1.9.1", "v1.9.0", "v1.8.3", "v1.8.2",
            "v1.8.1.2", "v1.8.1", "v1.8.0", "v1.7.5", "v1.7.4.2", "v1.7.4", "v1.7.3", "v1.7.2",
            "v1.7.1", "v1.7.0", "r131", "r130", "r129", "r128", "r127", "r126", "r125", "r124",
            "r123", "r122", "r121", "r120", "r119", "r118", "r117", "r116"]
add(name="lz4-c", version="1.9.4", kind="cmake",
    sets=[("version", "1.9.4")], pkg_name="lz4-c",
    source={"url": "https://github.com/lz4/lz4/archive/v{{ version }}.tar.gz"},
    build=[("number", "1"),
           ("run_exports", ["{{ pin_subpackage('lz4-c', max_pin='x.x') }}"])],
    reqs={"build": ["cmake", "make  # [unix]", "ninja  # [win]"] + C_BUILD,
          "host": [], "run": []},
    test={"commands": ["lz4 -h", "lz4c -h  # [unix]",
                       "test -f ${PREFIX}/include/lz4.h  # [unix]",
                       "test -f ${PREFIX}/lib/liblz4${SHLIB_EXT}  # [unix]"]},
    about=[("home", "https://lz4.github.io/lz4/"),
           ("summary", "Extremely Fast Compression algorithm"), ("license", "BSD-2-Clause"),
           ("license_file", "lib/LICENSE"), ("dev_url", "https://github.com/lz4/lz4")],
    maintainers=["mingwandroid", "rmax", "wesm", "xhochy"],
    cfyml=CFY_COMPILED,
    ctx={"pin_subpackage('lz4-c', max_pin='x.x')": "lz4-c >=1.9.4,<1.10.0a0"},
    world=[("github", "lz4/lz4", {"releases": [], "tags": LZ4_TAGS})],
    exp=("github", "1.10.0", "tags mix two numbering schemes: v1.x.y and the old r1NN "
                             "(r131 must not read as version 131)"),
    versions="1.9.4")

add(name="cmake", version="4.0.3", kind="cmake",
    sets=[("version", "4.0.3")], pkg_name="cmake",
    source={"url": "https://github.com/Kitware/CMake/releases/download/v{{ version }}/"
                   "cmake-{{ version }}.tar.gz"},
    build=[("number", "0")],
    reqs={"build": ["make  # [unix]", "ninja  # [win]"] + CMAKE_BUILD[2:],
          "host": ["bzip2", "libcurl", "libexpat", "libuv", "ncurses  # [unix]", "rhash",
                   "xz", "zlib", "zstd"],
          "run": []},
    test={"requires": ["m2-patch  # [win]"],
          "commands": ["cmake --version", "ctest --version", "cpack --version",
                       "ccmake --version  # [unix]"]},
    about=[("home", "https://cmake.org/"),
           ("summary", "CMake is an extensible, open-source system that manages the build "
                       "process"),
           ("license", "BSD-3-Clause"), ("license_file", "Copyright.txt"),
           ("dev_url", "https://gitlab.kitware.com/cmake/cmake"),
           ("doc_url", "https://cmake.org/documentation/")],
    maintainers=["blowekamp", "groutr", "jakirkham", "jschueller", "marcelotrevisani",
                 "msarahan", "ocefpaf", "scopatz"],
    cfyml=cfy(CFY_COMPILED, automerge=None),
    world=[("github", "Kitware/CMake", {
        "releases": gh_rel("v4.2.0-rc1", "v4.1.2", "v4.1.1", "v4.1.0", "v4.1.0-rc3", "v4.0.3",
                           pre=("v4.2.0-rc1", "v4.1.0-rc3")),
        "tags": ["v4.2.0-rc1", "v4.1.2", "v4.1.1", "v4.1.0", "v4.1.0-rc3", "v4.1.0-rc2",
                 "v4.1.0-rc1", "v4.0.3", "v4.0.2", "v4.0.1", "v4.0.0"]})],
    exp=("github", "4.1.2", "the newest GitHub release (v4.2.0-rc1) is a pre-release and "
                            "must be ignored"),
    versions="4.1.0", vpri="4.1.0", pr_info=True)

add(name="nlohmann_json", version="3.11.3", kind="cmake",
    sets=[("name", "nlohmann_json"), ("version", "3.11.3")], pkg_name="{{ name }}",
    source=[{"url": "https://github.com/nlohmann/json/archive/refs/tags/v{{ version }}.tar.gz"},
            {"url": "https://github.com/nlohmann/json_test_data/archive/refs/tags/v3.1.0.tar.gz",
             "folder": "json_test_data"}],
    build=[("number", "1")],
    reqs={"build": CMAKE_BUILD, "host": [], "run": []},
    test={"commands": ["test -f ${PREFIX}/include/nlohmann/json.hpp  # [unix]",
                       "test -f ${PREFIX}/share/cmake/nlohmann_json/nlohmann_jsonConfig.cmake"
                       "  # [unix]",
                       "if not exist %LIBRARY_INC%\\nlohmann\\json.hpp exit 1  # [win]"]},
    about=[("home", "https://json.nlohmann.me"), ("summary", "JSON for Modern C++"),
           ("license", "MIT"), ("license_file", "LICENSE.MIT"),
           ("dev_url", "https://github.com/nlohmann/json")],
    maintainers=["SylvainCorlay", "wolfv", "JohanMabille", "traversaro"],
    cfyml=CFY_COMPILED,
    world=[("github", "nlohmann/json", {
        "releases": gh_rel("v3.12.0", "v3.11.3", "v3.11.2"),
        "tags": ["v3.12.0", "v3.11.3", "v3.11.2", "v3.11.1", "v3.11.0", "v3.10.5"]})],
    exp=("github", "3.12.0", "source is a list of dicts (second one: test data); "
                             "archive/refs/tags/v<ver> URL"))

add(name="openssl", version="3.4.0", kind="openssl",
    sets=[("version", "3.4.0")], pkg_name="openssl",
    source={"url": "https://github.com/openssl/openssl/releases/download/openssl-{{ version }}/"
                   "openssl-{{ version }}.tar.gz"},
    build=[("number", "0"), ("no_link", "lib/libcrypto.so.3  # [linux]"),
           ("run_exports", ["{{ pin_subpackage('openssl', max_pin='x') }}"])],
    reqs={"build": ["make  # [unix]", "perl *"] + C_BUILD, "host": [],
          "run": ["ca-certificates"]},
    test={"commands": ["touch checksum.txt", "openssl sha256 checksum.txt",
                       "openssl ecparam -name prime256v1"]},
    about=[("home", "https://www.openssl.org/"),
           ("summary", "OpenSSL is an open-source implementation of the SSL and TLS protocols"),
           ("license", "Apache-2.0"), ("license_file", "LICENSE.txt"),
           ("dev_url", "https://github.com/openssl/openssl")],
    maintainers=["jakirkham", "msarahan", "ocefpaf", "pelson", "h-vetinari", "chenghlee"],
    cfyml=cfy(CFY_COMPILED, automerge=None, version_updates={"skip": True}),
    ctx={"pin_subpackage('openssl', max_pin='x')": "openssl >=3.4.0,<4.0a0"},
    world=[("github", "openssl/openssl", {
        "releases": gh_rel("openssl-3.6.0", "openssl-3.5.4", "openssl-3.4.3"),
        "tags": ["openssl-3.6.0", "openssl-3.5.4", "openssl-3.4.3", "openssl-3.4.0",
                 "OpenSSL_1_1_1w"]})],
    exp=(None, None, "conda-forge.yml bot.version_updates.skip: not checked; its old "
                     "versions file stays as it is"),
    versions="3.4.0")

# --- CRAN ---------------------------------------------------------------------------------------


def r_node(name, cran, raw_version, *, summary, license, license_file, run, world_version,
           compiled=False, exp=None, versions=None, vpri=None, pr_info=False, maint=None):
    conda_version = raw_version.replace("-", "_")
    build = [("merge_build_host", "true  # [win]"), ("number", "0")]
    if not compiled:
        build.append(("noarch", "generic"))
    build.append(("rpaths", ["lib/R/lib/", "lib/"]))
    breqs = ["cross-r-base {{ r_base }}  # [build_platform != target_platform]"]
    if compiled:
        breqs += ["{{ compiler('c') }}  # [not win]", "{{ stdlib('c') }}  # [not win]",
                  "{{ compiler('m2w64_c') }}  # [win]"]
    breqs += ["{{ posix }}filesystem  # [win]", "{{ posix }}make",
              "{{ posix }}sed  # [win]", "{{ posix }}coreutils  # [win]",
              "{{ posix }}zip  # [win]"]
    host = ["r-base"] + run[1:]
    if compiled:
        host += ["llvm-openmp  # [osx]", "libgomp  # [linux]", "zlib"]
    add(name=name, version=conda_version, raw_version=raw_version, kind="r",
        sets=[("version", raw_version), ("posix", "'m2-' if win else ''"),
              ("native", "'m2w64-' if win else ''")],
        set_literal={"posix", "native"},
        pkg_name=name, pkg_version='{{ version|replace("-", "_") }}',
        source={"url": [f"{{{{ cran_mirror }}}}/src/contrib/{cran}_{{{{ version }}}}.tar.gz",
                        f"{{{{ cran_mirror }}}}/src/contrib/Archive/{cran}/{cran}_"
                        f"{{{{ version }}}}.tar.gz"]},
        build=build, reqs={"build": breqs, "host": host, "run": run},
        test={"commands": [f"$R -e \"library('{cran}')\"  # [not win]",
                           f"\"\\\"%R%\\\" -e \\\"library('{cran}')\\\"\"  # [win]"]},
        about=[("home", f"https://CRAN.R-project.org/package={cran}"),
               ("summary", summary), ("license", license),
               ("license_family", license.split("-")[0]),
               ("license_file", license_file)],
        maintainers=maint or ["conda-forge/r"], cfyml=CFY_NOARCH if not compiled else CFY_COMPILED,
        world=[("cran", cran, world_version)], exp=exp, versions=versions, vpri=vpri,
        pr_info=pr_info)


R_GPL2 = ["{{ environ[\"PREFIX\"] }}/lib/R/share/licenses/GPL-2"]
R_GPL3 = ["{{ environ[\"PREFIX\"] }}/lib/R/share/licenses/GPL-3"]

r_node("r-lahman", "Lahman", "12.0-0",
       summary="Provides the tables from the 'Sean Lahman Baseball Database' as a set of R data "
               "frames.",
       license="GPL-2.0-or-later", license_file=R_GPL2,
       run=["r-base", "r-dplyr"], world_version="13.0-0",
       exp=("cran", "13.0_0", "CRAN version 13.0-0 becomes 13.0_0; two-URL mirror list "
                              "(contrib and Archive)"),
       versions="12.0_0")

r_node("r-ggplot2", "ggplot2", "3.5.1",
       summary="A system for 'declaratively' creating graphics, based on \"The Grammar of "
               "Graphics\".",
       license="MIT", license_file=["{{ environ[\"PREFIX\"] }}/lib/R/share/licenses/MIT",
                                    "LICENSE"],
       run=["r-base", "r-mass", "r-cli", "r-glue", "r-gtable >=0.1.1", "r-isoband",
            "r-lifecycle >1.0.1", "r-mgcv", "r-rlang >=1.1.0", "r-scales >=1.3.0", "r-tibble",
            "r-vctrs >=0.5.0", "r-withr >=2.5.0"],
       world_version="3.5.2",
       exp=("cran", "3.5.2", "CRAN package whose versions file already holds the answer"),
       versions="3.5.2", pr_info=True)

r_node("r-data.table", "data.table", "1.16.4", compiled=True,
       summary="Fast aggregation of large data, fast ordered joins, fast add/modify/delete of "
               "columns by group, fast file reader and writer.",
       license="MPL-2.0", license_file="LICENSE",
       run=["r-base"], world_version="1.17.8",
       exp=("cran", "1.17.8", "CRAN package name with a dot (data.table), compiled recipe"))

# --- crates --------------------------------------------------------------------------------------


def crate_lines(spec: str, yanked=()) -> list[dict]:
    return [{"vers": v, "yanked": v in yanked} for v in spec.split()]


add(name="cargo-edit", version="0.13.0", kind="rust",
    sets=[("name", "cargo-edit"), ("version", "0.13.0")], pkg_name="{{ name }}",
    source={"url": "https://crates.io/api/v1/crates/{{ name }}/{{ version }}/download",
            "fn": "{{ name }}-{{ version }}.tar.gz"},
    build=[("number", "0")],
    reqs={"build": ["{{ compiler('rust') }}", "{{ compiler('c') }}", "{{ stdlib('c') }}",
                    "cargo-bundle-licenses", "cmake", "make  # [unix]", "pkg-config"],
          "host": ["openssl", "libgit2", "zlib"], "run": []},
    test={"commands": ["cargo-add --version", "cargo-rm --version", "cargo-upgrade --version",
                       "cargo-set-version --version"]},
    about=[("home", "https://github.com/killercup/cargo-edit"),
           ("summary", "A utility for managing cargo dependencies from the command line."),
           ("license", "Apache-2.0 OR MIT"),
           ("license_file", ["LICENSE", "THIRDPARTY.yml"]),
           ("dev_url", "https://github.com/killercup/cargo-edit")],
    maintainers=["bollwyvl", "conda-forge/rust"],
    cfyml=CFY_COMPILED,
    world=[("crates", "cargo-edit",
            crate_lines("0.12.2 0.12.3 0.13.0 0.13.1 0.13.2 0.13.3 0.13.4 0.13.6 0.13.7",
                        yanked=("0.13.7",)))],
    exp=("crates", "0.13.6", "crates.io api download URL; the newest line (0.13.7) is yanked"),
    versions="0.13.1", vpri="0.13.1")

add(name="mdbook", version="0.4.40", kind="rust",
    sets=[("name", "mdbook"), ("version", "0.4.40")], pkg_name="{{ name }}",
    source={"url": "https://static.crates.io/crates/{{ name }}/{{ name }}-{{ version }}.crate",
            "fn": "{{ name }}-{{ version }}.tar.gz"},
    build=[("number", "0")],
    reqs={"build": ["{{ compiler('rust') }}", "{{ compiler('c') }}", "{{ stdlib('c') }}",
                    "cargo-bundle-licenses"], "host": [], "run": []},
    test={"commands": ["mdbook --version", "mdbook init --help"]},
    about=[("home", "https://rust-lang.github.io/mdBook/"),
           ("summary", "Create book from markdown files. Like Gitbook but implemented in Rust"),
           ("license", "MPL-2.0"), ("license_file", ["LICENSE", "THIRDPARTY.yml"]),
           ("dev_url", "https://github.com/rust-lang/mdBook")],
    maintainers=["bollwyvl", "conda-forge/rust"],
    cfyml=CFY_COMPILED,
    world=[("crates", "mdbook",
            crate_lines("0.4.36 0.4.37 0.4.38 0.4.39 0.4.40 0.4.41 0.4.42 0.4.43 0.4.44 0.4.45 "
                        "0.4.47 0.4.48 0.4.49 0.4.50 0.4.51 0.4.52 0.5.0-alpha.1"))],
    exp=("crates", "0.4.52", "static.crates.io URL; the last index line is a pre-release "
                             "(0.5.0-alpha.1)"))

# --- npm -----------------------------------------------------------------------------------------

add(name="configurable-http-proxy", version="4.6.2", kind="npm",
    sets=[("name", "configurable-http-proxy"), ("version", "4.6.2")], pkg_name="{{ name }}",
    source={"url": f"{NPM}/{{{{ name }}}}/-/{{{{ name }}}}-{{{{ version }}}}.tgz"},
    build=[("number", "0"), ("noarch", "generic")],
    reqs={"build": [], "host": ["nodejs >=18"], "run": ["nodejs >=18"]},
    test={"commands": ["configurable-http-proxy -h"]},
    about=[("home", "https://github.com/jupyterhub/configurable-http-proxy"),
           ("summary", "node-http-proxy plus a REST API"), ("license", "BSD-3-Clause"),
           ("license_file", ["LICENSE", "third-party-licenses.txt"])],
    maintainers=["minrk", "willingc", "bollwyvl", "manics"],
    cfyml=CFY_NOARCH,
    world=[("npm", "configurable-http-proxy", {
        "versions": vlist("4.5.6 4.6.0 4.6.1 4.6.2 4.6.3 5.0.0-beta.0 5.0.0 5.0.1"),
        "latest": "5.0.1"})],
    exp=("npm", "5.0.1", "npm registry, dist-tags.latest"),
    versions="4.6.3")

add(name="bitwarden-cli", version="2024.9.0", kind="npm",
    sets=[("name", "bitwarden-cli"), ("npm_name", "@bitwarden/cli"), ("version", "2024.9.0")],
    pkg_name="{{ name }}",
    source={"url": f"{NPM}/{{{{ npm_name }}}}/-/cli-{{{{ version }}}}.tgz"},
    build=[("number", "0")],
    reqs={"build": [], "host": ["nodejs 22.*"], "run": ["nodejs 22.*"]},
    test={"commands": ["bw --version", "bw --help"]},
    about=[("home", "https://bitwarden.com"),
           ("summary", "A secure and free password manager for all of your devices (CLI)"),
           ("license", "GPL-3.0-only"), ("license_file", ["LICENSE.txt", "third-party-licenses/"]),
           ("dev_url", "https://github.com/bitwarden/clients")],
    maintainers=["bollwyvl"],
    cfyml=CFY_COMPILED,
    world=[("npm", "@bitwarden/cli", {
        "versions": vlist("2024.8.2 2024.9.0 2024.10.0 2024.11.0 2024.12.0 2025.1.0 2025.1.1 "
                          "2025.2.0 2025.3.0 2025.4.0 2025.5.0 2025.6.1 2025.7.0 2025.8.0 "
                          "2025.9.0"),
        "latest": "2025.9.0"})],
    exp=("npm", "2025.9.0", "scoped npm package @bitwarden/cli (tarball named cli-<ver>.tgz)"))

# --- GitLab ---------------------------------------------------------------------------------------

add(name="eigen", version="3.4.0", kind="cmake",
    sets=[("version", "3.4.0")], pkg_name="eigen",
    source={"url": "https://gitlab.com/libeigen/eigen/-/archive/{{ version }}/"
                   "eigen-{{ version }}.tar.gz"},
    build=[("number", "0")],
    reqs={"build": ["cmake", "make  # [unix]", "ninja  # [win]", "{{ compiler('cxx') }}",
                    "{{ stdlib('c') }}"], "host": [], "run": []},
    test={"commands": ["test -f ${PREFIX}/include/eigen3/Eigen/Core  # [unix]",
                       "test -f ${PREFIX}/share/eigen3/cmake/Eigen3Config.cmake  # [unix]",
                       "if not exist %LIBRARY_INC%\\eigen3\\Eigen\\Core exit 1  # [win]"]},
    about=[("home", "https://eigen.tuxfamily.org/"),
           ("summary", "C++ template library for linear algebra"), ("license", "MPL-2.0"),
           ("license_file", ["COPYING.MPL2", "COPYING.BSD", "COPYING.MINPACK"]),
           ("dev_url", "https://gitlab.com/libeigen/eigen")],
    maintainers=["jakirkham", "msarahan", "patricksnape", "seanyen", "tadeu", "ocefpaf"],
    cfyml=CFY_COMPILED,
    world=[("gitlab", "libeigen/eigen", {
        "releases": ["5.0.0", "3.4.1", "3.4.0"],
        "tags": ["5.0.0", "3.4.1", "3.4.0", "3.3.9", "3.3.8", "before-git-migration"]})],
    exp=("gitlab", "5.0.0", "gitlab.com /-/archive/<ver>/ URL"),
    versions="3.4.1", vpri="3.4.1", pr_info=True)

# --- git_url -------------------------------------------------------------------------------------

CXXOPTS_GIT = "https://github.com/jarro2783/cxxopts.git"
add(name="cxxopts", version="3.2.1", kind="cmake",
    sets=[("version", "3.2.1")], pkg_name="cxxopts",
    source={"git_url": CXXOPTS_GIT, "git_rev": "v{{ version }}"},
    build=[("number", "0")],
    reqs={"build": ["cmake", "ninja", "{{ compiler('cxx') }}", "{{ stdlib('c') }}"],
          "host": [], "run": []},
    test={"commands": ["test -f ${PREFIX}/include/cxxopts.hpp  # [unix]",
                       "if not exist %LIBRARY_INC%\\cxxopts.hpp exit 1  # [win]"]},
    about=[("home", "https://github.com/jarro2783/cxxopts"),
           ("summary", "Lightweight C++ command line option parser"), ("license", "MIT"),
           ("license_file", "LICENSE")],
    maintainers=["tdegeus", "SylvainCorlay"],
    cfyml=CFY_COMPILED,
    world=[("git", CXXOPTS_GIT, ["v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0", "v1.4.0", "v1.4.1",
                                 "v1.4.2", "v2.0.0", "v2.1.0", "v2.1.1", "v2.1.2", "v2.2.0",
                                 "v2.2.1", "v3.0.0", "v3.1.0", "v3.1.1", "v3.2.0", "v3.2.1",
                                 "v3.3.0", "v3.3.1"])],
    exp=("gittags", "3.3.1", "source is git_url + git_rev (no url): tags of the git remote"),
    versions="3.2.1")

# --- raw download servers -------------------------------------------------------------------------

add(name="coreutils", version="9.5", kind="autotools",
    sets=[("name", "coreutils"), ("version", "9.5")], pkg_name="{{ name }}",
    source={"url": "https://ftp.gnu.org/gnu/{{ name }}/{{ name }}-{{ version }}.tar.xz"},
    build=[("number", "0"), ("skip", "true  # [win]")],
    reqs={"build": ["make", "perl"] + C_BUILD, "host": ["libacl  # [linux]", "gmp"],
          "run": []},
    test={"commands": ["ls --version", "sort --version", "cat --version",
                       "echo a | sha256sum"]},
    about=[("home", "https://www.gnu.org/software/coreutils/"),
           ("summary", "The GNU Core Utilities are the basic file, shell and text manipulation "
                       "utilities of the GNU operating system."),
           ("license", "GPL-3.0-or-later"), ("license_file", "COPYING")],
    maintainers=["msarahan", "jakirkham", "ocefpaf"],
    cfyml=CFY_COMPILED,
    files=[f"https://ftp.gnu.org/gnu/coreutils/coreutils-{v}.tar.xz"
           for v in ("9.4", "9.5", "9.6", "9.7", "9.8")],
    exp=("rawurl", "9.8", "GNU mirror: 9.5 -> 9.6 -> 9.7 -> 9.8 exist; 9.9 and 10.0 do not"))

BOOST = "https://archives.boost.io/release/{v}/source/boost_{u}.tar.bz2"
add(name="libboost", version="1.86.0", kind="boost",
    sets=[("version", "1.86.0"), ("filename", '"boost_%s.tar.bz2" % version.replace(".", "_")')],
    set_literal={"filename"},
    pkg_name="libboost-split",
    source={"url": "https://archives.boost.io/release/{{ version }}/source/{{ filename }}"},
    build=[("number", "2")],
    reqs={"build": ["{{ compiler('c') }}", "{{ compiler('cxx') }}", "{{ stdlib('c') }}"],
          "host": ["bzip2", "icu", "libiconv  # [osx]", "xz", "zlib", "zstd"], "run": []},
    test={"commands": ["test -f ${PREFIX}/include/boost/version.hpp  # [unix]"]},
    about=[("home", "https://www.boost.org/"),
           ("summary", "Free peer-reviewed portable C++ source libraries."),
           ("license", "BSL-1.0"), ("license_file", "LICENSE_1_0.txt"),
           ("dev_url", "https://github.com/boostorg/boost")],
    maintainers=["ccordoba12", "isuruf", "h-vetinari", "beckermr", "xhochy"],
    cfyml=cfy(CFY_COMPILED, automerge=None),
    outputs=["libboost", "libboost-devel", "libboost-headers", "libboost-python",
             "libboost-python-devel"],
    files=[BOOST.format(v=v, u=v.replace(".", "_"))
           for v in ("1.85.0", "1.86.0", "1.87.0", "1.88.0", "1.89.0")],
    exp=("rawurl", "1.89.0", "version also written with underscores in the URL "
                             "(boost_1_86_0.tar.bz2); 1.87.0, 1.88.0, 1.89.0 exist"),
    versions="1.87.0", vpri="1.87.0", pr_info=True)

add(name="giflib", version="5.2.1", kind="autotools",
    sets=[("version", "5.2.1")], pkg_name="giflib",
    source={"url": "https://downloads.sourceforge.net/project/giflib/giflib-{{ version }}.tar.gz"},
    build=[("number", "3"), ("run_exports", ["{{ pin_subpackage('giflib', max_pin='x.x') }}"])],
    reqs={"build": ["make  # [unix]", "cmake  # [win]"] + C_BUILD, "host": [], "run": []},
    test={"commands": ["test -f ${PREFIX}/include/gif_lib.h  # [unix]",
                       "test -f ${PREFIX}/lib/libgif${SHLIB_EXT}  # [unix]"]},
    about=[("home", "http://giflib.sourceforge.net"),
           ("summary", "Library for reading and writing gif images"), ("license", "MIT"),
           ("license_file", "COPYING")],
    maintainers=["ocefpaf", "jakirkham", "xhochy"],
    cfyml=CFY_COMPILED,
    ctx={"pin_subpackage('giflib', max_pin='x.x')": "giflib >=5.2.1,<5.3.0a0"},
    files=[f"https://downloads.sourceforge.net/project/giflib/giflib-{v}.tar.gz"
           for v in ("5.2.1", "5.2.2")],
    exp=("rawurl", "5.2.2", "SourceForge download: 5.2.2 exists, 5.2.3/5.3.0/6.0.0 do not"))

QT = ("https://download.qt.io/official_releases/qt/{mm}/{v}/submodules/"
      "qtbase-everywhere-src-{v}.tar.xz")
add(name="qt-main", version="6.8.0", kind="cmake",
    sets=[("version", "6.8.0"), ("version_majmin", "version.rsplit('.', 1)[0]")],
    set_literal={"version_majmin"},
    pkg_name="qt-main",
    source={"url": "https://download.qt.io/official_releases/qt/{{ version_majmin }}/"
                   "{{ version }}/submodules/qtbase-everywhere-src-{{ version }}.tar.xz"},
    build=[("number", "0"),
           ("run_exports", ["{{ pin_subpackage('qt-main', max_pin='x.x') }}"])],
    reqs={"build": CMAKE_BUILD + ["perl", "pkg-config  # [unix]"],
          "host": ["openssl", "zlib", "libpng", "icu", "harfbuzz", "freetype", "fontconfig",
                   "libxkbcommon  # [linux]", "xorg-libx11  # [linux]", "libglib",
                   "libpq", "krb5"], "run": []},
    test={"commands": ["qmake6 -v  # [unix]", "qmake6.exe -v  # [win]"]},
    about=[("home", "https://qt.io"), ("summary", "Qt is a cross-platform application and UI "
                                                  "framework."),
           ("license", "LGPL-3.0-only"), ("license_file", "LICENSES/LGPL-3.0-only.txt")],
    maintainers=["conda-forge/qt-main", "hmaarrfk", "mingwandroid", "ocefpaf", "msarahan"],
    cfyml=cfy(CFY_COMPILED, automerge=None),
    ctx={"version_majmin": "6.8",
         "pin_subpackage('qt-main', max_pin='x.x')": "qt-main >=6.8.0,<6.9.0a0"},
    parsing_error="make_graph: render error Failed to render jinja template in "
                  "recipe/meta.yaml:\n'opengl_variant' is undefined",
    files=[QT.format(mm="6.8", v=v) for v in ("6.8.0", "6.8.1", "6.8.2", "6.8.3")],
    exp=(None, None, "parsing_error is set: not checked although 6.8.1 exists"))

# --- ROS ------------------------------------------------------------------------------------------

add(name="ros-humble-rclcpp", version="16.0.10", kind="ros",
    sets=[], pkg_name="ros-humble-rclcpp", pkg_version="16.0.10",
    source={"url": "https://github.com/ros2-gbp/rclcpp-release/archive/release/humble/rclcpp/"
                   "16.0.10-1.tar.gz",
            "folder": "ros-humble-rclcpp/src/work"},
    build=[("script", "bash ${RECIPE_DIR}/build_ament_cmake.sh  # [unix]"),
           ("number", "8")],
    reqs={"build": ["{{ compiler('cxx') }}", "{{ compiler('c') }}", "{{ stdlib('c') }}",
                    "ninja", "python", "setuptools", "make  # [unix]", "coreutils  # [unix]",
                    "pkg-config", "cmake"],
          "host": ["numpy", "pip", "python", "ros-humble-ament-cmake-gen-version-h",
                   "ros-humble-ament-cmake-ros", "ros-humble-ament-index-cpp",
                   "ros-humble-builtin-interfaces", "ros-humble-libstatistics-collector",
                   "ros-humble-rcl", "ros-humble-rcl-interfaces",
                   "ros-humble-rcl-yaml-param-parser",
                   "ros-humble-rcpputils", "ros-humble-rcutils", "ros-humble-rmw",
                   "ros-humble-ros-workspace", "ros-humble-rosgraph-msgs",
                   "ros-humble-statistics-msgs", "ros-humble-tracetools",
                   "ros2-distro-mutex 0.6.* humble_*"],
          "run": ["python", "ros-humble-ament-index-cpp", "ros-humble-builtin-interfaces",
                  "ros-humble-libstatistics-collector", "ros-humble-rcl",
                  "ros-humble-rcl-interfaces", "ros-humble-rcpputils", "ros-humble-rcutils",
                  "ros-humble-rmw", "ros-humble-ros-workspace", "ros-humble-tracetools",
                  "ros2-distro-mutex 0.6.* humble_*"]},
    test={},
    about=[("home", "https://www.ros.org/"), ("summary", "Robot Operating System"),
           ("license", "BSD-3-Clause"), ("license_file", "LICENSE")],
    maintainers=["Tobias-Fischer", "wolfv", "traversaro", "ruben-arts"],
    cfyml=CFY_COMPILED,
    world=[("ros", "humble", {"rclcpp": "16.0.13-1", "rcl": "5.3.11-1", "rclpy": "3.3.16-1",
                              "rmw": "6.1.2-1", "rosidl": "3.1.7-1",
                              "ament_cmake": "1.3.12-1"})],
    exp=("ros", "16.0.13", "ros-humble-<pkg>: version from rosdistro humble distribution.yaml "
                           "(16.0.13-1, debian increment dropped)"),
    versions="16.0.11")

# --- CPAN and RubyGems --------------------------------------------------------------------------

add(name="perl-json", version="4.10", kind="perl",
    sets=[("name", "JSON"), ("version", "4.10"),
          ("sha256", None)],
    set_literal={"sha256"}, sha_var=True,
    pkg_name="perl-{{ name|lower }}",
    source={"url": "https://cpan.metacpan.org/authors/id/I/IS/ISHIGAKI/"
                   "{{ name }}-{{ version }}.tar.gz"},
    build=[("noarch", "generic"), ("number", "1")],
    reqs={"build": ["make"], "host": ["perl"], "run": ["perl"]},
    test={"imports": ["JSON", "JSON::backportPP"]},
    about=[("home", "https://metacpan.org/pod/JSON"),
           ("summary", "JSON (JavaScript Object Notation) encoder/decoder"),
           ("license", "GPL-1.0-or-later OR Artistic-1.0-Perl"),
           ("license_file", ["{{ environ[\"PREFIX\"] }}/licenses/perl/Artistic.txt"])],
    maintainers=["conda-forge/perl-packagers", "mbargull"],
    cfyml=CFY_NOARCH,
    world=[("metacpan", "JSON", {"version": "4.10", "maturity": "released",
                                 "author": "ISHIGAKI"})],
    exp=("metacpan", "4.10", "CPAN download: MetaCPAN's latest release document (released); "
                             "replaces an earlier null"),
    versions="NULL")

add(name="rb-asciidoctor", version="2.0.23", kind="ruby",
    sets=[("name", "asciidoctor"), ("version", "2.0.23")], pkg_name="rb-{{ name }}",
    source={"url": "https://rubygems.org/downloads/{{ name }}-{{ version }}.gem"},
    build=[("noarch", "generic"), ("number", "0"),
           ("script", "gem install -N -l -V --norc --ignore-dependencies {{ name }}-{{ version }}"
                      ".gem")],
    reqs={"build": [], "host": ["ruby"], "run": ["ruby"]},
    test={"commands": ["asciidoctor --version"]},
    about=[("home", "https://asciidoctor.org"),
           ("summary", "A fast, open source text processor and publishing toolchain for "
                       "converting AsciiDoc content to HTML5, DocBook, PDF, and other formats."),
           ("license", "MIT"), ("license_file", "LICENSE")],
    maintainers=["bollwyvl", "conda-forge/ruby"],
    cfyml=CFY_NOARCH,
    world=[("rubygems", "asciidoctor", [
        {"number": v, "prerelease": pre} for v, pre in (
            ("2.0.23", False), ("2.0.22", False), ("2.0.21", False), ("2.0.20", False),
            ("2.0.0.rc.3", True))])],
    exp=("rubygems", "2.0.23", "RubyGems versions API, newest first; equal to the recipe"))


# about.description of the recipes that have one
DESCRIPTIONS = {
    "cxxopts": """\
This is a lightweight C++ option parser library, supporting the standard GNU
style syntax for options. Options can be given as --long, --long=argument,
--long argument, -a, -ab, -abc argument, where c takes an argument but a and b
do not. cxxopts is header-only: install it and #include <cxxopts.hpp>.
""",
    "fzf": """\
fzf is a general-purpose command-line fuzzy finder. It's an interactive Unix
filter for command-line that can be used with any list; files, command history,
processes, hostnames, bookmarks, git commits, etc.
""",
    "configurable-http-proxy": """\
configurable-http-proxy (CHP) provides you with a way to update and manage a
proxy table using a command line interface or REST API. It is a simple wrapper
around node-http-proxy. node-http-proxy is an HTTP programmable proxying library
that supports websockets and is suitable for implementing components such as
reverse proxies and load balancers.
""",
    "solr": """\
Solr is highly reliable, scalable and fault tolerant, providing distributed
indexing, replication and load-balanced querying, automated failover and
recovery, centralized configuration and more. Solr powers the search and
navigation features of many of the world's largest internet sites.
""",
    "bitwarden-cli": """\
The Bitwarden command-line interface (CLI) is a powerful, fully-featured tool
for accessing and managing your vault. Most features that you find in other
Bitwarden client applications (desktop, browser extension, etc.) are available
from the CLI.
""",
    "perl-json": """\
This module is a thin wrapper for JSON::XS-compatible modules with a few
additional features. All the backend modules convert a Perl data structure to a
JSON text and vice versa. This module uses JSON::XS by default, and when
JSON::XS is not available, falls back on JSON::PP.
""",
    "rb-asciidoctor": """\
Asciidoctor reads and parses text written in the AsciiDoc syntax, then feeds
the parse tree to a set of built-in converters to produce HTML5, DocBook 5, and
man(ual) page output. You have the option of using your own converter or
loading Tilt-supported templates to customize the generated output.
""",
    "giflib": """\
giflib is a library for reading and writing gif images. It is API and ABI
compatible with libungif which was in wide use while the LZW compression
algorithm was patented.
""",
    "mdbook": """\
mdBook is a command line tool to create books with Markdown. It is ideal for
creating product or API documentation, tutorials, course materials or anything
that requires a clean, easily navigable and customizable presentation.
""",
    "coreutils": """\
The GNU Core Utilities are the basic file, shell and text manipulation
utilities of the GNU operating system. These are the core utilities which are
expected to exist on every operating system.
""",
    "lz4-c": """\
LZ4 is lossless compression algorithm, providing compression speed > 500 MB/s
per core, scalable with multi-cores CPU. It features an extremely fast decoder,
with speed in multiple GB/s per core, typically reaching RAM speed limits on
multi-core systems.
""",
}


# ---------------------------------------------------------------------------------------------
# rendering


BASE_CTX = {
    "PYTHON": "$PYTHON",
    "compiler('c')": "c_compiler_stub",
    "compiler('cxx')": "cxx_compiler_stub",
    "compiler('rust')": "rust_compiler_stub",
    "compiler('go-nocgo')": "go_compiler_stub",
    "compiler('m2w64_c')": "m2w64_c_compiler_stub",
    "stdlib('c')": "c_stdlib_stub",
    "cran_mirror": CRAN,
    "posix": "",
    "native": "",
    "r_base": "4.4",
    "target_platform": "linux-64",
    'environ["PREFIX"]': "$PREFIX",
}
TRUE_SELECTORS = {"unix", "linux", "not win", "not osx"}
JINJA = re.compile(r"\{\{\s*(.*?)\s*\}\}")
SELECTOR = re.compile(r"\s+#\s*\[(?P<sel>[^\]]+)\]\s*$")


def node_ctx(n: dict) -> dict:
    ctx = dict(BASE_CTX)
    raw_version = n.get("raw_version", n["version"])
    for key, value in n["sets"]:
        if key not in n.get("set_literal", ()):
            ctx[key] = value
    ctx["version"] = raw_version
    ctx['version|replace("-", "_")'] = raw_version.replace("-", "_")
    if "name" in ctx:
        ctx["name|lower"] = ctx["name"].lower()
        ctx["name[0]"] = ctx["name"][0]
    ctx["python_min"] = n.get("python_min", "3.9")
    if n["name"] == "libboost":
        ctx["filename"] = "boost_{}.tar.bz2".format(raw_version.replace(".", "_"))
    ctx.update(n.get("ctx", {}))
    return ctx


def render(text: str, ctx: dict) -> str | None:
    """Linux rendering of one recipe line: None when a selector drops it."""
    match = SELECTOR.search(text)
    if match:
        if match.group("sel").strip() not in TRUE_SELECTORS:
            return None
        text = text[: match.start()]
    return JINJA.sub(lambda m: ctx[m.group(1).strip()], text).strip()


def render_list(items, ctx) -> list[str]:
    return [r for r in (render(i, ctx) for i in items) if r is not None]


def scalar(value: str, ctx: dict):
    out = render(value, ctx)
    if out is None:
        return None
    if re.fullmatch(r"\d+", out):
        return int(out)
    if out in ("true", "false"):
        return out == "true"
    return out


def yq(text: str) -> str:
    """A YAML scalar as a recipe writer would type it (a trailing selector stays as is)."""
    match = SELECTOR.search(text)
    body, sel = (text[: match.start()], text[match.start():]) if match else (text, "")
    if body.startswith(("{{", '"')):
        return body + sel
    if (": " in body or " #" in body or body[:1] in "&*!|>'%@`[]{},?-#"
            or body.endswith(":")):
        body = json.dumps(body, ensure_ascii=False)
    return body + sel


def emit(lines: list[str], key: str, value, indent: int) -> None:
    pad = " " * indent
    if isinstance(value, list):
        if not value:
            return
        lines.append(f"{pad}{key}:")
        for item in value:
            lines.append(f"{pad}  - {yq(item)}")
    else:
        lines.append(f"{pad}{key}: {yq(value)}")


def source_dicts(n: dict) -> list[dict]:
    src = n["source"]
    return src if isinstance(src, list) else [src]


def sha_of(n: dict, i: int, url) -> str:
    first = url[0] if isinstance(url, list) else url
    return fake_sha256(n["name"], n["version"], str(i), first or "")


def raw_meta_yaml(n: dict) -> str:
    lines: list[str] = []
    for key, value in n["sets"]:
        if key == "sha256" and value is None:  # the hash set at the top of the recipe
            value = '"' + sha_of(n, 0, render_url(source_dicts(n)[0]["url"], node_ctx(n))) + '"'
        if key in n.get("set_literal", ()):
            lines.append(f"{{% set {key} = {value} %}}")
        else:
            lines.append(f'{{% set {key} = "{value}" %}}')
    if lines:
        lines.append("")
    lines += ["package:", f"  name: {n['pkg_name']}",
              f"  version: {n.get('pkg_version', '{{ version }}')}", "", "source:"]
    srcs = source_dicts(n)
    multi = isinstance(n["source"], list)
    for i, src in enumerate(srcs):
        first = True
        for key in ("url", "git_url", "git_rev", "fn", "sha256", "folder"):
            if key == "sha256":
                if "git_url" in src:
                    continue
                value = "{{ sha256 }}" if n.get("sha_var") else sha_of(
                    n, i, render_url(src["url"], node_ctx(n)))
            elif key in src:
                value = src[key]
            else:
                continue
            pad = "  - " if multi and first else "    " if multi else "  "
            first = False
            if isinstance(value, list):
                lines.append(f"{pad}{key}:")
                for item in value:
                    lines.append(f"{'    ' if not multi else '      '}- {item}")
            else:
                lines.append(f"{pad}{key}: {value}")
    lines += ["", "build:"]
    for key, value in n["build"]:
        emit(lines, key, value, 2)
    lines += ["", "requirements:"]
    for sect in ("build", "host", "run", "run_constrained"):
        emit(lines, sect, n["reqs"].get(sect, []), 2)
    if n["test"]:
        lines += ["", "test:"]
        for sect in ("imports", "requires", "commands"):
            emit(lines, sect, n["test"].get(sect, []), 2)
    lines += ["", "about:"]
    for key, value in n["about"]:
        emit(lines, key, value, 2)
        if key == "summary" and n["name"] in DESCRIPTIONS:
            lines.append("  description: |")
            lines += [f"    {line}" if line else "" for line in
                      DESCRIPTIONS[n["name"]].rstrip("\n").split("\n")]
    lines += ["", "extra:", "  recipe-maintainers:"]
    lines += [f"    - {m}" for m in n["maintainers"]]
    return "\n".join(lines) + "\n"


def render_url(url, ctx):
    if isinstance(url, list):
        return [render(u, ctx) for u in url]
    return render(url, ctx)


def rendered_source(n: dict, ctx: dict):
    out = []
    for i, src in enumerate(source_dicts(n)):
        d = {}
        for key, value in src.items():
            d[key] = render_url(value, ctx)
        if "git_url" not in src:
            d["sha256"] = sha_of(n, i, d["url"])
        out.append(d)
    return out if isinstance(n["source"], list) else out[0]


def req_name(spec: str) -> str:
    return spec.split()[0]


def node_attrs(n: dict) -> dict:
    ctx = node_ctx(n)
    reqs = {k: r for k, v in n["reqs"].items() if (r := render_list(v, ctx))}
    test = {k: r for k, v in n["test"].items() if (r := render_list(v, ctx))}
    build = {}
    for key, value in n["build"]:
        if isinstance(value, list):
            build[key] = render_list(value, ctx)
        else:
            v = scalar(value, ctx)
            if v is not None:
                build[key] = v
    about = {}
    for key, value in n["about"]:
        about[key] = render_list(value, ctx) if isinstance(value, list) else render(value, ctx)
    if n["name"] in DESCRIPTIONS:
        about["description"] = DESCRIPTIONS[n["name"]].rstrip("\n") + "\n"
    source = rendered_source(n, ctx)
    meta = {
        "about": about,
        "build": build,
        "extra": {"recipe-maintainers": list(n["maintainers"])},
        "package": {"name": render(n["pkg_name"], ctx),
                    "version": render(n.get("pkg_version", "{{ version }}"), ctx)},
        "requirements": {k: v for k, v in reqs.items() if k in ("build", "host", "run",
                                                                 "run_constrained")},
        "source": source,
    }
    if test:
        meta["test"] = test
    if n["name"] == "libboost":
        meta["outputs"] = [{"name": o, "requirements": {"run": [f"libboost {n['version']}"]}}
                           for o in n["outputs"][1:]]
    test_reqs = test.get("requires", [])
    sections = {"build": reqs.get("build", []), "host": reqs.get("host", []),
                "run": reqs.get("run", []), "test": test_reqs}
    noarch = build.get("noarch")
    attrs = {
        "archived": bool(n.get("archived", False)),
        "bad": False,
        "branch": "main",
        "conda-forge.yml": n["cfyml"],
        "feedstock_name": n["name"],
        "hash_type": "sha256",
        "meta_yaml": meta,
        "name": n["name"],
        "outputs_names": as_set(n.get("outputs") or [n["name"]]),
        "parsing_error": n.get("parsing_error", False),
        "platforms": ["linux_64"] if noarch else ["linux_64", "osx_64", "win_64"],
        "raw_meta_yaml": raw_meta_yaml(n),
        "requirements": {k: as_set(req_name(s) for s in v) for k, v in sections.items()},
        "strong_exports": False,
        "total_requirements": {k: as_set(v) for k, v in sections.items()},
        "version": n["version"],
    }
    first = source[0] if isinstance(source, list) else source
    if "url" in first:
        attrs["url"] = first["url"]
    else:
        del attrs["hash_type"]
    if n.get("pr_info"):
        attrs["pr_info"] = {"__lazy_json__": f"pr_info/{n['name']}.json"}
    if n.get("vpri"):
        attrs["version_pr_info"] = {"__lazy_json__": f"version_pr_info/{n['name']}.json"}
    return attrs


# ---------------------------------------------------------------------------------------------
# writing


def build_world() -> dict:
    world: dict = {"pypi": {}, "npm": {}, "github": {}, "gitlab": {}, "cran": {}, "crates": {},
                   "ros": {}, "git": {}, "rubygems": {}, "metacpan": {}, "files": []}
    for n in NODES:
        for table, key, value in n.get("world", []):
            if table == "ros":
                world["ros"].setdefault(key, {}).update(value)
            else:
                assert key not in world[table], (table, key)
                world[table][key] = value
        world["files"] += n.get("files", [])
    # a few more packages in CRAN's PACKAGES index, as the real one has thousands
    world["cran"].update({"dplyr": "1.1.4", "rlang": "1.1.6", "scales": "1.4.0",
                          "tibble": "3.3.0", "vctrs": "0.6.5"})
    world["files"] = sorted(world["files"])
    return world


def versions_doc(value):
    if isinstance(value, dict):
        return value
    if value == "NULL":
        return {"new_version": None}
    return {"new_version": value}


def main() -> None:
    names = [n["name"] for n in NODES]
    assert len(names) == len(set(names)) == 40, len(names)
    if REPO.exists():
        shutil.rmtree(REPO)
    files: dict[str, str] = {}
    attrs_by_name = {n["name"]: node_attrs(n) for n in NODES}

    outputs_lut: dict[str, set] = {}
    for name, attrs in attrs_by_name.items():
        for out in attrs["outputs_names"]["elements"]:
            outputs_lut.setdefault(out, set()).add(name)
    links = set()
    for name, attrs in sorted(attrs_by_name.items()):
        for sect in ("build", "host", "run"):
            for dep in attrs["requirements"][sect]["elements"]:
                for src in outputs_lut.get(dep, ()):
                    if src != name:
                        links.add((src, name))
    graph = {
        "directed": True,
        "multigraph": False,
        "graph": {"outputs_lut": {k: as_set(v) for k, v in sorted(outputs_lut.items())}},
        "nodes": [{"id": n, "payload": {"__lazy_json__": f"node_attrs/{n}.json"}}
                  for n in sorted(names)],
        "links": [{"source": s, "target": t} for s, t in sorted(links)],
    }
    files["graph.json"] = dumps(graph)
    for n in NODES:
        name = n["name"]
        files[sharded("node_attrs", name)] = dumps(attrs_by_name[name])
        if n.get("versions") is not None:
            files[sharded("versions", name)] = dumps(versions_doc(n["versions"]))
        if n.get("vpri"):
            v = n["vpri"]
            files[sharded("version_pr_info", name)] = dumps(
                {"new_version": v, "new_version_attempts": {v: 1}, "new_version_errors": {}})
        if n.get("pr_info"):
            files[sharded("pr_info", name)] = dumps(
                {"PRed": [], "bad": False, "pinning_version": {}, "smithy_version": {}})
    for rel, text in sorted(files.items()):
        path = REPO / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    WORLD.write_text(dumps(build_world()), encoding="utf-8")

    expected = {}
    for n in NODES:
        source, version, why = n["exp"]
        entry = {"source": source, "expected": version, "why": why}
        if n.get("archived") or n.get("parsing_error") or \
                n["cfyml"].get("bot", {}).get("version_updates", {}).get("skip"):
            entry["skipped"] = True
        expected[n["name"]] = entry
    EXPECTED.parent.mkdir(parents=True, exist_ok=True)
    EXPECTED.write_text(dumps(expected), encoding="utf-8")
    verify()
    print(f"wrote {len(files)} files under {REPO.relative_to(ROOT)}, "
          f"{WORLD.relative_to(ROOT)}, {EXPECTED.relative_to(ROOT)}; self-check passed")


def verify() -> None:
    """Every sharded path follows the sha1 rule, every file parses, every node has attrs."""
    graph = json.loads((REPO / "graph.json").read_text())
    ids = [n["id"] for n in graph["nodes"]]
    assert ids == sorted(ids), "nodes not sorted"
    for path in sorted(REPO.rglob("*.json")):
        rel = path.relative_to(REPO).as_posix()
        text = path.read_text(encoding="utf-8")
        obj = json.loads(text)
        assert text == dumps(obj), f"not canonical JSON: {rel}"
        if rel == "graph.json":
            continue
        folder, name = rel.split("/", 1)[0], path.name[: -len(".json")]
        assert folder in ("node_attrs", "versions", "version_pr_info", "pr_info"), rel
        assert rel == sharded(folder, name), f"bad shard: {rel}"
        assert name in ids, f"document of an unknown node: {rel}"
    for node in graph["nodes"]:
        name = node["id"]
        assert node["payload"] == {"__lazy_json__": f"node_attrs/{name}.json"}
        attrs = json.loads((REPO / sharded("node_attrs", name)).read_text())
        assert attrs["feedstock_name"] == name
        for key in ("pr_info", "version_pr_info"):
            if key in attrs:
                ref = attrs[key]["__lazy_json__"]
                assert (REPO / sharded(key, name)).is_file(), ref
    for link in graph["links"]:
        assert link["source"] in ids and link["target"] in ids, link
    expected = json.loads(EXPECTED.read_text())
    assert sorted(expected) == ids
    json.loads(WORLD.read_text())


if __name__ == "__main__":
    main()
