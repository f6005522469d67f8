"""MetaCPAN: CPAN author-path download URLs, the latest release document (real shape)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.helpers import check, controls
from vbot.sources.metacpan import dist_from_url

CPAN = "https://cpan.metacpan.org/authors/id"

MATCH_CASES = [  # id, url, recipe version, distribution (None: not a CPAN download)
    ("plain", f"{CPAN}/R/RJ/RJBS/Test-Fatal-0.016.tar.gz", "0.016", "Test-Fatal"),
    ("two-dashes", f"{CPAN}/J/JD/JDHEDDEN/Object-InsideOut-4.05.tar.gz", "4.05",
     "Object-InsideOut"),
    ("one-word", f"{CPAN}/O/OA/OALDERS/URI-5.17.tar.gz", "5.17", "URI"),
    ("lower-case-dist", f"{CPAN}/O/OA/OALDERS/libwww-perl-6.72.tar.gz", "6.72", "libwww-perl"),
    ("v-version", f"{CPAN}/L/LE/LEONT/Module-Build-Tiny-v0.48.tar.gz", "0.48",
     "Module-Build-Tiny"),
    ("version-not-in-name", f"{CPAN}/E/ET/ETHER/Try-Tiny-0.32.tar.gz", "0.31", "Try-Tiny"),
    ("www-cpan", "https://www.cpan.org/authors/id/I/IS/ISHIGAKI/JSON-4.10.tar.gz", "4.10",
     "JSON"),
    ("mirror-prefix", "https://mirror.example/pub/CPAN/authors/id/E/ET/ETHER/Try-Tiny-0.32.tgz",
     "0.32", "Try-Tiny"),
    ("author-subfolder", f"{CPAN}/R/RJ/RJBS/old/Sub-Exporter-0.991.tar.gz", "0.991",
     "Sub-Exporter"),
    ("zip", f"{CPAN}/R/RJ/RJBS/Test-Fatal-0.016.zip", "0.016", "Test-Fatal"),
    ("inconsistent-author-dirs", f"{CPAN}/I/IS/X/JSON-4.10.tar.gz", "4.10", None),
    ("no-author-dirs", "https://cpan.metacpan.org/authors/X-1.0.tar.gz", "1.0", None),
    ("no-version", f"{CPAN}/R/RJ/RJBS/Test-Fatal.tar.gz", "0.016", None),
    ("module-page", "https://metacpan.org/pod/Test::Fatal", "0.016", None),
    ("gem", "https://rubygems.org/downloads/liquid-4.0.3.gem", "4.0.3", None),
]


@pytest.mark.parametrize(("url", "version", "dist"), [c[1:] for c in MATCH_CASES],
                         ids=[c[0] for c in MATCH_CASES])
def test_dist_from_url(url: str, version: str, dist: str | None) -> None:
    assert dist_from_url(url, version) == dist


FOUND_CASES = [  # id, url(s), current, world["metacpan"], vu controls, status, version
    ("released", f"{CPAN}/R/RJ/RJBS/Test-Fatal-0.016.tar.gz", "0.016",
     {"Test-Fatal": {"version": "0.017", "maturity": "released", "author": "RJBS"}}, {},
     "found", "0.017"),
    ("developer-release", f"{CPAN}/R/RJ/RJBS/Test-Fatal-0.016.tar.gz", "0.016",
     {"Test-Fatal": {"version": "0.018_01", "maturity": "developer"}}, {}, "none", None),
    ("v-prefix-dropped", f"{CPAN}/L/LE/LEONT/Module-Build-Tiny-v0.47.tar.gz", "0.47",
     {"Module-Build-Tiny": {"version": "v0.48", "maturity": "released"}}, {}, "found", "0.48"),
    ("url-list", ["https://mirror.example/perl/URI-5.17.tar.gz",
                  f"{CPAN}/O/OA/OALDERS/URI-5.17.tar.gz"], "5.17",
     {"URI": {"version": "5.28", "maturity": "released"}}, {}, "found", "5.28"),
    ("exclude", f"{CPAN}/E/ET/ETHER/Try-Tiny-0.31.tar.gz", "0.31",
     {"Try-Tiny": {"version": "0.32", "maturity": "released"}}, {"exclude": ["0.32"]},
     "none", None),
    ("even-odd", f"{CPAN}/O/OA/OALDERS/URI-5.17.tar.gz", "5.17",
     {"URI": {"version": "5.29", "maturity": "released"}}, {"even_odd_versions": True},
     "none", None),
]


@pytest.mark.parametrize(("url", "current", "table", "vu", "status", "version"),
                         [c[1:] for c in FOUND_CASES], ids=[c[0] for c in FOUND_CASES])
def test_metacpan(upstream, url: str | list[str], current: str, table: dict, vu: dict,
                  status: str, version: str | None) -> None:
    out = check(upstream, {"metacpan": table}, "perl-x", url, current,
                **(controls(**vu) if vu else {}))
    assert (out.status, out.source, out.version) == (status, "metacpan", version)


def test_one_request_for_the_release_document(upstream) -> None:
    total = upstream.total_requests
    before = upstream.requests["/metacpan/v1/release/Object-InsideOut"]
    out = check(upstream, {"metacpan": {"Object-InsideOut": {"version": "4.05"}}},
                "perl-object-insideout", f"{CPAN}/J/JD/JDHEDDEN/Object-InsideOut-4.05.tar.gz",
                "4.05")
    assert (out.status, out.version) == ("found", "4.05")
    assert upstream.requests["/metacpan/v1/release/Object-InsideOut"] - before == 1
    assert upstream.total_requests - total == 1


def test_unknown_distribution_is_bad_with_the_upstream_answer(upstream) -> None:
    out = check(upstream, {"metacpan": {}}, "perl-nope", f"{CPAN}/A/AB/ABC/Nope-1.0.tar.gz",
                "1.0")
    assert (out.status, out.source) == ("bad", "metacpan")
    assert "HTTP 404" in out.reason and "/v1/release/Nope" in out.reason


def test_a_mirror_url_is_not_probed_as_a_raw_url(upstream) -> None:
    url = "https://mirror.example/CPAN/authors/id/A/AB/ABC/Nope-1.0.tar.gz"
    before = upstream.total_requests
    out = check(upstream, {"metacpan": {}, "file_hosts": ["mirror.example"]}, "perl-nope", url,
                "1.0")
    assert (out.status, out.source) == ("bad", "metacpan")
    assert upstream.total_requests - before == 1  # MetaCPAN only, no HEAD of Nope-1.1


def test_wrong_shape_is_bad(upstream) -> None:
    world = {"metacpan": {"URI": {"version": "5.28"}},
             "faults": [{"path": "/metacpan/v1/release/*", "kind": "shape"}]}
    out = check(upstream, world, "perl-uri", f"{CPAN}/O/OA/OALDERS/URI-5.17.tar.gz", "5.17")
    assert (out.status, out.source) == ("bad", "metacpan")
    assert "not a release document" in out.reason


def test_fake_answer_has_the_real_fields(upstream) -> None:
    upstream.set_world({"metacpan": {"Test-Fatal": {"version": "0.017", "author": "RJBS"}}})
    with urllib.request.urlopen(f"{upstream.base_url}/metacpan/v1/release/Test-Fatal") as r:
        doc = json.load(r)
    assert {k: doc[k] for k in ("name", "distribution", "version", "version_numified",
                                "maturity", "status", "author", "archive")} == {
        "name": "Test-Fatal-0.017", "distribution": "Test-Fatal", "version": "0.017",
        "version_numified": 0.017, "maturity": "released", "status": "latest",
        "author": "RJBS", "archive": "Test-Fatal-0.017.tar.gz"}
    assert doc["download_url"].endswith("/authors/id/R/RJ/RJBS/Test-Fatal-0.017.tar.gz")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{upstream.base_url}/metacpan/v1/release/Nope")
    assert err.value.code == 404
    assert json.load(err.value) == {"code": 404, "message": "Not found"}
