"""``vbot check NODE...``: the sweep's check of a few nodes, explained, writing nothing.

Against the loopback fake upstream: ten nodes of the demo repo and their part of the demo world
(tests/fixtures/checkdemo), and small worlds for the controls the demo does not use (tag globs,
even/odd versions) and for a failing request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import git
import pytest

from tests.helpers import FIXTURES, controls, make_cf_tree, node_attrs, point_env_at
from vbot.check.checker import Checker
from vbot.check.explain import RecordingHttp, explain
from vbot.check.factory import make_http
from vbot.config import load_config
from vbot.main import main
from vbot.repo.datarepo import DataRepo
from vbot.repo.nodeinfo import Controls, NodeInfo, node_info
from vbot.shipped import resource_dir
from vbot.sources import Context
from vbot.sources.tags import tags_to_versions
from vbot.testing.fakeupstream import FakeUpstream
from vbot.testing.gitfixtures import create_remote
from vbot.versioning.policy import sift

DEMO = FIXTURES / "checkdemo"


@contextlib.contextmanager
def served_clone(data: Path, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, FakeUpstream]]:
    """A clone of ``data/repo``, the fake upstream serving ``data/world.json``, and the VBOT_*
    variables pointing at it."""
    remote = create_remote(data / "repo", tmp_path / "remote.git")
    clone = tmp_path / "clone"
    git.Repo.clone_from(remote, clone)
    world = json.loads((data / "world.json").read_text("utf-8"))
    with FakeUpstream(world) as fake:
        point_env_at(fake, monkeypatch)
        yield clone, fake


@pytest.fixture
def demo_clone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The demo nodes' repo and world (tests/fixtures/checkdemo), served."""
    with served_clone(DEMO, tmp_path, monkeypatch) as served:
        yield served


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(root).parts}


def test_text_explains_each_node_and_writes_nothing(demo_clone, capsys, monkeypatch,
                                                    tmp_path: Path) -> None:
    clone, fake = demo_clone
    before, head = _files(clone), git.Repo(clone).head.commit.hexsha
    monkeypatch.chdir(clone / "node_attrs")  # default --repo: the clone around the folder
    assert main(["check", "click", "sdl3", "solr", "openssl", "perl-json"]) == 0
    out = capsys.readouterr().out
    blocks = {b.split(" ", 1)[0]: b for b in out.split("\n\n")}
    assert list(blocks) == ["click", "sdl3", "solr", "openssl", "perl-json"]

    click = blocks["click"]
    assert click.startswith("click (version 8.1.8)\n")
    assert ('  pypi: matched project "click" from url '
            "https://pypi.example/packages/source/c/click/click-8.1.8.tar.gz") in click
    assert f"    asked GET {fake.base_url}/pypi/click/json" in click
    assert "    dropped (excluded by bot.version_updates.exclude): 8.3.0\n" in click
    assert "    dropped (not newer than the node's version 8.1.8): 8.1.6, 8.1.7, 8.1.8" in click
    assert "    dropped (not newer than 8.2.1): 8.2.0\n" in click
    assert "  not tried (an earlier source answered): cran," in click
    assert click.endswith("  result: found 8.2.1 (pypi), newer than 8.1.8: merge proposes it")

    sdl3 = blocks["sdl3"]
    assert f"asked GET {fake.base_url}/github/repos/libsdl-org/SDL/releases?per_page=20 -> 200" \
        in sdl3
    assert "    dropped (GitHub release marked pre-release): preview-3.1.8" in sdl3
    assert "    dropped (tag names no version): prerelease-3.1.2" in sdl3
    assert "  no match: pypi, cran, crates, npm, rubygems, metacpan\n" in sdl3
    assert "result: found 3.2.24 (github)" in sdl3
    assert ("dropped (tag of another component: not prefixed 'releases/solr/'): "
            "releases/lucene-solr/8.11.4") in blocks["solr"]
    assert blocks["openssl"].endswith("  result: skipped: version_updates.skip")
    perl = blocks["perl-json"]
    assert ('  metacpan: matched distribution "JSON" from url '
            "https://cpan.metacpan.org/authors/id/I/IS/ISHIGAKI/JSON-4.10.tar.gz") in perl
    assert f"asked GET {fake.base_url}/metacpan/v1/release/JSON -> 200" in perl
    assert "result: found 4.11 (metacpan), newer than 4.10" in perl

    # a dry run: no file of the clone changed or appeared, no commit, no HTTP cache written
    assert _files(clone) == before
    assert git.Repo(clone).head.commit.hexsha == head
    assert not git.Repo(clone).is_dirty(untracked_files=True)
    assert not (tmp_path / "xdg-cache").exists()


