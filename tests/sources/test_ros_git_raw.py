"""ROS, git tags over real dumb HTTP, and probing plain download URLs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import check, checker_for, controls, git_node
from vbot.errors import UpstreamError
from vbot.git.tags import ls_remote_tags, make_tag_repo, remote_url_allowed
from vbot.repo.nodeinfo import node_info
from vbot.sources.rawurl import bump, substitute
from vbot.versioning import order

ROS_WORLD = {"ros": {"humble": {
    "rclcpp": {"version": "16.0.11-1", "packages": ["rclcpp", "rclcpp_action"]},
    "ament_cmake": {"version": "1.3.9-2"},
}, "jazzy": {"rclcpp": {"version": "28.1.5-1", "packages": ["rclcpp"]}}}}

ROS_CASES = [
    ("package-in-list", "ros-humble-rclcpp-action", "16.0.10", "16.0.11"),
    ("repo-name", "ros-humble-ament-cmake", "1.3.8", "1.3.9"),
    ("other-distro", "ros-jazzy-rclcpp", "28.1.0", "28.1.5"),
]


@pytest.mark.parametrize(("name", "current", "expected"), [c[1:] for c in ROS_CASES],
                         ids=[c[0] for c in ROS_CASES])
def test_ros(upstream, name: str, current: str, expected: str) -> None:
    url = f"https://github.com/ros2-gbp/x-release/archive/release/humble/x/{current}-1.tar.gz"
    out = check(upstream, ROS_WORLD, name, url, current,
                **{"conda-forge.yml": {"bot": {"version_updates": {"sources": ["rosdistro"]}}}})
    assert (out.status, out.source, out.version) == ("found", "ros", expected)


def test_ros_distribution_fetched_once_and_unknown_package_is_bad(upstream) -> None:
    checker = checker_for(upstream, ROS_WORLD)
    path = "/ros/humble/distribution.yaml"
    before = upstream.requests[path]
    outs = [checker.check(node_info(n, git_node(n, "", "0.1")))
            for n in ("ros-humble-rclcpp", "ros-humble-ament-cmake", "ros-humble-nope")]
    assert [o.version for o in outs[:2]] == ["16.0.11", "1.3.9"]
    assert outs[2].status == "bad" and "not released" in outs[2].reason
    assert upstream.requests[path] - before == 1


# -- gittags ------------------------------------------------------------------------------
GIT_WORLD = {"git": {
    "git.example.org/foo/bar.git": {"tags": ["v1.0", "v1.1", "v2.0rc1", "nightly"]},
    "git.example.org/cal/cal.git": {"tags": ["2024.05.01", "0.9", "2024.01.02"]},
}}

GIT_CASES = [
    ("https", "https://git.example.org/foo/bar.git", "1.0", "found", "1.1"),
    ("http", "http://git.example.org/foo/bar.git", "1.0", "found", "1.1"),
    ("calendar", "https://git.example.org/cal/cal.git", "2024.01.02", "found", "2024.05.01"),
    ("file-refused", "file:///tmp/whatever.git", "1.0", "nosource", None),
    ("ext-refused", "ext::sh -c touch% /tmp/pwned", "1.0", "nosource", None),
    ("scp-like-refused", "git@git.example.org:foo/bar.git", "1.0", "nosource", None),
]


@pytest.mark.parametrize(("git_url", "current", "status", "expected"),
                         [c[1:] for c in GIT_CASES], ids=[c[0] for c in GIT_CASES])
def test_gittags(upstream, git_url: str, current: str, status: str, expected: str | None
                 ) -> None:
    checker = checker_for(upstream, GIT_WORLD)
    out = checker.check(node_info("bar", git_node("bar", git_url, current)))
    assert (out.status, out.version) == (status, expected)
    if expected:
        assert out.source == "gittags"
        assert upstream.requests["/git/git.example.org/" + git_url.split("/", 3)[3]
                                 + "/info/refs"] >= 1


def test_ls_remote_refuses_a_rewrite_to_a_local_path(tmp_path: Path) -> None:
    bare = tmp_path / "r.git"
    make_tag_repo(bare, ["v1.0"])
    with pytest.raises(UpstreamError) as err:
        ls_remote_tags("https://git.example.org/r.git", 10,
                       (("https://git.example.org/", bare.parent.as_uri() + "/"),))
    assert not err.value.transient
    assert not remote_url_allowed(bare.as_uri())
    assert not remote_url_allowed("ssh://-oProxyCommand=touch%20x/r.git")
    assert remote_url_allowed("git://git.example.org/r.git")


def test_ls_remote_timeout_is_transient(upstream) -> None:
    world = {**GIT_WORLD, "faults": [{"path": "/git/*", "kind": "timeout", "seconds": 3}]}
    checker = checker_for(upstream, world, options={"gittags": {"timeout": 0.5}})
    out = checker.check(node_info("bar", git_node("bar", "https://git.example.org/foo/bar.git",
                                                  "1.0")))
    assert out.status == "transient" and "timed out" in out.reason


def test_fake_git_server_is_real_dumb_http(upstream) -> None:
    upstream.set_world(GIT_WORLD)
    url = f"{upstream.base_url}/git/git.example.org/foo/bar.git"
    done = subprocess.run(["git", "ls-remote", "--tags", url], capture_output=True, text=True,
                          check=True, timeout=30)
    assert "refs/tags/v1.1" in done.stdout


# -- rawurl -------------------------------------------------------------------------------
RAW_CASES = [  # id, url, current, files that exist, expected
    ("gnu-two-hops", "https://ftp.gnu.org/gnu/tar/tar-1.34.tar.xz", "1.34",
     ["https://ftp.gnu.org/gnu/tar/tar-1.35.tar.xz", "https://ftp.gnu.org/gnu/tar/tar-1.36.tar.xz"],
     "1.36"),
    ("minor-bump-drops-zero", "https://example.org/dl/foo-8.1.5.tar.gz", "8.1.5",
     ["https://example.org/dl/foo-8.2.tar.gz"], "8.2"),
    ("major-bump", "https://example.org/dl/foo-8.1.5.tar.gz", "8.1.5",
     ["https://example.org/dl/foo-9.0.0.tar.gz"], "9.0.0"),
    ("underscores", "https://example.org/dl/foo-1_2_3.tar.gz", "1.2.3",
     ["https://example.org/dl/foo-1_3_0.tar.gz"], "1.3.0"),
    ("no-dots", "https://example.org/dl/foo123.zip", "1.2.3",
     ["https://example.org/dl/foo124.zip"], "1.2.4"),
    ("folder-follows", "https://download.gnome.example/sources/glib/2.78/glib-2.78.1.tar.xz",
     "2.78.1", ["https://download.gnome.example/sources/glib/2.79/glib-2.79.0.tar.xz"], "2.79.0"),
    ("dots-and-underscores", "https://archives.boost.example/release/1.86.0/source/boost_1_86_0.tar.bz2",
     "1.86.0", ["https://archives.boost.example/release/1.87.0/source/boost_1_87_0.tar.bz2"],
     "1.87.0"),
    ("version-twice", "https://sf.example/projects/x/files/1.0.0/x-1.0.0.tgz", "1.0.0",
     ["https://sf.example/projects/x/files/1.0.1/x-1.0.1.tgz"], "1.0.1"),
]


@pytest.mark.parametrize(("url", "current", "files", "expected"), [c[1:] for c in RAW_CASES],
                         ids=[c[0] for c in RAW_CASES])
def test_rawurl(upstream, url: str, current: str, files: list[str], expected: str) -> None:
    out = check(upstream, {"files": files, "file_hosts": [url.split("/")[2]]}, "pkg", url,
                current)
    assert (out.status, out.source, out.version) == ("found", "rawurl", expected)


def test_rawurl_nothing_newer_is_none_and_head_refused_falls_back(upstream) -> None:
    url = "https://example.org/dl/foo-1.0.tar.gz"
    out = check(upstream, {"files": [url]}, "pkg", url, "1.0")
    assert (out.status, out.source) == ("none", "rawurl")
    world = {"files": ["https://example.org/dl/foo-1.1.tar.gz"],
             "faults": [{"path": "/files/example.org/dl/foo-1.1.tar.gz", "kind": "status",
                         "status": 405, "times": 1}]}
    before = len(upstream.headers_seen)
    out = check(upstream, world, "pkg", url, "1.0", env={"GITHUB_TOKEN": "ghp_" + "x" * 36})
    assert out.version == "1.1"
    probes = [h for h in upstream.headers_seen[before:] if h["path"].endswith("foo-1.1.tar.gz")]
    assert [h.get("Range") for h in probes] == [None, "bytes=0-0"]
    assert not any("Authorization" in h for h in upstream.headers_seen[before:])


@pytest.mark.parametrize("url", ["https://cpan.metacpan.org/authors/id/I/IS/X/JSON-4.10.tar.gz",
                                 "https://rubygems.org/downloads/asciidoctor-4.10.gem",
                                 "https://vault.centos.org/7/os/x86_64/Packages/x-4.10.rpm"])
def test_rawurl_does_not_probe_registries_without_a_source(upstream, url: str) -> None:
    # rawurl alone: the RubyGems URL belongs to the rubygems source otherwise
    before = upstream.total_requests
    out = check(upstream, {"file_hosts": [url.split("/")[2]]}, "p", url, "4.10",
                **controls(sources=["rawurl"]))
    assert out.status == "nosource" and upstream.total_requests == before


def test_rawurl_leaves_api_urls_to_their_sources(upstream) -> None:
    out = check(upstream, {"github": {}}, "p", "https://github.com/o/p/archive/v1.0.tar.gz",
                "1.0", **{"conda-forge.yml": {"bot": {"version_updates": {"sources":
                                                                          ["rawurl"]}}}})
    assert out.status == "nosource"


def test_rawurl_never_probes_a_credentialed_api_url(upstream) -> None:
    world = {"file_hosts": ["api.github.com"]}
    url = "https://api.github.com/repos/o/r/tarball/1.0"
    before = upstream.total_requests
    out = check(upstream, world, "p", url, "1.0",
                env={"GITHUB_TOKEN": "ghp_" + "y" * 36, "VBOT_GITHUB_API_URL": ""})
    assert out.status == "nosource" and upstream.total_requests == before


def test_rawurl_html_page_for_an_archive_is_not_the_file(upstream) -> None:
    url = "https://downloads.sf.example/project/x/x-1.0.tar.gz"
    world = {"files": ["https://downloads.sf.example/project/x/x-1.1.tar.gz"],
             "faults": [{"path": "/files/downloads.sf.example/project/x/x-1.1.tar.gz",
                         "kind": "html"}]}
    out = check(upstream, world, "x", url, "1.0")
    assert (out.status, out.source) == ("none", "rawurl")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=1, max_size=4),
       st.sampled_from([".", "_"]))
def test_bump_candidates_are_all_newer(parts: list[int], sep: str) -> None:
    current = ".".join(map(str, parts))
    cands = list(bump(current))
    assert cands and len(cands) == len(set(cands))
    assert all(order.key(c) > order.key(current) for c in cands)
    url = f"https://example.org/x-{current.replace('.', sep)}.tar.gz"
    if len(parts) > 1 or sep == ".":
        assert substitute(url, current, cands[0]) == \
            f"https://example.org/x-{cands[0].replace('.', sep)}.tar.gz"


def test_git_that_cannot_run_is_internal_and_writes_nothing(upstream, monkeypatch,
                                                             tmp_path: Path) -> None:
    """A machine without a runnable git is vbot's problem, not the remote's answer."""
    checker = checker_for(upstream, GIT_WORLD)
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no git to start
    out = checker.check(node_info("bar", git_node("bar", "https://git.example.org/foo/bar.git",
                                                  "1.0")))
    assert out.status == "internal" and "cannot run git" in out.reason
    assert out.document() is None  # the node's versions file is left as it is
