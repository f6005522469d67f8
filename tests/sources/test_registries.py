"""Registry sources (npm, CRAN, crates): recipe URLs and upstream answers, table-driven."""

from __future__ import annotations

import pytest

from tests.helpers import check, checker_for, controls, node_attrs
from vbot.repo.nodeinfo import node_info
from vbot.sources.crates import index_path

NPM = "https://registry.npm.example"
NPM_CASES = [  # id, url, current, world entry name -> entry, expected
    ("latest", f"{NPM}/is-number/-/is-number-7.0.0.tgz", "7.0.0",
     {"is-number": {"versions": ["6.0.0", "7.0.0", "7.1.0"], "latest": "7.1.0"}}, "7.1.0"),
    ("scoped", f"{NPM}/@types/is-number/-/is-number-7.0.0.tgz", "7.0.0",
     {"@types/is-number": {"versions": ["7.0.0", "7.0.4"], "latest": "7.0.4"}}, "7.0.4"),
    ("latest-is-pre", f"{NPM}/left-pad/-/left-pad-1.0.0.tgz", "1.0.0",
     {"left-pad": {"versions": ["1.0.0", "1.3.0", "2.0.0-beta.1"], "latest": "2.0.0-beta.1"}},
     "1.3.0"),
    ("above-latest-ignored", f"{NPM}/foo/-/foo-1.0.0.tgz", "1.0.0",
     {"foo": {"versions": ["1.0.0", "1.2.0", "3.0.0"], "latest": "1.2.0"}}, "1.2.0"),
]


@pytest.mark.parametrize(("url", "current", "table", "expected"),
                         [c[1:] for c in NPM_CASES], ids=[c[0] for c in NPM_CASES])
def test_npm(upstream, url: str, current: str, table: dict, expected: str) -> None:
    out = check(upstream, {"npm": table}, "pkg", url, current)
    assert (out.status, out.source, out.version) == ("found", "npm", expected)


def test_npm_scoped_name_is_encoded_and_excluded_latest_falls_back(upstream) -> None:
    before = sum(upstream.requests.values())
    world = {"npm": {"@types/node": {"versions": ["20.0.0", "20.1.0", "21.0.0"],
                                     "latest": "21.0.0"}}}
    out = check(upstream, world, "types-node", f"{NPM}/@types/node/-/node-20.0.0.tgz", "20.0.0",
                **controls(exclude=["21.0.0"]))
    assert out.version == "20.1.0"
    # on the wire: @types%2Fnode (percent-escapes are case-insensitive)
    assert {k.lower(): v for k, v in upstream.requests.items()}["/npm/@types%2fnode"] == 1
    assert sum(upstream.requests.values()) - before == 1


CRAN = "https://cran.r-project.org"
CRAN_CASES = [
    ("dash-to-underscore", f"{CRAN}/src/contrib/Lahman_13.0-0.tar.gz", "13.0_0",
     {"Lahman": "14.0-0"}, "14.0_0"),
    ("archive-url", f"{CRAN}/src/contrib/Archive/Lahman/Lahman_13.0-0.tar.gz", "13.0_0",
     {"Lahman": "14.0-0", "other": "1.0"}, "14.0_0"),
    ("dotted-name", f"{CRAN}/src/contrib/data.table_1.14.8.tar.gz", "1.14.8",
     {"data.table": "1.16.0"}, "1.16.0"),
    ("mirror-host", "https://cloud.r-project.org/src/contrib/abc_1.0.tar.gz", "1.0",
     {"abc": "1.1"}, "1.1"),
]


@pytest.mark.parametrize(("url", "current", "table", "expected"),
                         [c[1:] for c in CRAN_CASES], ids=[c[0] for c in CRAN_CASES])
def test_cran(upstream, url: str, current: str, table: dict, expected: str) -> None:
    out = check(upstream, {"cran": table}, "r-pkg", url, current)
    assert (out.status, out.source, out.version) == ("found", "cran", expected)


def test_cran_index_fetched_once_per_sweep_and_missing_package_is_bad(upstream) -> None:
    world = {"cran": {"a": "2.0", "bb": "3.0-1"}}
    checker = checker_for(upstream, world)
    before = upstream.requests["/cran/src/contrib/PACKAGES"]
    got = {}
    for pkg, ver in (("a", "1.0"), ("bb", "3.0_0"), ("gone", "1.0")):
        url = f"{CRAN}/src/contrib/{pkg}_{ver.replace('_', '-')}.tar.gz"
        got[pkg] = checker.check(node_info(f"r-{pkg}", node_attrs(f"r-{pkg}", url, ver)))
    assert got["a"].version == "2.0" and got["bb"].version == "3.0_1"
    assert got["gone"].status == "bad" and "not in CRAN" in got["gone"].reason
    assert upstream.requests["/cran/src/contrib/PACKAGES"] - before == 1


def test_cran_exclude_compares_with_separators_normalised(upstream) -> None:
    out = check(upstream, {"cran": {"x": ["1.0-1", "1.0-2"]}}, "r-x",
                f"{CRAN}/src/contrib/x_1.0-0.tar.gz", "1.0_0", **controls(exclude=["1.0-2"]))
    assert out.version == "1.0_1"


@pytest.mark.parametrize(("name", "path"), [("a", "1/a"), ("ab", "2/ab"), ("abc", "3/a/abc"),
                                            ("Serde", "se/rd/serde"), ("cargo-c", "ca/rg/cargo-c")])
def test_crates_tiers(name: str, path: str) -> None:
    assert index_path(name) == path


CRATES_CASES = [
    ("api-url", "https://crates.io/api/v1/crates/serde/1.0.190/download", "1.0.190",
     {"serde": {"versions": ["1.0.190", "1.0.200", "1.0.201-rc.1", "1.0.202", "1.0.199"],
                "yanked": ["1.0.202"]}}, "1.0.200"),
    ("static-url", "https://static.crates.io/crates/ab/ab-0.1.0.crate", "0.1.0",
     {"ab": {"versions": ["0.1.0", "0.2.0"]}}, "0.2.0"),
    ("three-chars", "https://crates.io/api/v1/crates/syn/2.0.0/download", "2.0.0",
     {"syn": {"versions": ["2.0.0", "2.0.48", "1.0.109"]}}, "2.0.48"),
    ("one-char", "https://crates.io/api/v1/crates/x/1.0.0/download", "1.0.0",
     {"x": {"versions": ["1.0.0", "1.0.1"]}}, "1.0.1"),
]


@pytest.mark.parametrize(("url", "current", "table", "expected"),
                         [c[1:] for c in CRATES_CASES], ids=[c[0] for c in CRATES_CASES])
def test_crates(upstream, url: str, current: str, table: dict, expected: str) -> None:
    out = check(upstream, {"crates": table}, "rust-pkg", url, current)
    assert (out.status, out.source, out.version) == ("found", "crates", expected)


def test_crates_unknown_crate_is_bad(upstream) -> None:
    out = check(upstream, {"crates": {}}, "nope", "https://crates.io/api/v1/crates/nope/1.0/download",
                "1.0")
    assert out.status == "bad" and "404" in out.reason


def test_npm_file_name_may_differ_from_the_package(upstream) -> None:
    world = {"npm": {"foo": {"versions": ["1.0.0", "1.1.0"], "latest": "1.1.0"}}}
    out = check(upstream, world, "foo", f"{NPM}/foo/-/foo-bin-1.0.0.tgz", "1.0.0")
    assert (out.source, out.version) == ("npm", "1.1.0")
