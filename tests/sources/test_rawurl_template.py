"""Raw-URL candidates rendered from the recipe's own source URL template.

The recipes are the real ones of the conda-forge graph sample (``tests/fixtures/recipes.json``:
``raw_meta_yaml``, version, url and version controls of every node that has a recipe).
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.helpers import FIXTURES, checker_for, make_cf_tree
from vbot.commands.sweep import SweepOptions, sweep
from vbot.repo.nodeinfo import node_info
from vbot.repo.paths import sharded_relpath
from vbot.repo.recipe import JINJA, V1, extract, source_urls
from vbot.sources.rawurl import Probe, bump
from vbot.sources.templates import UrlRenderer, renderer_for
from vbot.testing.gitfixtures import create_remote

RECIPES: dict[str, dict[str, Any]] = json.loads((FIXTURES / "recipes.json").read_text("utf-8"))


def urls_of(doc: dict[str, Any]) -> list[str]:
    url = doc.get("url")
    return [url] if isinstance(url, str) else [u for u in url or [] if isinstance(u, str)]


def renderer(name: str) -> UrlRenderer | None:
    doc = RECIPES[name]
    template = extract(doc["raw_meta_yaml"], doc["schema_version"])
    for url in urls_of(doc):
        found = renderer_for(template, url, doc["version"])
        if found is not None:
            return found
    return None


def node_doc(name: str, **extra: Any) -> dict[str, Any]:
    """A node document of the sample recipe (what node_info reads of it)."""
    doc = RECIPES[name]
    meta = {"package": {"name": name, "version": doc["version"]},
            "source": {"url": doc["url"], "sha256": "0" * 64},
            "schema_version": doc["schema_version"]}
    attrs = {"name": name, "feedstock_name": name, "version": doc["version"], "url": doc["url"],
             "archived": False, "parsing_error": False, "meta_yaml": meta,
             "raw_meta_yaml": doc["raw_meta_yaml"]}
    if "conda-forge.yml" in doc:
        attrs["conda-forge.yml"] = doc["conda-forge.yml"]
    return {**attrs, **extra}


# -- rendering the real recipes ---------------------------------------------------------------
RENDER = [  # node, candidate version, URL the recipe's template gives (None: cannot render)
    ("at-spi2-core", "2.60.0",
     "https://download.gnome.org/sources/at-spi2-core/2.60/at-spi2-core-2.60.0.tar.xz"),
    ("lrslib", "71.c", "http://cgm.cs.mcgill.ca/~avis/C/lrslib/archive/lrslib-071c.tar.gz"),
    ("lrslib", "72", "http://cgm.cs.mcgill.ca/~avis/C/lrslib/archive/lrslib-072.tar.gz"),
    ("gst-python", "1.28.0",
     "https://gstreamer.freedesktop.org/src/gst-python/gst-python-1.28.0.tar.xz"),
    ("inetutils", "2.6", "https://ftp.gnu.org/gnu/inetutils/inetutils-2.6.tar.gz"),
    ("lttng-ust", "2.13.9", "http://lttng.org/files/lttng-ust/lttng-ust-2.13.9.tar.bz2"),
    ("libnvpl-blas", "0.4.0", "https://developer.download.nvidia.com/compute/nvpl/redist/"
     "nvpl_blas/linux-sbsa/nvpl_blas-linux-sbsa-0.4.0-archive.tar.xz"),
    ("ansicon", "1.90.0", "https://pypi.example/packages/source/a/ansicon/ansicon-1.90.0.tar.gz"),
    ("gsettings-desktop-schemas", "44.0", "https://gitlab.gnome.org/GNOME/"
     "gsettings-desktop-schemas/-/archive/44.0/gsettings-desktop-schemas-44.0.tar.bz2"),
    # v1 recipes: context block + ${{ }}
    ("stackvana-core", "0.2025.41", "https://eups.lsst.codes/stack/src/tags/w_2025_41.list"),
    ("stackvana-core", "0.2026.3", "https://eups.lsst.codes/stack/src/tags/w_2026_03.list"),
    ("stackvana-core", "18.1.0", "https://eups.lsst.codes/stack/src/tags/v18_1_0.list"),
    ("stackvana-core", "0.2026", None),  # (version | split("."))[2] is undefined
    ("django-flags", "5.1.0",
     "https://pypi.example/packages/source/d/django-flags/django_flags-5.1.0.tar.gz"),
    ("legacycrypt", "0.4",  # `version: 0.3` unquoted in the context (a YAML float)
     "https://pypi.example/packages/source/l/legacycrypt/legacycrypt-0.4.tar.gz"),
    ("bevy_brp_mcp", "0.20.0",
     "https://github.com/natepiano/bevy_brp/archive/refs/tags/v0.20.0.tar.gz"),
    ("dart-sass", "1.98.0",  # if/then/else sources: the node's URL is the `else` one
     "https://github.com/sass/dart-sass/archive/refs/tags/1.98.0.tar.gz"),
    ("wsrun", "5.2.1", "https://registry.npm.example/wsrun/-/wsrun-5.2.1.tgz"),
    ("lockfile-lint", "4.15.0",
     "https://registry.npm.example/lockfile-lint/-/lockfile-lint-4.15.0.tgz"),
]


@pytest.mark.parametrize(("name", "candidate", "expected"), RENDER,
                         ids=[f"{r[0]}-{r[1]}" for r in RENDER])
def test_real_recipe_renders_the_candidate_url(name: str, candidate: str,
                                               expected: str | None) -> None:
    found = renderer(name)
    assert found is not None
    assert found.render(RECIPES[name]["version"]) in urls_of(RECIPES[name])
    assert found.render(candidate) == expected


# recipes whose template does not give the node's URL: substitution (or another source) it is
NOT_RENDERED = {
    # no templated source URL at all
    "festvox-kallpc16k": "the URL has no {{ }} (folder 2.5, no version in the file name)",
    "pmd": "a git source, no url",
    "ros-catkin": "the URL is written out", "ros-diagnostic-msgs": "the URL is written out",
    "ros-message-runtime": "the URL is written out",
    # conda-build's {{ cran_mirror }} is not defined in the sandbox (the CRAN source has them)
    **{n: "{{ cran_mirror }}" for n in (
        "r-coda", "r-elasticnet", "r-fma", "r-gbutils", "r-ggfocus", "r-googledrive", "r-hillr",
        "r-hwriter", "r-ineq", "r-lifecycle", "r-oai", "r-pkgconfig", "r-prediction",
        "r-table1", "r-teachingdemos")},
}


def test_every_real_recipe_reproduces_its_url_or_is_known_not_to() -> None:
    """Rendered at the recipe's own version, the template gives the node's URL: the template
    was read right (set statements, context, url lists, quoting, selectors)."""
    rendered, not_rendered = [], []
    for name in sorted(RECIPES):
        (rendered if renderer(name) is not None else not_rendered).append(name)
    assert sorted(not_rendered) == sorted(NOT_RENDERED)
    assert len(rendered) == len(RECIPES) - len(NOT_RENDERED) == 88
    v1 = [n for n in rendered if RECIPES[n]["schema_version"] == 1]
    assert len(v1) == 12  # every v1 recipe with a url (pmd is a git source)


def test_kinds_and_url_lists() -> None:
    at_spi = extract(RECIPES["at-spi2-core"]["raw_meta_yaml"])
    assert at_spi is not None and at_spi.kind == JINJA
    assert dict(at_spi.defs)["version_majmin"] == "'.'.join(version.split('.', 2)[:2])"
    stack = extract(RECIPES["stackvana-core"]["raw_meta_yaml"], 1)
    assert stack is not None and stack.kind == V1 and "dm_tag" in dict(stack.definitions())
    wsrun = extract(RECIPES["wsrun"]["raw_meta_yaml"])  # no `schema_version: 1` line
    assert wsrun is not None and wsrun.kind == V1
    assert source_urls(RECIPES["r-coda"]["raw_meta_yaml"]) == (
        "{{ cran_mirror }}/src/contrib/coda_{{ version }}.tar.gz",
        "{{ cran_mirror }}/src/contrib/Archive/coda/coda_{{ version }}.tar.gz")
    assert extract(RECIPES["festvox-kallpc16k"]["raw_meta_yaml"]) is None
    assert extract(None) is None and extract("package: {name: x}") is None


SELECTED = """{% set version = "1.2.0" %}
source:
  - url: https://a.example/lin/x-{{ version }}.tar.gz  # [linux]
    sha256: 00
  - url: "https://a.example/win/x-{{ version }}.zip"   # [win]
  - url:
      - https://m1.example/x-{{ version }}.tgz
      - 'https://m2.example/x-{{ version }}.tgz'  # mirror
