"""``vbot history``: a node's timeline from one git log call, in cf and inline layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import three_sweeps
from vbot.commands.history import history
from vbot.errors import VbotError
from vbot.main import main


def _timeline(entries):
    return [(e.file, e.run_id, e.old, e.new) for e in entries]


@pytest.mark.parametrize("layout", ["cf", "inline"])
def test_history_of_a_node(tmp_path: Path, make_remote, fake, monkeypatch, layout) -> None:
    s = three_sweeps(tmp_path, make_remote, fake, monkeypatch, layout)
    sweep1, merge1, sweep2, sweep3, merge2 = s.runs
    clone = s.clone(tmp_path / "clone")
    got = _timeline(history(clone, "requests"))
    assert got == [
        ("new_version", merge2, "2.32.3", "2.34.0"),
        ("versions", sweep3, {"new_version": "2.33.0"}, {"new_version": "2.34.0"}),
        ("versions", sweep2, {"new_version": "2.32.3"}, {"new_version": "2.33.0"}),
        ("new_version", merge1, None, "2.32.3"),
        ("versions", sweep1, None, {"new_version": "2.32.3"}),
    ]
    attrs = _timeline(history(clone, "attrs"))
    assert attrs[0][:2] == ("versions", sweep3)
    assert attrs[0][3] == {"bad": attrs[0][3]["bad"]} and "pypi" in attrs[0][3]["bad"]
    # a node that never changed has an empty timeline; an unknown one is an error
    assert history(clone, "old") == []
    with pytest.raises(VbotError, match="not a node"):
        history(clone, "nope")


def test_history_cli_table_and_json(tmp_path: Path, make_remote, fake, monkeypatch,
                                    capsys) -> None:
    s = three_sweeps(tmp_path, make_remote, fake, monkeypatch)
    clone = s.clone(tmp_path / "clone")
    assert main(["history", "black", "--repo", str(clone)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["date", "commit", "run", "file", "change"]
    assert len(out) == 1 + 4
    assert out[1].split()[-3:] == ["25.1.0", "->", "26.1.0"] and s.runs[4] in out[1]
    assert out[-1].split()[-3:] == ["(absent)", "->", "25.1.0"] and s.runs[0] in out[-1]

    monkeypatch.chdir(clone)
    assert main(["history", "flaky", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    # sweep2 hit a transient error: the earlier result was kept, so no entry for it
    assert [(d["file"], d["run_id"], d["new"]) for d in data] == [
        ("new_version", s.runs[1], "1.2"), ("versions", s.runs[0], {"new_version": "1.2"})]
    assert all(len(d["commit"]) == 40 and d["date"][:2] == "20" for d in data)
