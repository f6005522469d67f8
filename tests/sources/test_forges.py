"""Forge sources (GitHub, GitLab): tag prefixes, schemes, release flags, pagination."""

from __future__ import annotations

import pytest

from tests.helpers import check, checker_for, controls, node_attrs
from vbot.repo.nodeinfo import node_info

GH = "https://github.com"


def gh(tags: list[str], releases: list[dict] | None = None) -> dict:
    return {"tags": tags, "releases": releases or []}


GITHUB_CASES = [  # id, url, current, {repo: entry}, extra attrs, expected
    ("url-prefix-releases/solr", f"{GH}/apache/solr/archive/refs/tags/releases/solr/9.8.0.tar.gz",
     "9.8.0", {"apache/solr": gh(["releases/lucene/10.2.0", "releases/solr/9.9.0",
                                  "releases/solr/9.8.0", "v11.0"])}, {}, "9.9.0"),
    ("two-schemes", f"{GH}/o/tool/archive/v1.4.2.tar.gz", "1.4.2",
     {"o/tool": gh(["20240101", "2024.05.01", "v1.5.0", "v1.4.2"])}, {}, "1.5.0"),
    ("calendar-current", f"{GH}/o/cal/archive/2024.01.15.tar.gz", "2024.01.15",
     {"o/cal": gh(["2024.03.01", "v1.0", "2024.01.15"])}, {}, "2024.03.01"),
    ("latest-is-a-backport", f"{GH}/o/lib/archive/v2.0.0.tar.gz", "2.0.0",
     {"o/lib": gh(["v1.9.9", "v2.1.0", "v2.0.0"], [{"tag_name": "v1.9.9"},
                                                    {"tag_name": "v2.1.0"}])}, {}, "2.1.0"),
    ("prerelease-flag-on-stable-tag", f"{GH}/o/p/archive/v2.0.0.tar.gz", "2.0.0",
     {"o/p": gh(["v3.0.0", "v2.1.0", "v2.0.0"], [{"tag_name": "v3.0.0", "prerelease": True}])},
     {}, "2.1.0"),
    ("prerelease-tags-dropped", f"{GH}/o/q/archive/v1.0.tar.gz", "1.0",
     {"o/q": gh(["v2.0rc1", "v2.0.0-beta.2", "v1.1", "nightly"])}, {}, "1.1"),
    ("underscore-tags", f"{GH}/curl/curl/releases/download/curl-7_88_1/curl-7.88.1.tar.bz2",
     "7.88.1", {"curl/curl": gh(["curl-8_1_2", "curl-8_0_0", "curl-7_88_1", "tiny-curl-8_4_0"])},
     {}, "8.1.2"),
    ("v-in-current-version", f"{GH}/o/v/archive/v0.2.4.tar.gz", "v0.2.4",
     {"o/v": gh(["v0.3.0", "v0.2.4"])}, {}, "0.3.0"),
    ("package-name-prefix", f"{GH}/o/mono/archive/refs/tags/mono-1.0.tar.gz", "1.0",
     {"o/mono": gh(["other-7.0", "mono-1.2", "mono-1.0"])}, {}, "1.2"),
    ("allowed-tag-globs", f"{GH}/o/g/archive/v1.0.0.tar.gz", "1.0.0",
     {"o/g": gh(["v1.2.0", "v1.1.0", "py-v9.0.0"])},
     controls(allowed_tag_globs=["v1.1.*"]), "1.1.0"),
    ("even-odd", f"{GH}/GNOME/gtk/archive/4.12.0.tar.gz", "4.12.0",
     {"GNOME/gtk": gh(["4.13.1", "4.12.5", "4.12.0"])}, controls(even_odd_versions=True),
     "4.12.5"),
    ("exclude", f"{GH}/o/x/archive/v1.0.tar.gz", "1.0",
     {"o/x": gh(["v1.2", "v1.1", "v1.0"])}, controls(exclude=["1.2"]), "1.1"),
]


@pytest.mark.parametrize(("url", "current", "table", "extra", "expected"),
                         [c[1:] for c in GITHUB_CASES], ids=[c[0] for c in GITHUB_CASES])
def test_github(upstream, url: str, current: str, table: dict, extra: dict,
                expected: str) -> None:
    name = "mono" if "mono" in url else "pkg"
    out = check(upstream, {"github": table}, name, url, current, **extra)
    assert (out.status, out.source, out.version) == ("found", "github", expected)