build:
  url: https://not.a.source.example/{{ version }}
"""


def test_url_lines_selectors_quotes_and_mirror_lists() -> None:
    assert source_urls(SELECTED) == (
        "https://a.example/lin/x-{{ version }}.tar.gz", "https://a.example/win/x-{{ version }}.zip",
        "https://m1.example/x-{{ version }}.tgz", "https://m2.example/x-{{ version }}.tgz")
    template = extract(SELECTED)
    found = renderer_for(template, "https://m2.example/x-1.2.0.tgz", "1.2.0")
    assert found is not None and found.render("1.3.0") == "https://m2.example/x-1.3.0.tgz"
    assert renderer_for(template, "https://m2.example/x-1.2.0.tgz", "1.1.0") is None


# -- the sandbox ------------------------------------------------------------------------------
HOSTILE = [  # set statement / URL expression that must not render
    ("dunder-class", "version.__class__.__mro__[1].__subclasses__()"),
    ("dunder-globals", "version.split.__globals__"),
    ("huge-range", "range(10**9) | length"),
    ("huge-power", "10 ** 10 ** 10"),
    ("huge-repeat", "'x' * 10**9"),
    ("huge-format", "'%0999999999d' % 1"),
    ("huge-pad", "version.ljust(10**8)"),
    ("huge-replace", "(version * 1000) | replace('.', version * 1000)"),
    ("environ", "environ['HOME']"),
    ("os", "os.system('touch /tmp/vbot-pwned')"),
    ("lipsum", "lipsum(10**6)"),
    ("mutation", "[].append(1)"),
    ("undefined", "not_a_name.split('.')"),
]


@pytest.mark.parametrize("expr", [h[1] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_template_fails_the_rendering_not_the_caller(expr: str) -> None:
    raw = ('{% set version = "1.0" %}\n{% set evil = ' + expr + ' %}\n'
           "source:\n  url: https://evil.example/x/x-{{ version }}-{{ evil }}.tar.gz\n")
    template = extract(raw)
    assert template is not None
    found = UrlRenderer(template, template.urls[0])
    assert found.render("1.1") is None
    assert renderer_for(template, "https://evil.example/x/x-1.0-.tar.gz", "1.0") is None
    direct = extract("source:\n  url: https://evil.example/x/x-{{ version }}-{{ " + expr
                     + " }}.tar.gz\n")
    assert direct is not None and UrlRenderer(direct, direct.urls[0]).render("1.1") is None


def test_the_same_harness_renders_a_benign_expression() -> None:
    """Control for the hostile table: only the hostile part makes it fail."""
    raw = ('{% set version = "1.0" %}\n{% set evil = version.split(".")[0] * 2 %}\n'
           "source:\n  url: https://evil.example/x/x-{{ version }}-{{ evil }}.tar.gz\n")
    template = extract(raw)
    found = renderer_for(template, "https://evil.example/x/x-1.0-2.tar.gz", "1.0")
    assert found is None  # "1" * 2 is "11", not 2
    found = renderer_for(template, "https://evil.example/x/x-1.0-11.tar.gz", "1.0")
    assert found is not None and found.render("3.1") == "https://evil.example/x/x-3.1-33.tar.gz"


@pytest.mark.parametrize("url", [
    "https://evil.example/{% for i in range(999) %}{{ i }}{% endfor %}/x-{{ version }}.tgz",
    "https://evil.example/{% include '/etc/passwd' %}/x-{{ version }}.tgz",
    'https://evil.example/{{ version }}{{ "\\n" }}https://other.example/x',
    "file:///etc/{{ version }}",
])
def test_statements_and_non_http_results_are_not_rendered(url: str) -> None:
    template = extract('{% set version = "1.0" %}\nsource:\n  url: ' + url + "\n")
    assert template is not None
    assert UrlRenderer(template, template.urls[0]).render("1.1") is None


def test_v1_context_value_cannot_smuggle_statements() -> None:
    raw = ('context:\n  version: "1.0"\n'
           '  tag: "x${% endset %}${% for i in range(9) %}${{ i }}${% endfor %}"\n'
           "source:\n  url: https://ex.example/${{ tag }}-${{ version }}.tar.gz\n")
    template = extract(raw, 1)
    assert template is not None and template.kind == V1
    assert UrlRenderer(template, template.urls[0]).render("1.1") is None
    benign = extract(raw.replace(
        "x${% endset %}${% for i in range(9) %}${{ i }}${% endfor %}", "v${{ version }}"), 1)
    assert UrlRenderer(benign, benign.urls[0]).render("1.1") == \
        "https://ex.example/v1.1-1.1.tar.gz"


def test_a_failed_candidate_falls_back_to_substitution() -> None:
    """The template renders the node's URL but not this candidate: the version string is
    substituted instead (when the URL spells the version)."""
    raw = ('{% set version = "1.0" %}\n{% set minor = version.split(".")[1] %}\n'
           "source:\n  url: https://ex.example/x-{{ version }}-m{{ minor }}.tar.gz\n")
    template = extract(raw)
    url = "https://ex.example/x-1.0-m0.tar.gz"
    probe = Probe(url, "1.0", renderer_for(template, url, "1.0"))
    assert probe.template is not None
    assert probe.url_for("1.1") == "https://ex.example/x-1.1-m1.tar.gz"
    assert probe.url_for("2") == "https://ex.example/x-2-m0.tar.gz"  # [1] undefined: substituted


def test_a_rendered_url_on_another_host_is_not_probed() -> None:
    raw = ('{% set version = "1.0" %}\nsource:\n  url: https://{{ "a" if version == "1.0" '
           'else "b" }}.example/x-{{ version }}.tar.gz\n')
    url = "https://a.example/x-1.0.tar.gz"
    probe = Probe(url, "1.0", renderer_for(extract(raw), url, "1.0"))
    assert probe.template is not None and probe.url_for("1.1") is None


# -- candidates -------------------------------------------------------------------------------
def test_letter_bumps_and_controls_stepped_over() -> None:
    assert list(bump("71.b")) == ["71.c", "72"]
    assert list(bump("1.1.1w")) == ["1.1.1x", "1.1.2", "1.2.0", "1.2", "2.0.0", "2.0"]
    assert list(bump("2024z")) == ["2025"]
    even = lambda v: int(v.split(".")[1]) % 2 == 0  # noqa: E731
    assert list(bump("2.58.3", even)) == ["2.58.4", "2.60.0", "2.60", "3.0.0", "3.0"]
    assert list(bump("1.0", lambda v: v not in ("1.1", "2.0"))) == ["1.2", "3.0"]


# -- against the fake upstream ----------------------------------------------------------------
GNOME = "https://download.gnome.org/sources/at-spi2-core"
LRS = "http://cgm.cs.mcgill.ca/~avis/C/lrslib/archive"
GST = "https://gstreamer.freedesktop.org/src/gst-libav"
EUPS = "https://eups.lsst.codes/stack/src/tags"
FILES = [
    f"{GNOME}/2.59/at-spi2-core-2.59.1.tar.xz",  # odd minor: a development release
    f"{GNOME}/2.60/at-spi2-core-2.60.0.tar.xz",
    f"{GNOME}/2.60/at-spi2-core-2.60.1.tar.xz",
    f"{LRS}/lrslib-071b.tar.gz", f"{LRS}/lrslib-071c.tar.gz",
    f"{GST}/gst-libav-1.24.12.tar.xz", f"{GST}/gst-libav-1.24.13.tar.xz",
    f"{EUPS}/w_2025_41.list", f"{EUPS}/w_2025_42.list",
    "https://evil.example/x/x-1.1.tar.gz",
]
EXCLUDE = {"conda-forge.yml": {"bot": {"version_updates": {"exclude": ["1.24.12"]}}}}
HOSTILE_RECIPE = ('{% set version = "1.0" %}\n{% set evil = version.__class__.__mro__ %}\n'
                  "source:\n  url: https://evil.example/x/x-{{ version }}{{ evil }}.tar.gz\n")
SWEPT = {  # node, expected new_version
    "at-spi2-core": "2.60.1",  # even_odd_versions: 2.59.x never asked
    "lrslib": "71.c",
    "gst-libav": "1.24.13",  # exclude 1.24.12: never asked
    "stackvana-core": "0.2025.42",  # w_2025_40 -> w_2025_41 -> w_2025_42: only a template can
    "evil": "1.1",  # the template cannot render: the version is substituted
}


@pytest.fixture(scope="module")
def swept(upstream, tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("rawtmpl")
    hostile = {**node_doc("lrslib"), "name": "evil", "feedstock_name": "evil", "version": "1.0",
               "url": "https://evil.example/x/x-1.0.tar.gz", "raw_meta_yaml": HOSTILE_RECIPE}
    hostile["meta_yaml"] = {**hostile["meta_yaml"], "source": {"url": hostile["url"]}}
    nodes = {"at-spi2-core": node_doc("at-spi2-core"), "lrslib": node_doc("lrslib"),
             "gst-libav": node_doc("gst-libav", **EXCLUDE),
             "stackvana-core": node_doc("stackvana-core"), "evil": hostile}
    remote = create_remote(make_cf_tree(tmp / "tree", nodes), tmp / "remote.git")
    upstream.set_world({"files": FILES})
    before = dict(upstream.requests)
    report = sweep(SweepOptions(remote=remote, workdir=tmp / "work", progress=False,
                                env=upstream.env()))
    asked = {p: n - before.get(p, 0) for p, n in upstream.requests.items()
             if n - before.get(p, 0) > 0}
    return report, tmp / "work", asked


@pytest.mark.parametrize(("name", "expected"), sorted(SWEPT.items()))
def test_sweep_finds_the_version_the_template_names(swept, name: str, expected: str) -> None:
    report, work, _ = swept
    outcome = report.outcomes[name]
    assert (outcome.status, outcome.source, outcome.version) == ("found", "rawurl", expected)
    committed = subprocess.run(["git", "show", f"HEAD:{sharded_relpath('versions', name)}"],
                               cwd=work, capture_output=True, check=True).stdout
    assert json.loads(committed) == {"new_version": expected}


def test_sweep_never_asks_for_odd_or_excluded_versions(swept) -> None:
    _, _, asked = swept
    assert asked.get("/files/download.gnome.org/sources/at-spi2-core/2.60/"
                     "at-spi2-core-2.60.0.tar.xz") == 1
    assert not [p for p in asked if "/2.59" in p or "-2.59." in p]
    assert not [p for p in asked if "gst-libav-1.24.12" in p]
    assert asked.get("/files/gstreamer.freedesktop.org/src/gst-libav/gst-libav-1.24.13.tar.xz") \
        == 1
    # lrslib's next files are asked in the recipe's spelling, never as lrslib-71.c
    assert "/files/cgm.cs.mcgill.ca/~avis/C/lrslib/archive/lrslib-071c.tar.gz" in asked
    assert not [p for p in asked if "lrslib-71" in p]


def test_probing_stops_at_the_hop_limit(upstream) -> None:
    files = [f"{GNOME}/{m}/at-spi2-core-{m}.0.tar.xz" for m in ("2.60", "2.62", "2.64", "2.66")]
    checker = checker_for(upstream, {"files": files}, options={"rawurl": {"hops": 2}})
    out = checker.check(node_info("at-spi2-core", node_doc("at-spi2-core")))
    assert (out.status, out.version) == ("found", "2.62.0")


def test_a_template_without_the_version_is_not_probed(upstream) -> None:
    """festvox's URL names no version (folder 2.5 of 2.5.1): nothing to probe, no source."""
    before = upstream.total_requests
    checker = checker_for(upstream, {"files": []})
    out = checker.check(node_info("festvox-kallpc16k", node_doc("festvox-kallpc16k")))
    assert out.status == "nosource" and upstream.total_requests == before


def test_fixture_is_the_real_sample() -> None:
    """Guard: the fixture keeps the fields the tests rely on for every recipe."""
    assert len(RECIPES) == 108
    for doc in RECIPES.values():
        assert isinstance(doc["raw_meta_yaml"], str) and doc["commit"]
    assert RECIPES["at-spi2-core"]["conda-forge.yml"]["bot"]["version_updates"] == \
        {"even_odd_versions": True}
