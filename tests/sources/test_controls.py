"""Per-node controls from ``conda-forge.yml`` ``bot.version_updates``, and the CLI report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import check, controls, make_cf_tree, node_attrs
from vbot.main import main
from vbot.repo.nodeinfo import node_info, skip_reason

PYPI_URL = "https://pypi.example/packages/source/b/black/black-24.1.0.tar.gz"
GH_URL = "https://github.com/psf/black/archive/refs/tags/24.1.0.tar.gz"
WORLD = {"pypi": {"black": {"versions": ["24.1.0", "25.1.0"]}},
         "github": {"psf/black": {"tags": ["25.9.0", "25.1.0", "24.1.0"]}}}

ORDER_CASES = [  # id, controls, expected source, version
    ("default-order-pypi-first", {}, "pypi", "25.1.0"),
    ("sources-github", {"sources": ["github"]}, "github", "25.9.0"),
    ("alias-githubreleases", {"sources": ["githubreleases", "pypi"]}, "github", "25.9.0"),
    ("unknown-names-ignored", {"sources": ["librariesio", "pypi"]}, "pypi", "25.1.0"),
    ("order-is-the-list", {"sources": ["pypi", "github"]}, "pypi", "25.1.0"),
]


@pytest.mark.parametrize(("vu", "source", "version"), [c[1:] for c in ORDER_CASES],
                         ids=[c[0] for c in ORDER_CASES])
def test_sources_control(upstream, vu: dict, source: str, version: str) -> None:
    out = check(upstream, WORLD, "black", [PYPI_URL, GH_URL], "24.1.0", **controls(**vu))
    assert (out.status, out.source, out.version) == ("found", source, version)


def test_first_source_without_answer_falls_through(upstream) -> None:
    # pypi answers, but with nothing usable (a pre-release only): github is asked next
    world = {"pypi": {"black": {"versions": ["25.0b1"]}}, "github": WORLD["github"]}
    out = check(upstream, world, "black", [PYPI_URL, GH_URL], "24.1.0")
    assert (out.source, out.version) == ("github", "25.9.0")


def test_empty_sources_list_means_no_source(upstream) -> None:
    out = check(upstream, WORLD, "black", [PYPI_URL, GH_URL], "24.1.0", **controls(sources=[]))
    assert out.status == "nosource"


EXCLUDE_CASES = [  # id, upstream versions, exclude, expected
    ("exact", ["1.0", "1.1", "1.2"], ["1.2"], "1.1"),
    ("dash-vs-dot", ["1.0", "1.1.0", "1.2.0"], ["1-2-0"], "1.1.0"),
    ("underscore-vs-dot", ["1.0", "1.1.0", "1.2.0"], ["1_2_0"], "1.1.0"),
    ("several", ["1.0", "1.1", "1.2", "1.3"], ["1.3", "1.2"], "1.1"),
]


@pytest.mark.parametrize(("vers", "exclude", "expected"), [c[1:] for c in EXCLUDE_CASES],
                         ids=[c[0] for c in EXCLUDE_CASES])
def test_exclude_control(upstream, vers: list[str], exclude: list[str], expected: str) -> None:
    url = "https://pypi.example/packages/source/f/foo/foo-1.0.tar.gz"
    out = check(upstream, {"pypi": {"foo": {"versions": vers}}}, "foo", url, "1.0",
                **controls(exclude=exclude))
    assert out.version == expected


def test_even_odd_and_globs_parse() -> None:
    info = node_info("x", node_attrs("x", GH_URL, "1.0", **controls(
        even_odd_versions=True, allowed_tag_globs=["v*"], exclude=["2.0"], sources=["github"])))
    assert info.controls.even_odd_versions and info.controls.allowed_tag_globs == ("v*",)
    assert info.controls.exclude == ("2.0",) and info.controls.sources == ("github",)


def test_skip_control() -> None:
    assert skip_reason(node_attrs("x", GH_URL, "1.0", **controls(skip=True))) == \
        "version_updates.skip"
    assert skip_reason(node_attrs("x", GH_URL, "1.0", **controls(skip=False))) is None


def test_cli_sweep_report_counts_by_source(tmp_path: Path, make_remote, fake_env, capsys
                                           ) -> None:
    fake_env.set_world({**WORLD, "npm": {"left-pad": {"versions": ["1.3.0"],
                                                      "latest": "1.3.0"}}})
    nodes = {
        "black": node_attrs("black", PYPI_URL, "24.1.0"),
        "left-pad": node_attrs("left-pad", "https://registry.npm.example/left-pad/-/"
                               "left-pad-1.0.0.tgz", "1.0.0"),
        "perl-x": node_attrs("perl-x", "https://cpan.metacpan.org/authors/X-1.0.tar.gz", "1.0"),
        "skipme": node_attrs("skipme", PYPI_URL, "24.1.0", **controls(skip=True)),
    }
    remote = make_remote(make_cf_tree(tmp_path / "tree", nodes))
    report_file = tmp_path / "report.json"
    code = main(["sweep", remote.url, "--workdir", str(tmp_path / "w"), "--quiet",
                 "--report", str(report_file)])
    assert code == 0
    report = json.loads(report_file.read_text())
    assert report["by_source"] == {"(none)": {"nosource": 1}, "npm": {"found": 1},
                                   "pypi": {"found": 1}}
    assert report["counts"]["no_source"] == 1 and report["counts"]["skipped"] == 1
    out = capsys.readouterr().out
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:] if line.strip()
             and not line.strip().startswith("!")}
    assert "source" in lines and "npm" in lines and "pypi" in lines and "(none)" in lines