def test_github_follows_link_header_for_a_few_pages(upstream) -> None:
    # the API lists tags by name, not by version: the highest sits on page 3
    tags = [f"z{i}" for i in range(200)]
    tags += ["v3.0.0"] + [f"y{i}" for i in range(100)] + ["v9.0.0"]  # page 4: not read
    world = {"github": {"o/many": gh(tags + ["v1.0.0"])}}
    before = dict(upstream.requests)
    out = check(upstream, world, "many", f"{GH}/o/many/archive/v1.0.0.tar.gz", "1.0.0")
    assert out.version == "3.0.0"
    pages = upstream.requests["/github/repos/o/many/tags"] - before.get(
        "/github/repos/o/many/tags", 0)
    assert pages == 3


def test_github_unknown_repo_is_bad(upstream) -> None:
    out = check(upstream, {"github": {}}, "gone", f"{GH}/o/gone/archive/v1.tar.gz", "1")
    assert out.status == "bad" and "not found" in out.reason


GL = "https://gitlab.com"
GITLAB_CASES = [
    ("subgroup-releases-and-tags", f"{GL}/grp/sub/proj/-/archive/v1.0.0/proj-v1.0.0.tar.gz",
     "1.0.0", {"grp/sub/proj": {"releases": [{"tag_name": "v1.1.0"},
                                             {"tag_name": "v3.0.0", "upcoming_release": True}],
                                "tags": ["v1.2.0", "v1.1.0", "v1.0.0"]}}, "1.2.0"),
    ("tags-only", f"{GL}/g/p/-/archive/2.3/p-2.3.tar.bz2", "2.3",
     {"g/p": {"tags": ["2.4", "2.5rc1", "2.3"]}}, "2.4"),
]


@pytest.mark.parametrize(("url", "current", "table", "expected"),
                         [c[1:] for c in GITLAB_CASES], ids=[c[0] for c in GITLAB_CASES])
def test_gitlab(upstream, url: str, current: str, table: dict, expected: str) -> None:
    out = check(upstream, {"gitlab": table}, "pkg", url, current)
    assert (out.status, out.source, out.version) == ("found", "gitlab", expected)


def test_gitlab_self_hosted_project_is_asked_at_its_host(upstream) -> None:
    world = {"gitlab": {"GNOME/glib": {"tags": ["2.80.0", "2.78.4"]}}}
    upstream.set_world(world)
    rewrite = f"https://gitlab.gnome.org/={upstream.base_url}/gitlab/"
    out = check(upstream, world, "glib",
                "https://gitlab.gnome.org/GNOME/glib/-/archive/2.78.4/glib-2.78.4.tar.gz",
                "2.78.4", env={"VBOT_HTTP_REWRITE": rewrite})
    assert (out.source, out.version) == ("gitlab", "2.80.0")
    seen = [h["path"] for h in upstream.headers_seen if "GNOME" in h["path"]]
    assert "/gitlab/api/v4/projects/GNOME/glib/repository/tags" in seen


def test_gitlab_unknown_project_is_bad(upstream) -> None:
    out = check(upstream, {"gitlab": {}}, "p", f"{GL}/a/b/-/archive/1.0/b-1.0.tar.gz", "1.0")
    assert out.status == "bad" and "not found" in out.reason


def test_github_codeload_url(upstream) -> None:
    out = check(upstream, {"github": {"o/c": gh(["v1.1", "v1.0"])}}, "c",
                "https://codeload.github.com/o/c/tar.gz/refs/tags/v1.0", "1.0")
    assert (out.source, out.version) == ("github", "1.1")


def test_gitlab_extra_hosts_from_config(upstream) -> None:
    world = {"gitlab": {"team/tool": {"tags": ["1.1", "1.0"]}}}
    upstream.set_world(world)
    url = "https://invent.kde.example/team/tool/-/archive/1.0/tool-1.0.tar.gz"
    rewrite = {"VBOT_HTTP_REWRITE": f"https://invent.kde.example/={upstream.base_url}/gitlab/"}
    assert check(upstream, world, "tool", url, "1.0", env=rewrite).source != "gitlab"
    checker = checker_for(upstream, world, options={"gitlab": {"hosts": ["invent.kde.example"]}},
                          **rewrite)
    out = checker.check(node_info("tool", node_attrs("tool", url, "1.0")))
    assert (out.source, out.version) == ("gitlab", "1.1")
