"""The files in schemas/ alone decide validity: compiled once, recompiled when edited."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import make_cf_tree, node_attrs, write_json
from vbot.errors import VbotError
from vbot.main import main
from vbot.repo import schema
from vbot.repo.datarepo import DataRepo
from vbot.repo.paths import sharded_relpath
from vbot.shipped import resource_dir

URL = "https://pypi.example/packages/source/a/alpha/alpha-1.0.tar.gz"
NAMES = ("versions", "new_version", "graph")


@pytest.fixture
def schemas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the installed schemas, installed in their place for this test."""
    copy = tmp_path / "schemas"
    shutil.copytree(resource_dir("schemas"), copy)
    monkeypatch.setattr(schema, "schema_dir", lambda: copy)
    return copy


def _edit(path: Path, change) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, indent=2) + "\n")


def test_a_constraint_added_to_the_schema_takes_effect_at_once(
        schemas: Path, tmp_path: Path, capsys) -> None:
    root = make_cf_tree(tmp_path / "repo", {"alpha": node_attrs("alpha", URL, "1.0")})
    write_json(root / sharded_relpath("versions", "alpha"), {"new_version": "1.10"})
    assert main(["validate", str(root)]) == 0
    assert schema.is_valid("versions", {"new_version": "1.10"})
    assert DataRepo.open(root).read_versions("alpha") == {"new_version": "1.10"}
    capsys.readouterr()

    # the same process, the compiled validators and their verdicts warm: the schema changes
    versions = schemas / "versions.schema.json"
    _edit(versions, lambda d: d["oneOf"][0]["properties"]["new_version"]["oneOf"][0].update(
        maxLength=3))
    assert main(["validate", str(root)]) == 1
    out = capsys.readouterr().out
    assert out == (f"{root.as_posix()}/{sharded_relpath('versions', 'alpha')}: "
                   "new_version: '1.10' is too long\n")
    assert not schema.is_valid("versions", {"new_version": "1.10"})
    assert schema.is_valid("versions", {"new_version": "1.1"})
    assert DataRepo.open(root).read_versions("alpha") is None  # sweep/merge see it too

    # and a constraint on graph.json
    assert main(["validate", str(root)]) == 1
    _edit(schemas / "graph.schema.json",
          lambda d: d["properties"]["nodes"].update(minItems=2))
    with pytest.raises(VbotError, match=r"^graph.json: not node-link graph data: nodes: "):
        DataRepo.open(root)

    # taken back: valid again
    shutil.copy(resource_dir("schemas") / "versions.schema.json", versions)
    shutil.copy(resource_dir("schemas") / "graph.schema.json", schemas / "graph.schema.json")
    capsys.readouterr()
    assert main(["validate", str(root)]) == 0
    assert schema.is_valid("versions", {"new_version": "1.10"})


def test_validators_are_compiled_once_per_schema_file(schemas: Path) -> None:
    first = schema.load("versions")
    assert schema.load("versions") is first
    assert schema.validator("versions") is first.validator
    assert schema.load("new_version") is not first


def test_a_broken_schema_is_a_clear_error(schemas: Path) -> None:
    (schemas / "versions.schema.json").write_text('{"type": 12}')
    with pytest.raises(VbotError, match=r"versions.schema.json: not a usable JSON Schema: 12"):
        schema.is_valid("versions", {"new_version": "1"})
    (schemas / "versions.schema.json").unlink()
    with pytest.raises(VbotError, match=r"versions.schema.json: cannot read the schema"):
        schema.problems("versions", {"new_version": "1"})


@pytest.mark.parametrize(("name", "doc", "expected"), [
    ("versions", {"new_version": 12}, ["new_version: 12 is not a string or a null"]),
    ("versions", {"new_version": "1.0", "x": 1},
     ["Additional properties are not allowed ('x' was unexpected)"]),
    ("versions", {"bad": "oops"}, ["bad: 'oops' does not match '^Upstream: '"]),
    ("versions", [], ["[] is not an object with 'new_version' or an object with 'bad'"]),
    ("new_version", "-1", ["'-1' does not match '^[A-Za-z0-9][A-Za-z0-9._+!-]*$'"]),
    ("graph", {"nodes": [{"id": "a"}, {"id": 5}]}, ["nodes/1/id: 5 is not of type 'string'"]),
    ("versions", {"new_version": None}, []),
])
def test_problems_are_path_and_message(name: str, doc: object, expected: list[str]) -> None:
    assert schema.problems(name, doc) == expected
    assert schema.is_valid(name, doc) is (not expected)


# documents near the schemas' edges, with the values Python confuses (True == 1 == 1.0)
tricky = (st.none() | st.booleans() | st.integers(-2, 2) | st.floats(-2, 2)
          | st.sampled_from(["", "1", "1.0", "v1", "-1", "a" * 201, "Upstream: x", "Upstream:"])
          | st.text(max_size=12))
small_docs = tricky | st.dictionaries(
    st.sampled_from(["new_version", "bad", "id", "nodes", "x"]),
    tricky | st.lists(st.fixed_dictionaries({"id": tricky}), max_size=2), max_size=3)


@settings(max_examples=300, deadline=None)
@given(docs=st.lists(small_docs, min_size=1, max_size=6))
def test_every_verdict_is_jsonschemas(docs: list[object]) -> None:
    """Remembered verdicts (per compiled schema) are always what a fresh validator says."""
    for name in NAMES:
        fresh_doc = json.loads((resource_dir("schemas") / f"{name}.schema.json").read_text())
        fresh = jsonschema.validators.validator_for(fresh_doc)(fresh_doc)
        for doc in docs + docs:  # asked twice: the second answer may be a remembered one
            assert schema.is_valid(name, doc) is fresh.is_valid(doc), (name, doc)
            assert (schema.problems(name, doc) == []) is fresh.is_valid(doc), (name, doc)
