"""Run reports (``--report FILE``) of sweep and merge, and the summary printed at the end."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import FAST_HTTP, NODES, PYPI, make_cf_tree, node_attrs, point_env_at, world2
from vbot.main import main

EXTRA = {
    "pre": node_attrs("pre", PYPI.format("p", "pre", "1.0"), "1.0"),  # only an rc upstream
    "nosrc": node_attrs("nosrc", "https://downloads.example/nosrc/latest.tar.gz", "1.0"),
    "bad..name": node_attrs("bad..name", PYPI.format("b", "bad", "1.0"), "1.0"),
}


def _world() -> dict:
    world = world2()
    world["pypi"]["pre"] = {"versions": ["2.0rc1"]}
    return world


def test_sweep_and_merge_reports(tmp_path: Path, make_remote, fake, monkeypatch,
                                 capsys) -> None:
    tree = make_cf_tree(tmp_path / "tree", {**NODES, **EXTRA})
    (tree / "vbot.toml").write_text(FAST_HTTP)
    remote = make_remote(tree)
    fake.set_world(_world())
    point_env_at(fake, monkeypatch)
    report_file = tmp_path / "reports" / "sweep.json"
    assert main(["sweep", remote.url, "--workdir", str(tmp_path / "w"), "-q",
                 "--report", str(report_file)]) == 0
    data = json.loads(report_file.read_text())
    assert data["command"] == "sweep" and data["run_id"].startswith("sweep-")
    assert data["counts"] == {
        "checked": 7, "new": 7, "unchanged": 0, "errors": 3, "found": 3, "none": 1,
        "no_source": 1, "bad": 1, "transient": 1, "rate_limited": 0, "skipped": 1,
        "invalid": 1, "internal": 0}
    assert data["by_source"] == {"(none)": {"nosource": 1}, "github": {"found": 1,
                                 "transient": 1}, "pypi": {"bad": 1, "found": 2, "none": 1}}
    assert set(data["durations"]) >= {"clone", "load", "check", "commit", "push", "total"}
    assert all(isinstance(v, float) and v >= 0 for v in data["durations"].values())
    assert data["durations"]["total"] >= data["durations"]["check"]
    failures = {f["node"]: f for f in data["failures"]}
    assert set(failures) == {"'bad..name'", "flaky", "gone"}
    assert failures["gone"]["status"] == "bad" and failures["gone"]["source"] == "pypi"
    assert failures["gone"]["reason"].startswith("HTTP 404 from ")
    assert failures["flaky"]["status"] == "transient"
    assert "HTTP 503" in failures["flaky"]["reason"]
    assert failures["'bad..name'"] == {"node": "'bad..name'", "status": "invalid",
                                       "reason": "node name contains '..'"}
    assert data["pushed"] is True and len(data["commit"]) == 40

    # the summary table printed at the end of the run
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (f"sweep {data['run_id']}: 7 checked, 7 new, 0 unchanged, 3 errors, "
                      "1 skipped, 1 no source")
    assert out[1] == f"  commit {data['commit'][:12]}, pushed"
    assert out[2].split() == ["source", "bad", "found", "none", "nosource", "transient"]
    assert out[3].split() == ["(none)", "0", "0", "0", "1", "0"]
    assert out[4].split() == ["github", "0", "1", "0", "0", "1"]
    assert out[5].split() == ["pypi", "1", "2", "1", "0", "0"]
    assert out[6].startswith("  took ") and "check " in out[6]
    assert [line.split(":")[0] for line in out[7:10]] == ["  ! 'bad..name'", "  ! flaky",
                                                          "  ! gone"]
    # then the incremental sweep's lines (vbot/run/incremental.py): per source, the cursor
    assert out[10].startswith("  incremental: 0 skipped (unchanged upstream), 7 checked")
    assert any(line.startswith("    pypi: 0 skipped, 4 checked (4 no cursor); cursor none -> ")
               for line in out[11:])

    merge_file = tmp_path / "reports" / "merge.json"
    assert main(["merge", remote.url, "--workdir", str(tmp_path / "w"), "-q",
                 "--report", str(merge_file)]) == 0
    merged = json.loads(merge_file.read_text())
    assert merged["command"] == "merge" and merged["merged"] == 3
    assert merged["counts"]["found"] == 3 and merged["counts"]["new"] == 3
    assert merged["counts"]["bad"] == 2 and merged["counts"]["none"] == 2
    assert {f["node"]: (f["status"], f.get("source")) for f in merged["failures"]} == {
        "flaky": ("bad", "github"), "gone": ("bad", "pypi")}
    assert merged["by_source"]["pypi"] == {"bad": 1}
    assert set(merged["durations"]) >= {"clone", "load", "merge", "commit", "total"}
    assert merged["listed"]["bad"] and merged["listed"]["null"]
    out = capsys.readouterr().out
    assert out.startswith(f"merge {merged['run_id']}: 3 new_version updates, 0 unchanged")
    lines = out.splitlines()
    assert lines[1].split() == ["source", "bad", "found", "none"]
    assert lines[2].split() == ["(none)", "0", "3", "2"]
    assert lines[3].split() == ["github", "1", "0", "0"]
    assert lines[4].split() == ["pypi", "1", "0", "0"]
    assert lines[5].startswith("  took ")
    assert "not merged (bad): 2" in out
