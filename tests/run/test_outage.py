"""A source-wide failure (wrong base URL, outage, captive portal) keeps every earlier result
of the source and makes the sweep exit 1; a few real failures among good answers are still
recorded as ``bad``. Real git remotes, the loopback fake upstream, ``vbot sweep`` run
through ``vbot.main``."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import FAST_HTTP, PYPI, make_cf_tree, node_attrs, point_env_at
from vbot.check.outcome import BAD, FOUND, TRANSIENT, Outcome
from vbot.main import main
from vbot.repo.paths import sharded_relpath
from vbot.run.outage import OutageGuard, kind_of

NAMES = [f"pkg{i}" for i in range(8)]
WORLD: dict[str, Any] = {
    "pypi": {n: {"versions": ["1.0", "1.2.0"]} for n in NAMES},
    "github": {"psf/black": {"releases": [{"tag_name": "25.1.0", "prerelease": False}],
                             "tags": ["25.1.0", "24.1.0"]}},
}


def _tree(root: Path) -> Path:
    nodes = {n: node_attrs(n, PYPI.format("p", n, "1.0"), "1.0") for n in NAMES}
    nodes["black"] = node_attrs("black", "https://github.com/psf/black/archive/refs/tags/"
                                "24.1.0.tar.gz", "24.1.0")
    make_cf_tree(root, nodes)
    (root / "vbot.toml").write_text(FAST_HTTP)
    return root


def _sweep(remote: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["sweep", remote.url, "--workdir", str(tmp_path / "work"), "-q"])
    got = capsys.readouterr()
    return code, got.out + got.err


def _pypi_docs(remote: Any) -> dict[str, Any]:
    return {n: remote.show(sharded_relpath("versions", n)) for n in NAMES}


@pytest.fixture
def swept(tmp_path: Path, make_remote: Any, fake: Any, monkeypatch: pytest.MonkeyPatch,
          capsys: pytest.CaptureFixture[str]) -> Any:
    """A remote whose first sweep found 1.2.0 for every PyPI node."""
    remote = make_remote(_tree(tmp_path / "tree"))
    fake.set_world(WORLD)
    point_env_at(fake, monkeypatch)
    assert _sweep(remote, tmp_path, capsys)[0] == 0
    assert set(map(str, _pypi_docs(remote).values())) == {"{'new_version': '1.2.0'}"}
    return remote


def _newer_black() -> dict[str, Any]:
    world = copy.deepcopy(WORLD)
    world["github"]["psf/black"]["releases"] = [{"tag_name": "26.1.0", "prerelease": False}]
    return world


def test_a_wrong_base_url_keeps_every_result_and_exits_1(
        swept: Any, tmp_path: Path, fake: Any, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    fake.set_world(_newer_black())
    # one path segment too many: every PyPI node answers 404
    # (with credentials in the URL: never shown)
    monkeypatch.setenv("VBOT_PYPI_URL", fake.base_url.replace("://", "://me:s3cr3t@") + "/simple")
    code, text = _sweep(swept, tmp_path, capsys)
    assert code == 1
    assert set(map(str, _pypi_docs(swept).values())) == {"{'new_version': '1.2.0'}"}
    # the rest of the sweep is committed and pushed
    assert swept.show(sharded_relpath("versions", "black")) == {"new_version": "26.1.0"}
    assert "1 new" in swept.commits()[0].message
    assert "pypi: 8 of 8 nodes failed with HTTP 404" in text
    assert "VBOT_PYPI_URL or [sources.pypi] url" in text
    sample = fake.base_url.replace("://", "://***@") + "/simple/pypi/"
    assert f"(e.g. {sample}" in text  # a sample URL, redacted
    assert "s3cr3t" not in text
    assert "Traceback" not in text
    # the outage line stands for its nodes: no line per failed node of the source
    assert "! pkg0:" not in text and "failed node" not in text
    assert "8 failures of pypi kept (the outage above" in text


def test_html_for_everything_is_an_outage_too(
        swept: Any, tmp_path: Path, fake: Any, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    world = _newer_black()
    # a captive portal, in front of the change feed too (XML-RPC and the simple index)
    world["faults"] = [{"path": p, "kind": "html"} for p in ("/pypi*", "/simple*")]
    fake.set_world(world)
    code, text = _sweep(swept, tmp_path, capsys)
    assert code == 1
    assert set(map(str, _pypi_docs(swept).values())) == {"{'new_version': '1.2.0'}"}
    assert "pypi: 8 of 8 nodes failed with an HTML page instead of JSON" in text


def test_a_few_real_404s_among_good_answers_are_still_bad(
        swept: Any, tmp_path: Path, fake: Any,
        capsys: pytest.CaptureFixture[str]) -> None:
    world = _newer_black()
    del world["pypi"]["pkg0"], world["pypi"]["pkg1"]  # 2 of 8 gone: real answers
    fake.set_world(world)
    code, text = _sweep(swept, tmp_path, capsys)
    assert code == 0, text
    docs = _pypi_docs(swept)
    assert "HTTP 404" in docs["pkg0"]["bad"] and "HTTP 404" in docs["pkg1"]["bad"]
    assert docs["pkg2"] == {"new_version": "1.2.0"}
    assert "outage" not in text


def test_the_thresholds() -> None:
    def run(statuses: list[tuple[Any, str | None]]) -> OutageGuard:
        guard = OutageGuard(min_nodes=5, share=0.8)
        for i, (status, reason) in enumerate(statuses):
            guard.hold(Outcome(f"n{i}", status, source="npm", reason=reason,
                               version="1" if status == FOUND else None))
        return guard

    e404 = (BAD, "HTTP 404 from http://127.0.0.1:1/npm/x")
    assert not run([e404] * 4).settle()  # too few nodes to judge
    assert run([e404] * 5).settle()[0].kind == "HTTP 404"
    assert run([e404] * 8 + [(FOUND, None)] * 2).settle()  # 80 %
    assert not run([e404] * 7 + [(FOUND, None)] * 3).settle()  # 70 %
    mixed = [e404] * 4 + [(BAD, "an HTML page instead of JSON from http://h/x")] * 4
    assert not run(mixed).settle()  # failing, but not the same way
    late = [(TRANSIENT, "sweep deadline reached before http://h/x answered")] * 9
    assert not run(late).settle()  # our --deadline, not the upstream
    guard = run([e404] * 3 + [(FOUND, None)] * 7)
    assert len(list(guard.release())) == 3 and not list(guard.kept())


def test_kinds() -> None:
    assert kind_of("HTTP 404 from https://h.example/a") == kind_of("HTTP 404 from http://x/b")
    assert kind_of("connection failed (refused) from http://h/x after 4 attempts") == \
        "connection failed"
    assert kind_of("no release of 'a' 12") == kind_of("no release of 'b' 3")
