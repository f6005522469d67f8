"""Change feeds (issue 17): each source's ``changes(cursor)`` against the feeds the fake
upstream serves in the real shapes (XML-RPC ``methodResponse``, PEP 691 JSON index, the
compact index ``versions`` file with Range requests, MetaCPAN ``_search`` hits), moved by
changing the fake's world as a release would; and each fallback."""

from __future__ import annotations

import copy
import json
import urllib.request
import xmlrpc.client
from typing import Any

import pytest

from tests.helpers import Blocking, checker_for, node_attrs
from vbot.check.checker import FOUND, TRANSIENT
from vbot.repo.nodeinfo import node_info
from vbot.sources.base import Changes
from vbot.testing.fakeupstream import FakeUpstream


def _source(fake: FakeUpstream, name: str, world: dict[str, Any]) -> tuple[Blocking, Blocking]:
    """(a blocking view of the source, of its checker) pointing at ``fake`` serving ``world``."""
    checker = checker_for(fake, world)
    return Blocking(checker.target.sources[name]), checker


def _moved(world: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(world)
    for table, entries in changes.items():
        out.setdefault(table, {}).update(entries)
    return out


# -- PyPI --------------------------------------------------------------------------------------

PYPI_WORLD = {"pypi": {"Foo_Bar": {"versions": ["1.0"]}, "quiet": {"versions": ["2.0"]},
                       "zope.interface": {"versions": ["6.0"]}}}
PYPI_URL = "https://pypi.example/packages/source/{c}/{n}/{n}-{v}.tar.gz"


def _pypi_node(name: str, version: str) -> Any:
    url = PYPI_URL.format(c=name[0], n=name, v=version)
    return node_info(name, node_attrs(name, url, version))


def _posts(fake: FakeUpstream) -> int:
    return fake.requests["/pypi"]


def test_xmlrpc_feed_is_the_real_methodresponse_shape(fake: FakeUpstream) -> None:
    fake.set_world(PYPI_WORLD)
    body = xmlrpc.client.dumps((0,), "changelog_since_serial").encode()
    req = urllib.request.Request(f"{fake.base_url}/pypi", body, {"Content-Type": "text/xml"})
    with urllib.request.urlopen(req) as resp:  # noqa: S310 - loopback
        text = resp.read()
    assert text.startswith(b"<?xml") and b"<methodResponse>" in text
    (rows,), _ = xmlrpc.client.loads(text)
    assert [r[0] for r in rows] == ["Foo_Bar", "quiet", "zope.interface"]
    name, version, stamp, action, serial = rows[0]
    assert (version, action, serial) == ("1.0", "new release", 1) and isinstance(stamp, int)


def test_pypi_first_run_takes_the_serial_and_checks_everything(fake: FakeUpstream) -> None:
    pypi, _ = _source(fake, "pypi", PYPI_WORLD)
    got = pypi.changes(None)
    assert got.changed is None and "no earlier cursor" in got.note
    assert got.cursor["serial"] == 3
    json.dumps(got.cursor)  # stored in the data repo: plain JSON


def test_pypi_feed_names_the_changed_projects_normalised(fake: FakeUpstream) -> None:
    pypi, _ = _source(fake, "pypi", PYPI_WORLD)
    cursor = pypi.changes(None).cursor
    fake.set_world(_moved(PYPI_WORLD, pypi={"Foo_Bar": {"versions": ["1.0", "1.1"]},
                                            "zope.interface": {"versions": ["6.0"],
                                                               "yanked": ["6.0"]},
                                            "New.Project": {"versions": ["0.1"]}}))
    got = pypi.changes(cursor)
    assert got.changed == {"foo-bar", "zope-interface", "new-project"}
    assert got.cursor == {**cursor, "serial": 6}
    # the nodes' projects match the feed's keys by the same normalisation
    assert pypi.feed_key(pypi.match(_pypi_node("Foo_Bar", "1.0"))) == "foo-bar"
    assert pypi.feed_key("Zope.Interface") == "zope-interface"
    # nothing new since: an empty set, the same cursor
    again = pypi.changes(got.cursor)
    assert again.changed == frozenset() and again.cursor == got.cursor


def test_pypi_feed_pages_until_caught_up(fake: FakeUpstream) -> None:
    world = {"pypi": {f"p{i}": {"versions": ["1.0"]} for i in range(3)}, "feed": {"page": 2}}
    pypi, _ = _source(fake, "pypi", world)
    cursor = pypi.changes(None).cursor
    moved = copy.deepcopy(world)
    moved["pypi"].update({f"p{i}": {"versions": ["1.0", "2.0"]} for i in range(7)})
    fake.set_world(moved)
    before = _posts(fake)
    got = pypi.changes(cursor)
    assert got.changed == {f"p{i}" for i in range(7)}
    assert got.cursor["serial"] == 3 + 3 + 4 * 2  # new projects: a row per release
    assert _posts(fake) - before == 1 + 6  # the serial, then 11 rows two at a time


def test_pypi_without_xmlrpc_uses_the_pep691_index(fake: FakeUpstream) -> None:
    world = dict(PYPI_WORLD, feed={"off": ["pypi_xmlrpc"]})
    pypi, _ = _source(fake, "pypi", world)
    first = pypi.changes(None)
    assert first.changed is None and first.cursor["serial"] == 3
    fake.set_world(_moved(world, pypi={"quiet": {"versions": ["2.0", "2.1"]}}))
    got = pypi.changes(first.cursor)
    assert got.changed == {"quiet"} and got.cursor["serial"] == 4


def test_pypi_server_without_any_feed_checks_everything(fake: FakeUpstream) -> None:
    world = dict(PYPI_WORLD, feed={"off": ["pypi_xmlrpc", "pypi_simple"]})
    pypi, _ = _source(fake, "pypi", world)
    got = pypi.changes({"serial": 1, "server": "x"})
    assert got == Changes(None, None, got.note)
    assert got.note.startswith("pypi: the server has no changelog feed (HTTP 404")


def test_pypi_journal_older_than_the_cursor_falls_back(fake: FakeUpstream) -> None:
    pypi, _ = _source(fake, "pypi", PYPI_WORLD)
    cursor = pypi.changes(None).cursor
    fake.set_world(_moved(PYPI_WORLD, pypi={"quiet": {"versions": ["2.1"]}},
                          feed={"journal_from": 4}))
    got = pypi.changes(cursor)
    assert got.changed is None and "older than the journal" in got.note
    # the cursor moves on to the serial taken first: the next sweep is incremental again
    assert got.cursor["serial"] == 4
    assert pypi.changes(got.cursor).changed == frozenset()


def test_pypi_feed_errors_and_unknown_cursors(fake: FakeUpstream) -> None:
    pypi, _ = _source(fake, "pypi", PYPI_WORLD)
    cursor = pypi.changes(None).cursor
    for bad in ({"serial": 2, "server": "another"}, 7, {"serial": "x"}, {**cursor, "serial": 99}):
        got = pypi.changes(bad)
        assert got.changed is None, bad
        assert got.cursor == cursor, bad
    assert "ahead of the server's serial 3" in pypi.changes({**cursor, "serial": 99}).note
    fake.set_world(dict(PYPI_WORLD, faults=[{"path": "/pypi", "kind": "status", "status": 400}]))
    got = pypi.changes(cursor)
    assert got.changed is None and "failed (HTTP 400" in got.note
    fake.set_world(dict(PYPI_WORLD, faults=[{"path": "/pypi", "kind": "html"}]))
    assert pypi.changes(cursor).changed == frozenset()  # no XML-RPC: the JSON index answers


def test_stale_json_copy_is_transient(fake: FakeUpstream) -> None:
    pypi, checker = _source(fake, "pypi", PYPI_WORLD)
    cursor = pypi.changes(None).cursor
    stale = _moved(PYPI_WORLD, pypi={"quiet": {"versions": ["2.0", "2.1"], "stale": True}})
    fake.set_world(stale)
    assert pypi.changes(cursor).changed == {"quiet"}
    out = checker.check(_pypi_node("quiet", "2.0"))
    assert out.status == TRANSIENT
    assert out.reason == "stale copy of quiet: serial 3 below the feed's 4"
    # a project the feed did not name is not judged; a fresh copy is an answer
    assert checker.check(_pypi_node("Foo_Bar", "1.0")).status == FOUND
    fake.set_world(_moved(stale, pypi={"quiet": {"versions": ["2.0", "2.1"]}}))
    pypi.changes(cursor)
    out = checker.check(_pypi_node("quiet", "2.0"))
    assert (out.status, out.version) == (FOUND, "2.1")


def test_json_api_carries_the_serial(fake: FakeUpstream) -> None:
    fake.set_world(PYPI_WORLD)
    with urllib.request.urlopen(f"{fake.base_url}/pypi/quiet/json") as resp:  # noqa: S310
        assert resp.headers["X-PyPI-Last-Serial"] == "2"
        assert json.loads(resp.read())["last_serial"] == 2


@pytest.mark.parametrize("accept", ["application/vnd.pypi.simple.v1+json"])
def test_pep691_index_shape(fake: FakeUpstream, accept: str) -> None:
    fake.set_world(PYPI_WORLD)
    req = urllib.request.Request(f"{fake.base_url}/simple/", headers={"Accept": accept})
    with urllib.request.urlopen(req) as resp:  # noqa: S310 - loopback
        assert resp.headers["Content-Type"] == accept
        doc = json.loads(resp.read())
    assert doc["meta"] == {"api-version": "1.1", "_last-serial": 3}
    assert doc["projects"][0] == {"name": "Foo_Bar", "_last-serial": 1}


# -- RubyGems ----------------------------------------------------------------------------------

def _gem(number: str, pre: bool = False, **extra: Any) -> dict[str, Any]:
    return {"number": number, "prerelease": pre, **extra}


GEM_WORLD = {"rubygems": {"liquid": [_gem("5.6.1"), _gem("5.6.0", platform="java")],
                          "rake": [_gem("13.0.6")], "net-ssh": [_gem("7.2.0")]}}


def _versions_file(fake: FakeUpstream) -> bytes:
    with urllib.request.urlopen(f"{fake.base_url}/rubygems/versions") as resp:  # noqa: S310
        return resp.read()


def _seen(fake: FakeUpstream, path: str) -> list[dict[str, str]]:
    return [h for h in fake.headers_seen if h["path"] == path]


def test_versions_file_is_the_compact_index_shape(fake: FakeUpstream) -> None:
    fake.set_world(GEM_WORLD)
    lines = _versions_file(fake).decode().splitlines()
    assert lines[0].startswith("created_at: ") and lines[1] == "---"
    name, versions, md5 = lines[2].split(" ")
    assert (name, versions, len(md5)) == ("liquid", "5.6.1,5.6.0-java", 32)


def test_rubygems_feed_reads_only_the_appended_bytes(fake: FakeUpstream) -> None:
    gems, _ = _source(fake, "rubygems", GEM_WORLD)
    first = gems.changes(None)
    size = len(_versions_file(fake))
    assert first.changed is None and "no earlier cursor" in first.note
    assert first.cursor["size"] == size and first.cursor["tail"].endswith("\n")
    assert _seen(fake, "/rubygems/versions")[0]["Range"] == "bytes=-64"
    fake.set_world(_moved(GEM_WORLD, rubygems={"rake": [_gem("13.1.0"), _gem("13.0.6")],
                                               "liquid": [_gem("5.6.1")]}))  # a yank
    got = gems.changes(first.cursor)
    assert got.changed == {"rake", "liquid"}
    asked = _seen(fake, "/rubygems/versions")[-1]
    assert asked["Range"] == f"bytes={size - len(first.cursor['tail'])}-"
    assert asked["If-None-Match"] == first.cursor["etag"]
    assert asked["Accept-Encoding"] == "identity"
    assert got.cursor["size"] == len(_versions_file(fake))
    appended = _versions_file(fake)[size:].decode()
    assert [line.rsplit(" ", 1)[0] for line in appended.splitlines()] == [
        "liquid -5.6.0-java", "rake 13.1.0"]
    node = node_info("rake", node_attrs(
        "rake", "https://rubygems.org/downloads/rake-13.0.6.gem", "13.0.6"))
    assert gems.feed_key(gems.match(node)) == "rake"
    # nothing new: a 304, an empty set, the same cursor
    again = gems.changes(got.cursor)
    assert again == Changes(got.cursor, frozenset())


def test_rubygems_rebuilt_file_starts_over(fake: FakeUpstream) -> None:
    gems, _ = _source(fake, "rubygems", GEM_WORLD)
    world = copy.deepcopy(GEM_WORLD)
    for i in range(5):  # appended lines make the file longer than its rebuild
        world["rubygems"]["rake"].insert(0, _gem(f"14.{i}"))
        fake.set_world(copy.deepcopy(world))
    cursor = gems.changes(None).cursor
    fake.rebuild_versions()
    shorter = gems.changes(cursor)
    assert shorter.changed is None and "HTTP 416" in shorter.note
    assert shorter.cursor["size"] == len(_versions_file(fake))
    # a rebuild that is longer than the cursor: other bytes where the cursor's tail was
    world["rubygems"].update({f"gem{i}": [_gem("1.0")] for i in range(30)})
    fake.set_world(copy.deepcopy(world))
    cursor = gems.changes(shorter.cursor).cursor
    fake.rebuild_versions()
    other = gems.changes(cursor)
    assert other.changed is None and "bytes at the cursor differ" in other.note
    # and from the new cursor on, incremental again
    world["rubygems"]["gem3"] = [_gem("1.1"), _gem("1.0")]
    fake.set_world(copy.deepcopy(world))
    assert gems.changes(other.cursor).changed == {"gem3"}


def test_rubygems_server_without_ranges(fake: FakeUpstream) -> None:
    world = dict(GEM_WORLD, feed={"off": ["rubygems_range"]})
    gems, _ = _source(fake, "rubygems", world)
    cursor = gems.changes(None).cursor
    assert cursor["size"] == len(_versions_file(fake))
    fake.set_world(_moved(world, rubygems={"net-ssh": [_gem("7.3.0"), _gem("7.2.0")]}))
    got = gems.changes(cursor)  # the whole file (a 200), read from the cursor on
    assert got.changed == {"net-ssh"}
    fake.rebuild_versions()
    assert gems.changes(got.cursor).changed is None


def test_rubygems_feed_failures_and_unknown_cursors(fake: FakeUpstream) -> None:
    gems, _ = _source(fake, "rubygems", GEM_WORLD)
    cursor = gems.changes(None).cursor
    for bad in ({**cursor, "server": "another"}, {**cursor, "tail": ""}, "x",
                {**cursor, "size": 3}, {**cursor, "tail": "\u0100\n"}):
        got = gems.changes(bad)
        assert got.changed is None and got.cursor == cursor, bad
        assert "cursor is unknown" in got.note
    fake.set_world(dict(GEM_WORLD, feed={"off": ["rubygems"]}))
    got = gems.changes(cursor)
    assert got == Changes(cursor, None, got.note) and "feed failed (HTTP 404" in got.note
    assert gems.changes(None).cursor is None


def test_rubygems_cursor_stops_before_a_partial_line() -> None:
    from vbot.sources.rubygems import _cursor_of, changed_gems

    data = b"created_at: x\n---\nrake 1.0 abc\nliq"
    cursor = _cursor_of(len(data), data, '"e"', "s")
    assert cursor == {"size": len(data) - 3, "tail": data[:-3].decode()[-64:], "etag": None,
                      "server": "s"}
    assert _cursor_of(3, b"abc", None, "s") is None
    assert changed_gems(data[:-3]) == {"rake"}


# -- MetaCPAN ----------------------------------------------------------------------------------

CPAN_WORLD = {"metacpan": {"Test-Fatal": {"version": "0.016"}, "Moo": {"version": "2.005005"},
                           "Try-Tiny": {"version": "0.31"}}}


def _search(fake: FakeUpstream, query: dict[str, Any]) -> dict[str, Any]:
    req = urllib.request.Request(f"{fake.base_url}/metacpan/v1/release/_search",
                                 json.dumps(query).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as resp:  # noqa: S310 - loopback
        return json.loads(resp.read())


def test_release_search_is_the_elasticsearch_shape(fake: FakeUpstream) -> None:
    fake.set_world(CPAN_WORLD)
    doc = _search(fake, {"query": {"range": {"date": {"gte": "2024-05-04T00:00:00"}}},
                         "size": 10, "_source": ["distribution", "date"]})
    assert doc["hits"]["total"] == 2 and doc["timed_out"] is False
    hit = doc["hits"]["hits"][0]
    assert hit["_source"] == {"distribution": "Try-Tiny", "date": "2024-05-07T12:00:00"}
    assert {"_index", "_id", "_score"} <= hit.keys()


def test_metacpan_feed_names_the_released_distributions(fake: FakeUpstream) -> None:
    cpan, _ = _source(fake, "metacpan", CPAN_WORLD)
    first = cpan.changes(None)
    assert first.changed is None and first.cursor["date"] == "2024-05-07T12:00:00"
    fake.set_world(_moved(CPAN_WORLD, metacpan={"Moo": {"version": "2.005006"}}))
    got = cpan.changes(first.cursor)
    # the releases of the day before the cursor are asked again (indexed late): Try-Tiny
    assert got.changed == {"Moo", "Try-Tiny"}
    assert got.cursor["date"] == "2024-05-09T12:00:00"
    again = cpan.changes(got.cursor)
    assert again.changed == {"Moo"} and again.cursor == got.cursor
    node = node_info("Moo", node_attrs(
        "Moo", "https://cpan.metacpan.org/authors/id/H/HA/HAARG/Moo-2.005005.tar.gz",
        "2.005005"))
    assert cpan.feed_key(cpan.match(node)) == "Moo"


def test_metacpan_release_indexed_late_is_seen(fake: FakeUpstream) -> None:
    cpan, _ = _source(fake, "metacpan", CPAN_WORLD)
    cursor = cpan.changes(None).cursor
    late = {"version": "0.017", "date": "2024-05-07T01:00:00"}  # dated before the cursor
    fake.set_world(_moved(CPAN_WORLD, metacpan={"Test-Fatal": late}))
    got = cpan.changes(cursor)
    assert "Test-Fatal" in got.changed and got.cursor == cursor


def test_metacpan_too_many_releases_and_failures(fake: FakeUpstream) -> None:
    cpan, _ = _source(fake, "metacpan", dict(CPAN_WORLD, feed={"cpan_max": 2}))
    cursor = cpan.changes(None).cursor
    moved = _moved(CPAN_WORLD, metacpan={d: {"version": "9.0"} for d in ("A-B", "C-D", "E-F")})
    fake.set_world(dict(moved, feed={"cpan_max": 2}))
    got = cpan.changes(cursor)
    assert got.changed is None and "more than 2 releases since" in got.note
    assert got.cursor["date"] > cursor["date"]
    for bad in ({**cursor, "server": "another"}, {**cursor, "date": "yesterday"}, 5):
        got = cpan.changes(bad)
        assert got.changed is None and "cursor is unknown" in got.note, bad
    fake.set_world(dict(moved, feed={"off": ["metacpan"]}))
    got = cpan.changes(cursor)
    assert got == Changes(None, None, got.note) and "has no release search (HTTP 404" in got.note
    for fault in ({"kind": "status", "status": 400}, {"kind": "shape"}, {"kind": "html"}):
        fake.set_world(dict(moved, faults=[{"path": "/metacpan/*", **fault}]))
        got = cpan.changes(cursor)
        assert got.changed is None and got.cursor == cursor, fault
        assert got.note.startswith("metacpan: the change feed failed ("), fault


# -- crates.io: no feed, batched lookups -------------------------------------------------------

def _crate_node(name: str, version: str = "0.1.0", **extra: Any) -> Any:
    url = f"https://static.crates.io/crates/{name}/{name}-{version}.crate"
    return node_info(name, node_attrs(name, url, version, **extra))


CRATES_WORLD = {"crates": {
    **{f"c{i}": [{"vers": "0.1.0"}, {"vers": f"1.{i}.0"}, {"vers": "2.0.0-rc.1"}]
       for i in range(150)},
    "yanked-top": [{"vers": "1.0.0"}, {"vers": "1.1.0", "yanked": True}],
    "build-meta": [{"vers": "0.11.0+wasi-snapshot-preview1"}],
    "pre-only": [{"vers": "0.1.0-alpha.1"}],
    "Mixed_Case": [{"vers": "3.0.0"}, {"vers": "10.0.0"}, {"vers": "9.0.0"}],
    "excluded": [{"vers": "1.0.0"}, {"vers": "1.1.0"}],
}}
CRATE_NODES = [_crate_node(n) for n in CRATES_WORLD["crates"]] + [
    _crate_node("missing"),
    _crate_node("excluded", **{"conda-forge.yml": {"bot": {"version_updates": {
        "exclude": ["1.1.0"]}}}})]


def _outcomes(fake: FakeUpstream, world: dict[str, Any], **env: str) -> dict[str, Any]:
    checker = checker_for(fake, world, **env)
    checker.prefetch(CRATE_NODES)
    return {n.name: (o.status, o.version) for n in CRATE_NODES
            for o in [checker.check(n)]}


def _crate_requests(fake: FakeUpstream) -> tuple[int, int]:
    api = sum(v for k, v in fake.requests.items() if k.startswith("/crates-api/"))
    index = sum(v for k, v in fake.requests.items() if k.startswith("/crates/"))
    return api, index


def test_crates_batches_equal_the_sparse_index_answers(fake: FakeUpstream) -> None:
    alone = _outcomes(fake, CRATES_WORLD, VBOT_CRATES_API_URL="")  # batching off
    assert _crate_requests(fake) == (0, len(CRATE_NODES))
    fake.requests.clear()
    batched = _outcomes(fake, CRATES_WORLD)
    assert batched == alone
    assert batched["c7"] == (FOUND, "1.7.0") and batched["Mixed_Case"] == (FOUND, "10.0.0")
    assert batched["yanked-top"] == (FOUND, "1.0.0") and batched["excluded"] == (FOUND, "1.0.0")
    # 153 batchable crates in two requests; the sparse index for the answers the batch
    # cannot give: build metadata, no stable version, unknown, and the node with exclusions
    assert _crate_requests(fake) == (2, 4)


def test_crates_batch_failure_falls_back_per_crate(fake: FakeUpstream) -> None:
    alone = _outcomes(fake, CRATES_WORLD, VBOT_CRATES_API_URL="")
    failing = dict(CRATES_WORLD, faults=[{"path": "/crates-api/*", "kind": "html"}])
    fake.requests.clear()
    assert _outcomes(fake, failing) == alone
    assert _crate_requests(fake) == (2, len(CRATE_NODES))


def test_crates_api_answer_shape(fake: FakeUpstream) -> None:
    fake.set_world(CRATES_WORLD)
    url = f"{fake.base_url}/crates-api/api/v1/crates?ids%5B%5D=c1&ids%5B%5D=yanked-top&per_page=100"
    with urllib.request.urlopen(url) as resp:  # noqa: S310 - loopback
        doc = json.loads(resp.read())
    assert [(c["name"], c["max_stable_version"]) for c in doc["crates"]] == [
        ("c1", "1.1.0"), ("yanked-top", "1.0.0")]
    assert doc["meta"]["total"] == 2 and "updated_at" in doc["crates"][0]


def test_crates_batching_only_against_the_index_it_belongs_to(fake: FakeUpstream) -> None:
    from vbot.config import load_config
    from vbot.sources import Context
    from vbot.sources.crates import Crates

    def api(env: dict[str, str], options: dict[str, Any] | None = None) -> str | None:
        config = load_config(None, None, env=env)
        if options:
            import dataclasses
            from types import MappingProxyType
            config = dataclasses.replace(config, sources=MappingProxyType({"crates": options}))
        return Crates(Context(config=config, http=None)).api_url()  # type: ignore[arg-type]

    assert api({}) == "https://crates.io"
    assert api({"VBOT_CRATES_URL": "http://127.0.0.1:1/crates"}) is None  # another index
    assert api({"VBOT_CRATES_API_URL": "http://127.0.0.1:1/api/"}) == "http://127.0.0.1:1/api"
    assert api({}, {"api_url": "http://127.0.0.1:2"}) == "http://127.0.0.1:2"
    assert api({}, {"api_url": ""}) is None
    assert Crates(Context(config=load_config(None, None, env={}), http=None)).feed_key(  # type: ignore[arg-type]
        "serde") is None


# -- never miss a release: random moves, every changed answer is in the feed -------------------

@pytest.mark.parametrize("seed", range(4))
def test_feeds_name_every_node_whose_answer_changed(fake: FakeUpstream, seed: int) -> None:
    import random

    rnd = random.Random(seed)
    world: dict[str, Any] = {
        "pypi": {f"Py_Proj.{i}": {"versions": ["1.0"]} for i in range(12)},
        "rubygems": {f"gem-{i}": [_gem("1.0")] for i in range(12)},
        "metacpan": {f"Dist-{i}": {"version": "1.0"} for i in range(12)},
    }
    nodes = ([_pypi_node(f"Py_Proj.{i}", "1.0") for i in range(12)]
             + [node_info(f"gem-{i}", node_attrs(
                 f"gem-{i}", f"https://rubygems.org/downloads/gem-{i}-1.0.gem", "1.0"))
                for i in range(12)]
             + [node_info(f"Dist-{i}", node_attrs(f"Dist-{i}", "https://cpan.metacpan.org/"
                                                  f"authors/id/A/AU/AUTHOR/Dist-{i}-1.0.tar.gz",
                                                  "1.0")) for i in range(12)])
    checker = checker_for(fake, world)
    sources = {name: Blocking(checker.target.sources[name])
               for name in ("pypi", "rubygems", "metacpan")}
    cursors = {name: src.changes(None).cursor for name, src in sources.items()}

    def answers() -> dict[str, tuple[str, str | None]]:
        return {n.name: (o.status, o.version) for n in nodes for o in [checker.check(n)]}

    before = answers()
    moved = 0
    for round_ in range(6):
        for i in rnd.sample(range(12), 3):
            world["pypi"][f"Py_Proj.{i}"]["versions"].append(f"2.{round_}")
        for i in rnd.sample(range(12), 3):
            entry = world["rubygems"][f"gem-{i}"]
            if rnd.random() < 0.3 and len(entry) > 1:
                entry.pop(0)  # the newest yanked
            else:
                entry.insert(0, _gem(f"2.{round_}", pre=rnd.random() < 0.3))
        for i in rnd.sample(range(12), 3):
            world["metacpan"][f"Dist-{i}"] = {"version": f"2.{round_}"}
        fake.set_world(copy.deepcopy(world))
        if rnd.random() < 0.3:
            fake.rebuild_versions()
        feeds = {name: src.changes(cursors[name]) for name, src in sources.items()}
        cursors = {name: got.cursor for name, got in feeds.items()}
        after = answers()
        for node in nodes:
            if after[node.name] == before[node.name]:
                continue
            moved += 1
            name = next(n for n in sources if sources[n].match(node) is not None)
            changed, src = feeds[name].changed, sources[name]
            assert changed is None or src.feed_key(src.match(node)) in changed, (round_, node)
        before = after
    assert moved >= 6 * 6  # the test saw answers move (pypi and metacpan move every round)