def test_json_one_object_per_node(demo_clone, capsys) -> None:
    clone, fake = demo_clone
    assert main(["check", "--repo", str(clone), "--json", "cxxopts", "coreutils",
                 "pydantic", "ros-humble-rclcpp"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [o["node"] for o in found] == ["cxxopts", "coreutils", "pydantic", "ros-humble-rclcpp"]
    for obj in found:
        assert {"node", "source", "matched", "urls", "candidates", "dropped", "new_version",
                "errors", "sources"} <= set(obj)
        assert all(set(d) == {"version", "why"} for d in obj["dropped"])
    cxxopts, coreutils, pydantic, ros = found
    assert cxxopts["source"] == "gittags" and cxxopts["new_version"] == "3.3.1"
    assert cxxopts["urls"] == ["https://github.com/jarro2783/cxxopts.git"]
    assert cxxopts["matched"] == "git repository https://github.com/jarro2783/cxxopts.git"
    assert {"version": "3.3.0", "why": "not newer than 3.3.1"} in cxxopts["dropped"]

    assert coreutils["source"] == "rawurl" and coreutils["new_version"] == "9.8"
    assert coreutils["candidates"] == ["9.6", "9.7", "9.8"]
    assert coreutils["urls"][0] == "https://ftp.gnu.org/gnu/coreutils/coreutils-9.6.tar.xz"
    step = next(s for s in coreutils["sources"] if s["source"] == "rawurl")
    assert step["requests"][0]["method"] == "HEAD" and step["requests"][0]["status"] == 200
    assert step["requests"][0]["via"].startswith(fake.base_url)
    assert [s["state"] for s in coreutils["sources"]][:2] == ["no match", "no match"]

    # the highest stable version is the node's own: found, but no update
    assert pydantic["new_version"] == "2.11.7" and pydantic["update"] is False
    assert {"version": "2.12.0b1", "why": "pre-release"} in pydantic["dropped"]

    # GitHub answered 404 first; ros then found the version
    assert ros["source"] == "ros" and ros["new_version"] == "16.0.13"
    assert ros["errors"] == [{"source": "github",
                              "error": "repository ros2-gbp/rclcpp-release not found"}]
    assert f"{fake.base_url}/ros/humble/distribution.yaml" in ros["urls"]


def test_explain_agrees_with_the_sweeps_check_on_every_node(demo_clone) -> None:
    clone, _ = demo_clone
    repo = DataRepo.open(clone)
    config = load_config(clone, None, dict(os.environ))
    infos = []
    for name in repo.safe_names()[0]:
        attrs = repo.node_attrs(name)
        if not (attrs.get("archived") or attrs.get("parsing_error")):
            infos.append(node_info(name, attrs))

    async def both() -> list[tuple[object, object]]:
        plain = Checker(Context(config=config, http=make_http(config, 4)))
        recorder = RecordingHttp(make_http(config, 4))
        explaining = Checker(Context(config=config, http=recorder))
        return [(await plain.check(i), (await explain(explaining, recorder, i)).outcome)
                for i in infos]

    pairs = asyncio.run(both())
    assert len(pairs) == 10
    for checked, explained in pairs:
        assert checked == explained


def test_unknown_node_names_close_matches(demo_clone, capsys) -> None:
    clone, _ = demo_clone
    assert main(["check", "--repo", str(clone), "atrs"]) == 1
    err = capsys.readouterr().err
    assert "atrs: not a node of graph.json; did you mean: attrs?" in err


def test_not_a_data_repo(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["check", "--repo", str(tmp_path / "empty"), "x"]) == 1
    assert "not inside a git clone" in capsys.readouterr().err


def test_tag_globs_and_even_odd_are_explained(tmp_path: Path, fake: FakeUpstream,
                                              monkeypatch, capsys) -> None:
    gh = "https://github.com"
    fake.set_world({"github": {
        "o/globbed": {"releases": [], "tags": ["v1.0.0", "v1.1.0", "v2.0.0", "nightly-2"]},
        "GNOME/gtk": {"releases": [], "tags": ["4.13.1", "4.12.5", "4.12.0"]}}})
    point_env_at(fake, monkeypatch)
    tree = make_cf_tree(tmp_path / "tree", {
        "globbed": node_attrs("globbed", f"{gh}/o/globbed/archive/v1.0.0.tar.gz", "1.0.0",
                              **controls(allowed_tag_globs=["v1.*"])),
        "gtk": node_attrs("gtk", f"{gh}/GNOME/gtk/archive/4.12.0.tar.gz", "4.12.0",
                          **controls(even_odd_versions=True))})
    assert main(["check", "--repo", str(tree), "--json", "globbed", "gtk"]) == 0
    globbed, gtk = json.loads(capsys.readouterr().out)
    why = "tag glob: not matched by bot.version_updates.allowed_tag_globs"
    assert {"version": "v2.0.0", "why": why} in globbed["dropped"]
    assert {"version": "nightly-2", "why": why} in globbed["dropped"]
    assert globbed["new_version"] == "1.1.0"
    assert gtk["dropped"][0] == {"version": "4.13.1",
                                 "why": "odd minor version (bot.version_updates.even_odd_versions)"}
    assert gtk["new_version"] == "4.12.5"


def test_sift_gives_each_drop_its_reason() -> None:
    node = NodeInfo("n", "1.0", controls=Controls(exclude=("1.4",), even_odd_versions=True))
    kept, dropped = sift(["1.2", "1.3", "1.4", "2.0rc1", "not a version", " 1.6 "], node)
    assert kept == ["1.2", "1.6"]
    assert dropped == [("1.3", "odd minor version (bot.version_updates.even_odd_versions)"),
                       ("1.4", "excluded by bot.version_updates.exclude"),
                       ("2.0rc1", "pre-release"), ("not a version", "not a version")]


def test_tag_notes_only_when_asked() -> None:
    node = NodeInfo("n", "1.2", controls=Controls(allowed_tag_globs=("v*",)))
    assert tags_to_versions(["v1.3", "x1.4"], node) == ["1.3"]  # no notes list: nothing kept
    asked = NodeInfo("n", "1.2", controls=Controls(allowed_tag_globs=("v*",)), notes=[])
    assert tags_to_versions(["v1.3", "x1.4", "v20240101"], asked) == ["1.3"]
    assert asked.notes == [
        ("x1.4", "tag glob: not matched by bot.version_updates.allowed_tag_globs"),
        ("20240101", "another numbering scheme than the node's version 1.2")]


def test_a_failed_request_is_explained(tmp_path: Path, fake: FakeUpstream, monkeypatch,
                                       capsys) -> None:
    fake.set_world({"pypi": {}})
    point_env_at(fake, monkeypatch)
    url = "https://pypi.example/packages/source/g/gone/gone-1.0.tar.gz"
    tree = make_cf_tree(tmp_path / "tree", {"gone": node_attrs("gone", url, "1.0")})
    assert main(["check", "--repo", str(tree), "--json", "gone"]) == 0
    (gone,) = json.loads(capsys.readouterr().out)
    assert gone["status"] == "bad" and gone["new_version"] is None
    assert gone["source"] == "pypi" and gone["reason"].startswith("HTTP 404")
    assert gone["errors"] == [{"source": "pypi", "error": gone["reason"]}]
    (request,) = gone["sources"][0]["requests"]
    assert request["url"] == f"{fake.base_url}/pypi/gone/json"
    assert request["error"].startswith("HTTP 404") and "status" not in request
    assert main(["check", "--repo", str(tree), "gone"]) == 0
    out = capsys.readouterr().out
    assert f"    asked GET {fake.base_url}/pypi/gone/json -> failed: HTTP 404" in out
    assert "    error: HTTP 404" in out
    assert "  result: bad (pypi): HTTP 404" in out


def test_real_raw_urls_explained_with_versions_never_probed(tmp_path: Path, monkeypatch,
                                                            capsys) -> None:
    """The bundled real at-spi2-core (even_odd_versions, URL from the recipe's template): the
    odd minors are dropped before probing and say so; the even one found is in folder /2.60/."""
    with served_clone(resource_dir("data"), tmp_path, monkeypatch) as (clone, fake):
        assert main(["check", "at-spi2-core", "--repo", str(clone), "--json"]) == 0
        asked = {p for p in fake.requests if "/at-spi2-core/" in p}
    (node,) = json.loads(capsys.readouterr().out)
    assert node["source"] == "rawurl" and node["new_version"] == "2.60.0"
    never = {d["version"] for d in node["dropped"] if "not probed" in d["why"]}
    assert {"2.59.0", "2.61.0"} <= never
    assert all("odd minor" in d["why"] for d in node["dropped"] if d["version"] in never)
    assert any(u.endswith("/2.60/at-spi2-core-2.60.0.tar.xz") for u in node["urls"])
    assert asked and not any("2.59" in p or "2.61" in p for p in asked)


def test_every_drop_an_upstream_answered_is_explained(tmp_path: Path, fake: FakeUpstream,
                                                      monkeypatch, capsys) -> None:
    """Candidates set aside inside a source (flags in the upstream's answer, which the cache
    digest keeps) appear with their reason, next to the checker's own drops."""
    fake.set_world({
        "rubygems": {"net-ssh": [{"number": "7.4.0.beta1", "prerelease": True},
                                 {"number": "7.3.0", "prerelease": False},
                                 {"number": "6.1.0", "prerelease": False}]},
        "pypi": {"yanky": {"versions": ["1.0", "1.1", "1.2"], "yanked": ["1.2"]}},
        "crates": {"serde": [{"vers": "1.0.0", "yanked": False},
                             {"vers": "1.1.0", "yanked": True},
                             {"vers": "1.2.0-rc.1", "yanked": False}]},
        "npm": {"leftpad": {"versions": ["1.0.0", "1.1.0", "2.0.0"], "latest": "1.1.0"}},
        "metacpan": {"JSON": {"version": "4.11_01", "maturity": "developer"}},
        "gitlab": {"g/p": {"releases": [{"tag_name": "v3.0.0", "upcoming_release": True}],
                           "tags": ["v1.1.0", "v1.0.0"]}}})
    point_env_at(fake, monkeypatch)
    tree = make_cf_tree(tmp_path / "tree", {
        "net-ssh": node_attrs("net-ssh", "https://rubygems.org/downloads/net-ssh-6.1.0.gem",
                              "6.1.0"),
        "yanky": node_attrs("yanky", "https://pypi.example/packages/source/y/yanky/"
                                     "yanky-1.0.tar.gz", "1.0"),
        # an exclude control: the sparse index is read (the batched API answers one version)
        "serde": node_attrs("serde", "https://crates.io/api/v1/crates/serde/1.0.0/download",
                            "1.0.0", **controls(exclude=["0.9.0"])),
        "leftpad": node_attrs("leftpad", "https://registry.npm.example/leftpad/-/"
                                         "leftpad-1.0.0.tgz", "1.0.0"),
        "perl-json": node_attrs("perl-json", "https://cpan.metacpan.org/authors/id/I/IS/"
                                             "ISHIGAKI/JSON-4.10.tar.gz", "4.10"),
        "gl": node_attrs("gl", "https://gitlab.com/g/p/-/archive/v1.0.0/p-v1.0.0.tar.gz",
                         "1.0.0")})
    names = ["net-ssh", "yanky", "serde", "leftpad", "perl-json", "gl"]
    assert main(["check", "--repo", str(tree), "--json", *names]) == 0
    found = {e["node"]: e for e in json.loads(capsys.readouterr().out)}
    drops = {name: {d["version"]: d["why"] for d in found[name]["dropped"]} for name in names}
    assert drops["net-ssh"] == {"7.4.0.beta1": "pre-release: RubyGems flags it prerelease",
                                "6.1.0": "not newer than the node's version 6.1.0"}
    assert found["net-ssh"]["new_version"] == "7.3.0"
    assert drops["yanky"]["1.2"] == "yanked on PyPI (every file)"
    assert found["yanky"]["new_version"] == "1.1"
    assert drops["serde"]["1.1.0"] == "yanked on crates.io"
    assert drops["serde"]["1.2.0-rc.1"] == "pre-release: a semver pre-release"
    assert drops["leftpad"]["2.0.0"] == "not below the registry's latest dist-tag 1.1.0"
    assert drops["perl-json"]["4.11_01"] == "pre-release: MetaCPAN maturity 'developer'"
    assert found["perl-json"]["status"] == "none"
    assert drops["gl"]["v3.0.0"] == "GitLab release marked upcoming"
    assert found["gl"]["new_version"] == "1.1.0"

    assert main(["check", "--repo", str(tree), "net-ssh"]) == 0
    out = capsys.readouterr().out
    assert "    candidates (2): 7.3.0, 6.1.0\n" in out
    assert "    dropped (pre-release: RubyGems flags it prerelease): 7.4.0.beta1\n" in out


def test_upstream_strings_are_one_short_line_each(tmp_path: Path, fake: FakeUpstream,
                                                  monkeypatch, capsys) -> None:
    """An upstream cannot add lines or escape sequences to ``vbot check``'s output, nor flood
    it: control characters are escaped and a 5,000-digit version is shortened."""
    huge = "9" * 5000
    fake.set_world({"rubygems": {"evil": [
        {"number": "97.0\nInjected: line", "prerelease": False},
        {"number": "98.0\x1b[31mred", "prerelease": True},
        {"number": huge, "prerelease": False},
        {"number": "1.1", "prerelease": False}]}})
    point_env_at(fake, monkeypatch)
    tree = make_cf_tree(tmp_path / "tree", {"evil": node_attrs(
        "evil", "https://rubygems.org/downloads/evil-1.0.gem", "1.0")})
    assert main(["check", "--repo", str(tree), "evil"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert not any(line.startswith("Injected") for line in lines)
    assert "97.0\\nInjected: line" in out
    assert "\x1b" not in out and "98.0\\x1b[31mred" in out
    assert huge not in out and all(len(line) < 400 for line in lines)
    assert "99999… (5000 characters)" in out
    # the JSON output keeps the strings whole (JSON escapes control characters itself)
    assert main(["check", "--repo", str(tree), "--json", "evil"]) == 0
    text = capsys.readouterr().out
    assert "\x1b" not in text and huge in text
    (evil,) = json.loads(text)
    assert "97.0\nInjected: line" in evil["candidates"]


def test_bundled_rubygems_prerelease_is_explained(tmp_path: Path, monkeypatch, capsys) -> None:
    """The bundled real net-ssh: RubyGems flags 7.4.0.rc1 ``prerelease``; check says so."""
    with served_clone(resource_dir("data"), tmp_path, monkeypatch) as (clone, _fake):
        assert main(["check", "rb-net-ssh", "--repo", str(clone)]) == 0
    out = capsys.readouterr().out
    assert "    dropped (pre-release: RubyGems flags it prerelease): 7.4.0.rc1\n" in out
    assert "  result: found 7.3.0 (rubygems), newer than 6.1.0: merge proposes it" in out
def test_unconfigured_source_is_one_line_and_exit_1_as_in_a_sweep(demo_clone, capsys,
                                                                  monkeypatch) -> None:
    """Issue 19 item 7: the sweep's pre-checks, not an internal error and exit 0."""
    clone, fake = demo_clone
    monkeypatch.delenv("VBOT_PYPI_URL")
    served = fake.total_requests
    assert main(["check", "click", "--repo", str(clone)]) == 1
    captured = capsys.readouterr()
    assert captured.err == ("vbot: error: pypi is not configured (set VBOT_PYPI_URL or "
                            "[sources.pypi] url in vbot.toml): 1 node needs it\n")
    assert captured.out == "" and fake.total_requests == served
    # a node that does not need pypi is explained as before
    assert main(["check", "sdl3", "--repo", str(clone)]) == 0


@pytest.mark.parametrize("toml, line", [
    ("[sourcs.pypi]\n", "[sourcs] is not a vbot setting (did you mean [sources]?)"),
    ("[sources.pypi]\nurll = 'http://127.0.0.1:9'\n",
     "[sources.pypi] urll is not a setting of pypi (did you mean [sources.pypi] url?)"),
])
def test_a_settings_mistake_is_one_line(demo_clone, capsys, toml: str, line: str) -> None:
    clone, _ = demo_clone
    (clone / "vbot.toml").write_text(toml)
    assert main(["check", "click", "--repo", str(clone)]) == 1
    assert capsys.readouterr().err == f"vbot: error: {clone / 'vbot.toml'}: {line}\n"


def test_an_unknown_source_name_is_named(tmp_path: Path, capsys) -> None:
    nodes = {"cox": node_attrs("cox", "https://pypi.example/packages/source/c/cox/cox-0.1.tar.gz",
                               "0.1", **controls(sources=["nosuch"]))}
    tree = make_cf_tree(tmp_path / "tree", nodes)
    assert main(["check", "cox", "--repo", str(tree)]) == 0
    assert ("  result: nosource: unknown source 'nosuch' in bot.version_updates.sources\n"
            in capsys.readouterr().out)
