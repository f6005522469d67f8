"""RubyGems: gem download URLs, the versions API list (real shape), table-driven."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.helpers import check, controls
from vbot.sources.rubygems import gem_from_url

RG = "https://rubygems.org"

MATCH_CASES = [  # id, url, recipe version, gem (None: not a RubyGems download)
    ("plain", f"{RG}/downloads/liquid-4.0.3.gem", "4.0.3", "liquid"),
    ("dashes", f"{RG}/downloads/net-ssh-6.1.0.gem", "6.1.0", "net-ssh"),
    ("underscore", f"{RG}/downloads/multi_json-1.15.0.gem", "1.15.0", "multi_json"),
    ("digit-after-dash-in-name", f"{RG}/downloads/ruby-2fa-1.0.gem", "1.0", "ruby-2fa"),
    ("platform-gem", f"{RG}/downloads/nokogiri-1.15.0-x86_64-linux.gem", "1.15.0", "nokogiri"),
    ("gems-path", f"{RG}/gems/ffi-1.11.1.gem", "1.11.1", "ffi"),
    ("version-not-in-name", f"{RG}/downloads/ffi-1.11.1.gem", "9.9", "ffi"),
    ("http-and-subdomain", "http://index.rubygems.org/downloads/rake-13.0.6.gem", "13.0.6",
     "rake"),
    ("other-host", "https://example.org/downloads/liquid-4.0.3.gem", "4.0.3", None),
    ("not-a-gem-file", f"{RG}/downloads/liquid-4.0.3.tar.gz", "4.0.3", None),
    ("no-version", f"{RG}/downloads/liquid.gem", "4.0.3", None),
    ("gem-page", f"{RG}/gems/liquid", "4.0.3", None),
    ("other-scheme", "ftp://rubygems.org/downloads/liquid-4.0.3.gem", "4.0.3", None),
]


@pytest.mark.parametrize(("url", "version", "gem"), [c[1:] for c in MATCH_CASES],
                         ids=[c[0] for c in MATCH_CASES])
def test_gem_from_url(url: str, version: str, gem: str | None) -> None:
    assert gem_from_url(url, version) == gem


def _v(number: str, pre: bool = False, **extra: object) -> dict:
    return {"number": number, "prerelease": pre, **extra}


FOUND_CASES = [  # id, recipe url(s), current, world["rubygems"], vu controls, status, version
    ("newest-first-prerelease-skipped", f"{RG}/downloads/liquid-4.0.3.gem", "4.0.3",
     {"liquid": [_v("5.7.0.rc1", True), _v("5.6.1"), _v("5.6.0"), _v("4.0.3")]}, {},
     "found", "5.6.1"),
    ("prerelease-flag-wins-over-spelling", f"{RG}/downloads/liquid-4.0.3.gem", "4.0.3",
     {"liquid": [_v("5.8.0", True), _v("5.6.1")]}, {}, "found", "5.6.1"),
    ("platform-duplicates", f"{RG}/downloads/ffi-1.11.1.gem", "1.11.1",
     {"ffi": [_v("1.17.0", platform="x86_64-linux"), _v("1.17.0", platform="java"),
              _v("1.17.0"), _v("1.16.3")]}, {}, "found", "1.17.0"),
    ("backport-published-last", f"{RG}/downloads/net-ssh-6.1.0.gem", "6.1.0",
     {"net-ssh": [_v("6.1.1"), _v("7.3.0"), _v("7.2.0")]}, {}, "found", "7.3.0"),
    ("url-list", ["https://mirror.example/gems/multi_json-1.15.0.gem",
                  f"{RG}/downloads/multi_json-1.15.0.gem"], "1.15.0",
     {"multi_json": [_v("1.15.0")]}, {}, "found", "1.15.0"),
    ("only-prereleases", f"{RG}/downloads/liquid-4.0.3.gem", "4.0.3",
     {"liquid": [_v("6.0.0.beta", True)]}, {}, "none", None),
    ("exclude", f"{RG}/downloads/liquid-4.0.3.gem", "4.0.3",
     {"liquid": [_v("5.6.1"), _v("5.6.0")]}, {"exclude": ["5.6.1"]}, "found", "5.6.0"),
    ("even-odd", f"{RG}/downloads/liquid-4.0.3.gem", "4.0.3",
     {"liquid": [_v("5.7.0"), _v("5.6.1")]}, {"even_odd_versions": True}, "found", "5.6.1"),
]


@pytest.mark.parametrize(("url", "current", "table", "vu", "status", "version"),
                         [c[1:] for c in FOUND_CASES], ids=[c[0] for c in FOUND_CASES])
def test_rubygems(upstream, url: str | list[str], current: str, table: dict, vu: dict,
                  status: str, version: str | None) -> None:
    out = check(upstream, {"rubygems": table}, "rb-gem", url, current,
                **(controls(**vu) if vu else {}))
    assert (out.status, out.source, out.version) == (status, "rubygems", version)


def test_one_request_to_the_versions_api(upstream) -> None:
    before = upstream.requests["/rubygems/api/v1/versions/net-ssh.json"]
    total = upstream.total_requests
    out = check(upstream, {"rubygems": {"net-ssh": [_v("7.3.0")]}}, "rb-net-ssh",
                f"{RG}/downloads/net-ssh-6.1.0.gem", "6.1.0")
    assert out.version == "7.3.0"
    assert upstream.requests["/rubygems/api/v1/versions/net-ssh.json"] - before == 1
    assert upstream.total_requests - total == 1


def test_unknown_gem_is_bad_with_the_upstream_answer(upstream) -> None:
    out = check(upstream, {"rubygems": {}}, "rb-nope", f"{RG}/downloads/nope-1.0.gem", "1.0")
    assert (out.status, out.source) == ("bad", "rubygems")
    assert "HTTP 404" in out.reason and "/api/v1/versions/nope.json" in out.reason


def test_wrong_shape_is_bad(upstream) -> None:
    world = {"rubygems": {"liquid": [_v("5.6.1")]},
             "faults": [{"path": "/rubygems/api/v1/versions/*", "kind": "shape"}]}
    # the "shape" fault answers a list of strings: no version objects at all
    out = check(upstream, world, "rb-liquid", f"{RG}/downloads/liquid-4.0.3.gem", "4.0.3")
    assert (out.status, out.source) == ("bad", "rubygems")
    assert "not a list of version objects" in out.reason
    world["faults"] = [{"path": "/rubygems/api/v1/versions/*", "kind": "html"}]
    out = check(upstream, world, "rb-liquid", f"{RG}/downloads/liquid-4.0.3.gem", "4.0.3")
    assert out.status == "bad" and "HTML page instead of JSON" in out.reason


def test_fake_answer_has_the_real_fields(upstream) -> None:
    upstream.set_world({"rubygems": {"liquid": [_v("5.6.1"), _v("5.6.0", platform="java")]}})
    with urllib.request.urlopen(f"{upstream.base_url}/rubygems/api/v1/versions/liquid.json") as r:
        doc = json.load(r)
    assert [(d["number"], d["platform"], d["prerelease"]) for d in doc] == [
        ("5.6.1", "ruby", False), ("5.6.0", "java", False)]
    assert {"authors", "built_at", "created_at", "downloads_count", "metadata", "licenses",
            "requirements", "ruby_version", "rubygems_version", "sha", "summary"} <= set(doc[0])
