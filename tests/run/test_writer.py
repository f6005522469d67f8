"""The writer process of large sweeps: files land, failures come back, nothing is lost."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from vbot.run.writer import FileWriter


def doc(i: int) -> str:
    return json.dumps({"new_version": f"1.{i}"}, indent=2) + "\n"


def test_offloaded_writes_land_atomically(tmp_path: Path) -> None:
    writer = FileWriter(offload=True)
    assert writer.offloaded
    paths = [tmp_path / "versions" / f"{i % 7}" / f"{i % 3}" / f"n{i}.json" for i in range(300)]
    for i, path in enumerate(paths):
        writer.write(path, doc(i), f"n{i}")
    assert writer.close() == {}
    assert [json.loads(p.read_text()) for p in paths] == [{"new_version": f"1.{i}"}
                                                         for i in range(300)]
    assert not list(tmp_path.rglob("*.tmp"))


def test_failures_come_back_by_key(tmp_path: Path) -> None:
    blocker = tmp_path / "versions" / "a"
    blocker.parent.mkdir()
    blocker.write_text("a file where a folder should be")
    writer = FileWriter(offload=True)
    writer.write(tmp_path / "versions" / "ok.json", doc(1), "ok")
    writer.write(blocker / "bad.json", doc(2), "bad")
    failed = writer.close()
    assert list(failed) == ["bad"] and "cannot write" in failed["bad"]
    assert json.loads((tmp_path / "versions" / "ok.json").read_text()) == {"new_version": "1.1"}


def test_a_dead_writer_loses_nothing(tmp_path: Path) -> None:
    writer = FileWriter(offload=True)
    paths = [tmp_path / f"n{i}.json" for i in range(50)]
    for i, path in enumerate(paths[:25]):
        writer.write(path, doc(i), f"n{i}")
    assert writer._proc is not None
    os.kill(writer._proc.pid, signal.SIGKILL)  # the writer dies with work handed to it
    writer._proc.wait(10)
    for i, path in enumerate(paths[25:], start=25):
        writer.write(path, doc(i), f"n{i}")  # later files are written here
    assert writer.close() == {}
    assert [json.loads(p.read_text())["new_version"] for p in paths] == [
        f"1.{i}" for i in range(50)]


def test_a_slow_writer_never_stalls_the_sweep(tmp_path: Path) -> None:
    """More than the pipe holds: files queue here (write() does not wait) and close() writes
    the queued ones itself while the writer finishes its share."""
    writer = FileWriter(offload=True)
    text = json.dumps({"new_version": "1.0", "pad": "x" * 4000}) + "\n"
    paths = [tmp_path / f"d{i % 50}" / f"n{i}.json" for i in range(2000)]  # ~8 MB
    for i, path in enumerate(paths):
        writer.write(path, text, f"n{i}")
    assert writer._queue or writer._chunk, "everything fit in the pipe: the test proves nothing"
    assert writer._handed, "the writer got nothing"
    assert writer.close() == {}
    assert all(p.read_text() == text for p in paths)


def test_in_process_writer(tmp_path: Path) -> None:
    writer = FileWriter(offload=False)
    assert not writer.offloaded
    writer.write(tmp_path / "x" / "n.json", doc(3), "n")
    assert (tmp_path / "x" / "n.json").read_text() == doc(3)
    assert writer.close() == {}


def test_sweep_through_the_writer_reports_a_failed_write(tmp_path, make_remote, fake,
                                                        monkeypatch) -> None:
    """The sweep hands files to the writer process; one that cannot be written becomes an
    invalid node in the report, the others are committed and pushed."""
    from tests.helpers import make_cf_tree, node_attrs, point_env_at
    from vbot.commands import sweep as sweep_command
    from vbot.repo.paths import sharded_relpath

    monkeypatch.setattr(sweep_command, "OFFLOAD_FROM", 1)  # a large sweep, in miniature
    point_env_at(fake, monkeypatch)
    names = [f"pkg{i}" for i in range(6)]
    fake.set_world({"pypi": {n: {"versions": ["1.0", "2.0"]} for n in names}})
    url = "https://pypi.example/packages/source/p/{0}/{0}-1.0.tar.gz"
    tree = make_cf_tree(tmp_path / "tree", {n: node_attrs(n, url.format(n), "1.0") for n in names})
    blocker = tree / sharded_relpath("versions", "pkg3") / "keep"  # a folder where the file goes
    blocker.parent.mkdir(parents=True)
    blocker.write_text("x\n")
    remote = make_remote(tree)
    report = sweep_command.sweep(sweep_command.SweepOptions(
        remote=remote.url, workdir=tmp_path / "work", progress=False))
    assert report.extra["writer"] == "process"
    assert report.outcomes["pkg3"].status == "invalid"
    assert "cannot write" in (report.outcomes["pkg3"].reason or "")
    assert report.files["written"] == 5 and report.counts()["invalid"] == 1
    assert {n: remote.show(sharded_relpath("versions", n)) for n in names if n != "pkg3"} == {
        n: {"new_version": "2.0"} for n in names if n != "pkg3"}
    assert sharded_relpath("versions", "pkg3") + "/keep" in remote.files()
