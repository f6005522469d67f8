"""Property-based tests of the readers of untrusted files: versions files, node documents and
graph.json never fail with anything but VbotError / NodeDocError, and valid documents
round-trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from vbot.commands.sweep import candidates, node_infos
from vbot.errors import VbotError
from vbot.repo import jsonio, schema
from vbot.repo.datarepo import DataRepo, NodeDocError
from vbot.repo.graph import to_node_link
from vbot.repo.paths import contained, sharded_relpath, unsafe_reason
from vbot.run.report import RunReport

SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
           | st.text(max_size=20))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                           max_leaves=20)
names = st.text(min_size=1, max_size=30) | st.text(  # lone surrogates included
    st.characters(codec=None, categories=["Cs", "Ll", "Nd", "Po"]), min_size=1, max_size=8)
safe_names = names.filter(lambda n: unsafe_reason(n) is None)
version_strings = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._+!-]{0,30}\Z")
valid_versions = (st.builds(lambda v: {"new_version": v}, st.none() | version_strings)
                  | st.builds(lambda r: {"bad": "Upstream: " + r}, st.text(max_size=100)))
raw_bytes = (st.binary(max_size=200)
             | json_values.map(lambda v: json.dumps(v).encode())
             | valid_versions.map(lambda v: jsonio.dumps(v).encode())
             | st.integers(1, 5000).map(lambda n: b"[" * n)  # deep nesting
             | st.integers(1, 3000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n))


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("prop")


def repo_with_graph(root: Path, graph: object) -> DataRepo:
    jsonio.atomic_write_text(root / "graph.json", json.dumps(graph))
    return DataRepo.open(root)


@SETTINGS
@given(data=raw_bytes)
def test_json_reader_raises_only_vbot_errors(data: bytes) -> None:
    try:
        jsonio.loads(data, "x.json")
    except VbotError as exc:
        assert str(exc).startswith("x.json: ")


@SETTINGS
@given(name=safe_names, data=raw_bytes)
def test_versions_reader_returns_valid_documents_or_none(root: Path, name: str,
                                                         data: bytes) -> None:
    repo = repo_with_graph(root, {"nodes": [{"id": name}], "links": []})
    path = repo.versions_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    doc = repo.read_versions(name)
    assert doc is None or schema.is_valid("versions", doc)


@SETTINGS
@given(name=safe_names, doc=valid_versions)
def test_valid_versions_documents_round_trip(root: Path, name: str, doc: dict) -> None:
    repo = repo_with_graph(root, {"nodes": [{"id": name}], "links": []})
    path = repo.versions_path(name)
    path.unlink(missing_ok=True)  # a new file is canonical (a changed one keeps its style)
    jsonio.write_if_changed(path, doc)
    assert repo.read_versions(name) == doc
    assert not jsonio.write_if_changed(path, doc)  # no churn
    assert path.read_text("utf-8") == jsonio.dumps(doc)


@SETTINGS
@given(name=safe_names, data=raw_bytes)
def test_node_documents_fail_only_their_node(root: Path, name: str, data: bytes) -> None:
    graph = {"nodes": [{"id": name, "payload": {"__lazy_json__": f"node_attrs/{name}.json"}}]}
    repo = repo_with_graph(root, graph)
    path = root / sharded_relpath("node_attrs", name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    try:
        attrs = repo.node_attrs(name)
    except NodeDocError:
        return
    assert isinstance(attrs, dict)
    report = RunReport("sweep", "t")
    # never raises; the node is checked or reported
    infos = list(node_infos(repo, candidates(repo, None, report), report))
    assert len(infos) + len(report.outcomes) == 1


node_entries = st.fixed_dictionaries(
    {"id": names | json_values},
    optional={"payload": st.fixed_dictionaries({"__lazy_json__": st.text(max_size=30)})
              | json_values})
graphs = (json_values
          | st.fixed_dictionaries({"nodes": st.lists(node_entries, max_size=5)},
                                  optional={"links": st.lists(json_values, max_size=3),
                                            "directed": json_values, "graph": json_values}))


@SETTINGS
@given(graph=graphs)
def test_graph_reader_raises_only_vbot_errors(root: Path, graph: object) -> None:
    try:
        repo = repo_with_graph(root, graph)
    except VbotError as exc:
        assert str(exc).startswith("graph.json")
        return
    report = RunReport("sweep", "t")
    # hostile payloads affect only their nodes
    infos = list(node_infos(repo, candidates(repo, None, report), report))
    assert len(infos) + len(report.outcomes) == repo.graph.number_of_nodes()


@SETTINGS
@given(data=raw_bytes)
def test_graph_reader_on_raw_bytes(root: Path, data: bytes) -> None:
    (root / "graph.json").write_bytes(data)
    try:
        DataRepo.open(root)
    except VbotError as exc:
        assert str(exc).startswith("graph.json")


@SETTINGS
@given(ids=st.lists(safe_names, min_size=1, max_size=8, unique=True))
def test_graphs_round_trip(root: Path, ids: list[str]) -> None:
    graph = {"directed": True, "multigraph": False, "graph": {}, "links": [],
             "nodes": [{"id": n, "payload": {"__lazy_json__": f"node_attrs/{n}.json"}}
                       for n in ids]}
    repo = repo_with_graph(root, graph)
    assert repo.safe_names() == (ids, {})
    assert repo.layout == "cf"
    assert not repo.write_graph()  # nothing changed: nothing written
    assert to_node_link(DataRepo.open(root).graph, graph) == graph


@SETTINGS
@given(name=names)
def test_safe_names_stay_inside_the_repo(root: Path, name: str) -> None:
    if unsafe_reason(name) is None:
        target = contained(root, sharded_relpath("versions", name))
        assert root.resolve() in target.parents


# -- incremental sweeps (issue 17): the same versions trees as full sweeps -----------------

INC_PYPI = ("p0", "p1", "p2")
moves = st.one_of(
    st.tuples(st.sampled_from(["release", "flaky release", "touch", "remove", "only pre",
                               "retarget", "fault"]), st.sampled_from(INC_PYPI)),
    st.tuples(st.just("github"), st.just("o/g0")))
steps = st.lists(st.tuples(st.lists(moves, min_size=1, max_size=3),  # between sweeps
                           st.lists(moves, max_size=2)),  # while the incremental one runs
                 min_size=1, max_size=3)


def _inc_world() -> dict:
    projects = {n: {"versions": ["1.0", "1.1"]} for n in INC_PYPI}
    projects.update({f"q{n}": {"versions": ["1.0", "6.0"]} for n in INC_PYPI})  # retargets
    return {"pypi": projects,
            "github": {"o/g0": {"releases": [{"tag_name": "v2.0", "prerelease": False}],
                                "tags": ["v2.0", "v1.0"]}}}


def _apply(world: dict, gone: dict, move: tuple[str, str], clones: list[Path]) -> None:
    """One upstream move (or a maintainer's edit of a node document, in every clone)."""
    kind, name = move
    if kind == "github":
        entry = world["github"][name]
        tag = f"v{int(entry['tags'][0][1:].split('.')[0]) + 1}.0"
        entry["releases"] = [{"tag_name": tag, "prerelease": False}]
        entry["tags"] = [tag, *entry["tags"]]
    elif kind == "remove":
        if name in world["pypi"]:
            gone[name] = world["pypi"].pop(name)
    elif name not in world["pypi"]:
        world["pypi"][name] = gone.pop(name)  # any other move brings a removed project back
    elif kind in ("release", "flaky release"):  # flaky: its check fails during this step
        versions = world["pypi"][name]["versions"]
        versions.append(f"{len(versions)}.0")
        if kind == "flaky release":
            world.setdefault("faults", []).append(
                {"path": f"/pypi/{name}/*", "kind": "status", "status": 503})
    elif kind == "only pre":  # no stable version: not settled by the feed (pending)
        world["pypi"][name]["versions"] = [f"{len(world['pypi'][name]['versions'])}.0rc1"]
    elif kind == "touch":
        world["pypi"][name]["touched"] = world["pypi"][name].get("touched", 0) + 1
    elif kind == "prerelease":
        world["pypi"][name]["versions"].append(f"{len(world['pypi'][name]['versions'])}.0rc1")
    elif kind == "fault":
        world.setdefault("faults", []).append(
            {"path": f"/pypi/{name}/*", "kind": "status", "status": 503})
    elif kind == "retarget" and clones:  # a maintainer points the recipe at another project
        import git

        for clone in clones:
            rel = clone / sharded_relpath("node_attrs", name)
            attrs = json.loads(rel.read_text())
            project = "q" + name if "/p/p" in attrs["url"] else name
            attrs["url"] = f"https://pypi.example/packages/source/p/{project}/{project}-1.0.tar.gz"
            attrs["meta_yaml"]["source"]["url"] = attrs["url"]
            rel.write_text(json.dumps(attrs))
            repo = git.Repo(clone)
            repo.git.commit("-qam", f"maintainer: {name}")
            repo.git.push("-q", "origin", "HEAD:main")


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(plan=steps)
@example(plan=[([("flaky release", "p0"), ("release", "p1")], [])])  # pending: transient
@example(plan=[([("retarget", "p1")], [("release", "p2")])])  # a document; a move during
@example(plan=[([("only pre", "p0"), ("github", "o/g0")], []), ([("touch", "p1")], [])])
# a release during a sweep, then that node's check fails in the next one: both keep what they
# had, and those differ until a check succeeds (the quiet sweep)
@example(plan=[([("release", "p0")], [("release", "p1")]), ([("flaky release", "p1")], [])])
def test_incremental_sweeps_equal_full_sweeps(tmp_path_factory: pytest.TempPathFactory,
                                              plan: list) -> None:
    """Random worlds moving between and during sweeps: a repo swept incrementally (fresh
    runners, the cursor in the repo) and one swept with --full hold equal versions trees
    after every sweep that no move overlapped (unless a move overlapped an earlier sweep and
    no sweep without failures ran since: a node whose check fails keeps its file, in each
    repo what it was), and after a last quiet sweep."""
    import git

    from tests.helpers import FAST_HTTP, Remote, make_cf_tree, node_attrs
    from vbot.commands.sweep import SweepOptions, sweep
    from vbot.run.incremental import Incremental
    from vbot.testing.fakeupstream import FakeUpstream

    tmp = tmp_path_factory.mktemp("incr")
    nodes = {n: node_attrs(n, f"https://pypi.example/packages/source/p/{n}/{n}-1.0.tar.gz",
                           "1.0") for n in INC_PYPI}
    nodes["g0"] = node_attrs("g0", "https://github.com/o/g0/archive/v1.0.tar.gz", "1.0")
    tree = make_cf_tree(tmp / "tree", nodes)
    (tree / "vbot.toml").write_text(FAST_HTTP)
    remotes = [Remote(tree, tmp / kind) for kind in ("incr", "full")]
    clones = [Path(git.Repo.clone_from(r.url, tmp / f"maint-{i}").working_dir)
              for i, r in enumerate(remotes)]
    world, gone = _inc_world(), {}
    runs = iter(range(1000))
    original = Incremental.ask_feeds

    with FakeUpstream(world) as fake:
        def run(remote: Remote, full: bool, during: list | None = None) -> None:
            def ask_then_move(self: Incremental, infos: list) -> None:
                original(self, infos)
                for move in during or ():
                    _apply(world, gone, move, [])
                fake.set_world(world)

            Incremental.ask_feeds = ask_then_move  # type: ignore[method-assign]
            try:
                sweep(SweepOptions(remote=remote.url, workdir=tmp / f"w{next(runs)}",
                                   progress=False, http_cache=False, full=full, today=20000,
                                   env={**fake.env(), "VBOT_HTTP_RETRIES": "0"}))
            finally:
                Incremental.ask_feeds = original  # type: ignore[method-assign]

        def trees() -> list[str]:
            return [r.repo.commit("main").tree["versions"].hexsha for r in remotes]

        run(remotes[0], False)
        run(remotes[1], True)
        apart = False  # a move overlapped a sweep, and no sweep without failures ran since
        for between, during in plan:
            world.pop("faults", None)
            for clone in clones:
                git.Repo(clone).git.pull("-q", "--rebase", "origin", "main")
            for move in between:
                _apply(world, gone, move, clones)
            fake.set_world(world)
            run(remotes[0], False, during)
            run(remotes[1], True)
            failing = any(kind in ("flaky release", "fault") for kind, _ in between)
            apart = bool(during) or (apart and failing)
            if not apart:
                assert trees()[0] == trees()[1], plan
        world.pop("faults", None)
        fake.set_world(world)
        run(remotes[0], False)  # quiet: what moved during a sweep is checked now
        run(remotes[1], True)
        assert trees()[0] == trees()[1], plan
