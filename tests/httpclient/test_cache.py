"""The persistent HTTP cache: conditional requests, 304s, same-URL dedup, crash safety."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import Blocking, make_cf_tree, node_attrs, point_env_at
from vbot.commands.sweep import SweepOptions, sweep
from vbot.config import HttpSettings
from vbot.httpclient.cache import HttpCache
from vbot.httpclient.client import HttpClient
from vbot.main import main
from vbot.repo.paths import sharded_relpath


def pypi_url(name: str, version: str) -> str:
    return f"https://pypi.example/packages/source/{name[0]}/{name}/{name}-{version}.tar.gz"


WORLD = {
    "pypi": {f"pkg{i}": {"versions": ["1.0", f"1.{i + 1}"]} for i in range(12)}
    | {"big": {"versions": ["2.0", "2.5"], "large": True}},
    "github": {"org/tool": {"releases": [{"tag_name": "v3.1"}], "tags": ["v3.1", "v3.0"]}},
    "rubygems": {"liquid": [{"number": "5.6.1", "prerelease": False},
                            {"number": "4.0.3", "prerelease": False}]},
    "metacpan": {"URI": {"version": "5.28", "maturity": "released"}},
    "nvidia": {"nvpl": {"0.4.0": {"nvpl_blas": {"version": "0.4.0.1"}}}},
}
NODES = {f"pkg{i}": node_attrs(f"pkg{i}", pypi_url(f"pkg{i}", "1.0"), "1.0") for i in range(12)}
NODES["big"] = node_attrs("big", pypi_url("big", "2.0"), "2.0")
NODES["tool"] = node_attrs("tool", "https://github.com/org/tool/archive/v3.0.tar.gz", "3.0")
NODES["rb-liquid"] = node_attrs("rb-liquid", "https://rubygems.org/downloads/liquid-4.0.3.gem",
                                "4.0.3")
NODES["perl-uri"] = node_attrs(
    "perl-uri", "https://cpan.metacpan.org/authors/id/O/OA/OALDERS/URI-5.17.tar.gz", "5.17")
NODES["libnvpl-blas"] = node_attrs(
    "libnvpl-blas", "https://developer.download.nvidia.com/compute/nvpl/redist/nvpl_blas/"
    "linux-sbsa/nvpl_blas-linux-sbsa-0.3.0-archive.tar.xz", "0.3.0")


@pytest.fixture
def world(fake, monkeypatch):
    fake.set_world(WORLD)
    point_env_at(fake, monkeypatch)
    return fake


def run(remote, tmp_path: Path, **kw) -> object:
    return sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "work", progress=False,
                              cache_dir=tmp_path / "cache", **kw))


def test_repeat_sweep_revalidates_with_304_and_commits_nothing(tmp_path, make_remote, world):
    remote = make_remote(make_cf_tree(tmp_path / "tree", NODES))
    first = run(remote, tmp_path)
    assert first.files["written"] == len(NODES)
    assert first.extra["http_cache"]["not_modified"] == 0
    commits = len(remote.commits())
    before_requests, before_304 = world.total_requests, world.not_modified
    assert first.extra["http_cache"]["stored"] >= len(NODES)  # the bodies were stored on disk
    assert (tmp_path / "cache" / "cache.sqlite3").is_file()

    second = run(remote, tmp_path)
    made = world.total_requests - before_requests
    answered_304 = world.not_modified - before_304
    assert made == second.extra["requests"] and made >= len(NODES)
    assert answered_304 >= 0.9 * made
    assert second.extra["http_cache"]["not_modified"] == answered_304
    assert second.files["written"] == 0
    assert second.counts()["found"] == len(NODES)
    assert len(remote.commits()) == commits
    assert second.extra["commit"] is None
    # every conditional request carried the stored validator
    cond = [h for h in world.headers_seen[-made:] if "If-None-Match" in h]
    assert len(cond) >= answered_304
    # a 304 does not rewrite the cache entry
    assert second.extra["http_cache"]["stored"] == 0
    assert remote.show(sharded_relpath("versions", "big")) == {"new_version": "2.5"}


def test_the_cache_keeps_digests_not_whole_documents(tmp_path, make_remote, world):
    """A ~200 KB PyPI document is stored as the names of its releases (the yanked ones too,
    which ``vbot check`` explains); a 304 serves that."""
    import sqlite3

    remote = make_remote(make_cf_tree(tmp_path / "tree", NODES))
    run(remote, tmp_path)
    with sqlite3.connect(tmp_path / "cache" / "cache.sqlite3") as db:
        rows = {json.loads(meta)["url"]: len(body)
                for meta, body in db.execute("SELECT meta, body FROM entries")}
    big = next(size for url, size in rows.items() if url.endswith("/pypi/big/json"))
    assert big < 4000, big  # ~160 release names, no files, no descriptions
    with urllib.request.urlopen(f"{world.base_url}/pypi/big/json") as answer:
        assert len(answer.read()) > 100_000  # what went over the wire
    again = run(remote, tmp_path)
    assert again.extra["http_cache"]["not_modified"] >= len(NODES)
    assert again.counts()["found"] == len(NODES) and again.files["written"] == 0


def test_upstream_change_is_seen_through_the_cache(tmp_path, make_remote, world):
    remote = make_remote(make_cf_tree(tmp_path / "tree", NODES))
    run(remote, tmp_path)
    changed = dict(WORLD, pypi=dict(WORLD["pypi"], pkg3={"versions": ["1.0", "1.4", "9.0"]}))
    world.set_world(changed)
    again = run(remote, tmp_path)
    assert again.files["written"] == 1
    assert remote.show(sharded_relpath("versions", "pkg3")) == {"new_version": "9.0"}
    assert len(remote.commits()) == 3


def test_no_cache_sends_no_conditional_requests(tmp_path, make_remote, world):
    remote = make_remote(make_cf_tree(tmp_path / "tree", NODES))
    run(remote, tmp_path, http_cache=False)
    run(remote, tmp_path, http_cache=False)
    assert world.not_modified == 0
    assert not any("If-None-Match" in h for h in world.headers_seen)
    assert not (tmp_path / "cache").exists()


def test_same_url_is_requested_once_per_sweep(tmp_path, make_remote, world):
    nodes = {"a": node_attrs("a", pypi_url("pkg1", "1.0"), "1.0"),
             "b": node_attrs("b", pypi_url("pkg1", "1.0"), "1.0"),
             "c": node_attrs("c", pypi_url("pkg1", "1.0"), "1.0")}
    remote = make_remote(make_cf_tree(tmp_path / "tree", nodes))
    report = run(remote, tmp_path)
    assert world.requests["/pypi/pkg1/json"] == 1
    assert report.extra["http_cache"]["deduplicated"] == 2
    assert {remote.show(sharded_relpath("versions", n))["new_version"] for n in nodes} == {"1.2"}


def test_concurrent_requests_for_one_url_make_one_request(tmp_path, world):
    world.set_world(dict(WORLD, latency_ms=50))
    cache = HttpCache(tmp_path / "c")
    client = HttpClient(HttpSettings(), cache=cache)
    url = f"{world.base_url}/pypi/pkg2/json"

    async def fetch_all() -> list[bytes]:  # 20 checks asking for one URL at the same time
        answers = await asyncio.gather(*(client.get(url) for _ in range(20)))
        return [resp.body for resp in answers]

    bodies = asyncio.run(fetch_all())
    assert world.requests["/pypi/pkg2/json"] == 1
    assert len(bodies) == 20 and len(set(bodies)) == 1 and b'"1.3"' in bodies[0]


def test_damaged_cache_is_a_miss_not_an_error(tmp_path, world):
    url = f"{world.base_url}/pypi/pkg4/json"
    Blocking(HttpClient(HttpSettings(), cache=HttpCache(tmp_path / "c"))).get(url)
    db = tmp_path / "c" / "cache.sqlite3"
    for leftover in tmp_path.glob("c/cache.sqlite3-*"):  # as after a crash: no WAL to replay
        leftover.unlink()
    db.write_bytes(b"not a database, a torn file" * 100)
    cache = HttpCache(tmp_path / "c")
    resp = Blocking(HttpClient(HttpSettings(), cache=cache)).get(url)
    assert resp.json()["info"]["name"] == "pkg4"
    assert cache.not_modified == 0 and cache.stored == 1  # a fresh database took the answer
    assert "If-None-Match" not in world.headers_seen[-1]
    assert (tmp_path / "c" / "cache.sqlite3.broken").read_bytes().startswith(b"not a database")
    cache.close()
    again = HttpCache(tmp_path / "c")
    assert Blocking(HttpClient(HttpSettings(), cache=again)).get(url).status == 200
    assert again.not_modified == 1  # and it is used from then on


def test_processes_share_the_cache(tmp_path, make_remote, world):
    """--executor process workers revalidate through the same cache as the coordinator."""
    from vbot.run.executors import ExecutorSpec

    remote = make_remote(make_cf_tree(tmp_path / "tree", NODES))
    run(remote, tmp_path)
    before = world.not_modified
    again = run(remote, tmp_path, executor=ExecutorSpec("process", processes=2))
    assert again.files["written"] == 0
    assert world.not_modified - before >= len(NODES)


def test_cli_cache_dir_option(tmp_path, make_remote, world, capsys):
    remote = make_remote(make_cf_tree(tmp_path / "tree", NODES))
    args = ["sweep", remote.url, "--workdir", str(tmp_path / "w"), "-q",
            "--cache-dir", str(tmp_path / "cli-cache")]
    assert main(args) == 0
    before = world.not_modified
    assert main(args) == 0
    assert world.not_modified - before >= len(NODES)
    assert any((tmp_path / "cli-cache").rglob("*"))
