"""``vbot status --html``: a self-contained page with the expected figures."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.helpers import make_cf_tree, node_attrs, three_sweeps, write_json
from vbot.commands.status import collect
from vbot.main import main
from vbot.repo.paths import sharded_relpath


def _cards(page: str) -> dict[str, int]:
    return {k: int(v) for v, k in re.findall(r'<div class="card" id="card-[a-z]+"><b[^>]*>(\d+)'
                                             r"</b>([a-z]+)</div>", page)}


def test_status_page_figures(tmp_path: Path, make_remote, fake, monkeypatch, capsys) -> None:
    s = three_sweeps(tmp_path, make_remote, fake, monkeypatch)
    sweep1, merge1, sweep2, sweep3, merge2 = s.runs
    out = tmp_path / "site" / "index.html"
    # straight from the bare remote (cloned into a workdir)
    assert main(["status", str(s.bare), "--html", str(out), "--workdir",
                 str(tmp_path / "st")]) == 0
    summary = capsys.readouterr().out
    assert not (tmp_path / "st").exists()  # a bare repo is read in place, not cloned
    assert summary.startswith("6 nodes, 4 outdated, 2 failing (pypi 2), 3 sweeps; wrote ")
    page = out.read_text()

    # outdated: merged new_version above version (conda order); gone/attrs are bad, old archived
    assert _cards(page) == {"nodes": 6, "outdated": 4, "failing": 2, "sweeps": 3, "merges": 2,
                            "reverts": 0}
    rows = re.findall(r'<tr><td>([^<]+)</td><td>([^<]+)</td><td class="new">([^<]+)</td>', page)
    assert sorted(rows) == [("attrs", "23.1.0", "24.2.0"), ("black", "24.1.0", "26.1.0"),
                            ("flaky", "1.0", "1.2"), ("requests", "2.31.0", "2.34.0")]

    # failures by source with the affected nodes and reasons
    sources = re.findall(r'<tr class="source" data-source="([^"]+)"><td>[^<]+</td>'
                         r'<td class="n">(\d+)</td>', page)
    assert sources == [("pypi", "2")]
    assert "<li><b>attrs</b>: HTTP 404 from" in page and "<li><b>gone</b>: HTTP 404" in page

    # sweep history: table (newest first) and one pair of bars per sweep
    sweeps = re.findall(r'<tr class="sweep"><td>[^<]+</td><td>([^<]+)</td><td class="n">(\d+)'
                        r'</td><td class="n">(\d+)</td><td class="n">(\d+)</td>'
                        r'<td class="n">(\d+)</td>', page)
    # sweep2 is incremental: attrs (unchanged on PyPI's feed, settled) is not asked
    assert sweeps == [(sweep3, "5", "3", "2", "2"), (sweep2, "4", "1", "3", "2"),
                      (sweep1, "5", "5", "0", "1")]
    bars = re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)" '
                      r'fill="(#[0-9a-f]+)"><title>[^<]*?(sweep-[^:]+): (\d+) (new|errors)', page)
    assert [(r, int(n), kind) for _, _, r, n, kind in bars] == [
        (sweep1, 5, "new"), (sweep1, 1, "errors"), (sweep2, 1, "new"), (sweep2, 2, "errors"),
        (sweep3, 3, "new"), (sweep3, 2, "errors")]
    heights = {(r, kind): float(h) for h, _, r, _, kind in bars}
    assert heights[(sweep1, "new")] == max(heights.values()) > 0
    assert heights[(sweep2, "errors")] == 2 * heights[(sweep2, "new")]

    # self-contained: no scripts, no links, no external references
    assert "<svg" in page and "<style>" in page
    assert not re.search(r"<script|<link|<img|src=|href=|@import|url\(", page)


def test_status_from_a_clone_after_revert(tmp_path: Path, make_remote, fake, monkeypatch,
                                          capsys) -> None:
    s = three_sweeps(tmp_path, make_remote, fake, monkeypatch, layout="inline")
    assert main(["revert", s.runs[4], s.url, "--workdir", str(tmp_path / "rw")]) == 0
    capsys.readouterr()
    clone = s.clone(tmp_path / "clone")
    data = collect(clone)
    assert data.layout == "inline" and data.reverts == 1 and data.merges == 2
    # merge2 reverted: the merged values of merge1 are back
    assert sorted(data.outdated) == [("attrs", "23.1.0", "24.2.0"), ("black", "24.1.0", "25.1.0"),
                                     ("flaky", "1.0", "1.2"), ("requests", "2.31.0", "2.32.3")]
    assert [p.new for p in data.sweeps] == [5, 1, 3]
    # a URL is cloned into the workdir first; the figures are the same
    assert main(["status", s.url, "--html", str(tmp_path / "u.html"), "--workdir",
                 str(tmp_path / "st")]) == 0
    assert (tmp_path / "st" / ".git").is_dir()
    assert capsys.readouterr().out.startswith(
        "6 nodes, 4 outdated, 2 failing (pypi 2), 3 sweeps; wrote ")
    monkeypatch.chdir(clone)
    assert main(["status", "--html", "page.html"]) == 0
    assert "wrote page.html" in capsys.readouterr().out
    assert (clone / "page.html").read_text().startswith("<!DOCTYPE html>")


def test_outdated_nodes_show_and_sort_by_dependents(tmp_path: Path, make_remote,
                                                    capsys) -> None:
    url = "https://pypi.example/packages/source/x/x/x-1.0.tar.gz"
    nodes = {n: node_attrs(n, url, "1.0") for n in ("base", "mid", "app", "tool", "lib", "new")}
    tree = make_cf_tree(tmp_path / "tree", nodes)
    graph = json.loads((tree / "graph.json").read_text())
    # base <- mid <- app, base <- lib, tool alone; "new" is up to date but depends on base
    graph["links"] = [{"source": s, "target": t} for s, t in (
        ("base", "mid"), ("mid", "app"), ("base", "lib"), ("base", "new"), ("mid", "new"))]
    write_json(tree / "graph.json", graph)
    for name in ("app", "tool", "lib", "mid", "base"):
        write_json(tree / sharded_relpath("version_pr_info", name), {"new_version": "2.0"})
    write_json(tree / sharded_relpath("version_pr_info", "new"), {"new_version": "1.0"})
    remote = make_remote(tree)
    out = tmp_path / "index.html"
    assert main(["status", str(remote.path), "--html", str(out)]) == 0
    assert capsys.readouterr().out.startswith("6 nodes, 5 outdated")
    page = out.read_text()
    assert "<th>new_version</th><th" in page and ">dependents</th></tr>" in page
    rows = re.findall(r'<tr><td>([^<]+)</td><td>[^<]+</td><td class="new">[^<]+</td>'
                      r'<td class="n dependents">(\d+)</td></tr>', page)
    # most depended-on first, ties by name
    assert rows == [("base", "4"), ("mid", "2"), ("app", "0"), ("lib", "0"), ("tool", "0")]
    data = collect(remote.path)
    assert [n for n, _, _ in data.outdated] == ["base", "mid", "app", "lib", "tool"]
    assert data.dependents == {"base": 4, "mid": 2, "app": 0, "lib": 0, "tool": 0}


def test_archived_nodes_are_not_outdated_and_one_sweep_is_singular(
        tmp_path: Path, make_remote, capsys) -> None:
    url = "https://pypi.example/packages/source/x/x/x-1.0.tar.gz"
    nodes = {"live": node_attrs("live", url, "1.0"),
             "gone": node_attrs("gone", url, "1.0", archived=True)}
    tree = make_cf_tree(tmp_path / "tree", nodes)
    for name in nodes:  # both have a newer version merged
        write_json(tree / sharded_relpath("version_pr_info", name), {"new_version": "2.0"})
    remote = make_remote(tree)
    sha = remote.repo.git.commit_tree("main^{tree}", "-p", "main", "-m",
                                      "vbot sweep: 1 checked, 1 new, 0 unchanged, 0 errors\n\n"
                                      "Vbot-Run: sweep-20261122T041500Z-3f9a1c")
    remote.repo.git.update_ref("refs/heads/main", sha)  # one sweep in the history
    out = tmp_path / "index.html"
    assert main(["status", str(remote.path), "--html", str(out)]) == 0
    assert capsys.readouterr().out.startswith("2 nodes, 1 outdated, 0 failing (none), 1 sweep;")
    page = out.read_text()
    assert [n for n, _, _ in collect(remote.path).outdated] == ["live"]
    assert "(1 sweep)" in page and "1 sweeps" not in page


def test_a_truncated_graph_is_named_with_line_and_column(tmp_path: Path, make_remote,
                                                         capsys) -> None:
    tree = make_cf_tree(tmp_path / "tree", {"a": node_attrs("a", "https://x.example/a", "1")})
    text = (tree / "graph.json").read_text()
    (tree / "graph.json").write_text(text[: len(text) // 2])
    remote = make_remote(tree)
    assert main(["status", str(remote.path), "--html", str(tmp_path / "i.html")]) == 1
    err = capsys.readouterr().err
    assert re.fullmatch(r"vbot: error: \S+: graph\.json: invalid JSON at line \d+ column \d+: "
                        r".+\n", err), err
    assert not (tmp_path / "i.html").exists()
