"""The command line's promises: every path or OS error is one line and exit 1 before any
work, SIGTERM is handled like Ctrl-C (a message, exit 130), a local clone with a work tree
is refused as a push target before any work, and the exit codes are in ``--help``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import SMOKE_NODES, SMOKE_WORLD, make_cf_tree, point_env_at
from vbot.commands.sweep import SweepOptions, sweep
from vbot.main import _sweep_exit, main

ROOT = Path(__file__).resolve().parents[1]
LINUX = pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc and /sys")


@pytest.fixture
def remote(tmp_path: Path, make_remote: Any, fake: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    fake.set_world(SMOKE_WORLD)
    point_env_at(fake, monkeypatch)
    return make_remote(make_cf_tree(tmp_path / "tree", SMOKE_NODES))


def _one_line_error(code: int, capsys: pytest.CaptureFixture[str], *words: str) -> str:
    err = capsys.readouterr().err
    assert code == 1, err
    assert err.startswith("vbot: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in err, err
    return err


@LINUX
@pytest.mark.parametrize("extra, words", [
    (["--workdir", "/sys/vbot-x"], ["--workdir /sys/vbot-x", "cannot create it in /sys"]),
    (["--cache-dir", "/proc/vbot-x"], ["--cache-dir", "/proc/vbot-x"]),
    (["--report", "/proc/vbot-x/r.json"], ["--report /proc/vbot-x/r.json"]),
])
def test_sweep_paths_fail_before_any_work(remote: Any, tmp_path: Path, extra: list[str],
                                          words: list[str], fake: Any,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    args = ["sweep", remote.url, "-q", *extra]
    if "--workdir" not in extra:
        args += ["--workdir", str(tmp_path / "work")]
    _one_line_error(main(args), capsys, *words)
    assert not (tmp_path / "work").exists()  # not even cloned
    assert fake.total_requests == 0 and len(remote.commits()) == 1


def test_a_workdir_on_a_file_fails_before_any_work(remote: Any, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    _one_line_error(main(["merge", remote.url, "--workdir", str(afile)]), capsys, "not a folder")
    _one_line_error(main(["sweep", remote.url, "--workdir", str(afile / "sub")]), capsys,
                    f"({afile} is a file)")
    _one_line_error(main(["sweep", remote.url, "--workdir", str(tmp_path / "w"), "--report",
                          str(tmp_path)]), capsys, "is a folder, not a file")
    assert afile.read_text() == "x" and not (tmp_path / "w").exists()


@LINUX
def test_an_unusable_user_cache_folder_is_named(remote: Any, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "/proc/vbot-x")
    # the default workdir lives there
    _one_line_error(main(["sweep", remote.url, "-q"]), capsys, "XDG_CACHE_HOME", "/proc/vbot-x")
    # and so does the default HTTP cache: an error, never a sweep without its cache
    _one_line_error(main(["sweep", remote.url, "-q", "--workdir", str(tmp_path / "w")]),
                    capsys, "HTTP cache", "/proc/vbot-x/vbot/http")
    assert not (tmp_path / "w").exists()
    # --no-cache asks for no cache: the sweep runs
    assert main(["sweep", remote.url, "-q", "--workdir", str(tmp_path / "w"), "--no-cache"]) == 0


@LINUX
def test_status_html_and_demo_keep_paths(remote: Any, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    _one_line_error(main(["status", str(remote.path), "--html", "/proc/vbot-x/y.html"]),
                    capsys, "--html /proc/vbot-x/y.html")
    _one_line_error(main(["demo", "--keep", "/proc/vbot-nope"]), capsys, "--keep /proc/vbot-nope")


def test_a_report_that_cannot_be_written_keeps_the_push_and_the_summary(
        remote: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "afile").write_text("x")
    # checked before the work by main; here the write itself fails after the push
    report = sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "w", progress=False,
                                report=tmp_path / "afile" / "r.json"))
    assert report.extra["pushed"] and len(remote.commits()) == 2
    report.print_summary(sys.stdout)
    assert _sweep_exit(report) == 1
    got = capsys.readouterr()
    assert got.out.startswith(f"sweep {report.run_id}: 4 checked, 4 new")
    assert f"cannot write the report {tmp_path / 'afile' / 'r.json'}" in got.out
    assert got.err.startswith("vbot: error: cannot write the report")


def test_a_clone_with_a_work_tree_is_refused_before_any_work(
        remote: Any, tmp_path: Path, fake: Any, capsys: pytest.CaptureFixture[str]) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(remote.path), str(clone)], check=True)
    _one_line_error(main(["sweep", str(clone), "-q", "--workdir", str(tmp_path / "w")]), capsys,
                    "is a clone with a work tree", "git clone --bare", "--no-push")
    assert not (tmp_path / "w").exists() and fake.total_requests == 0
    # where git accepts the push (or with --no-push) it works
    subprocess.run(["git", "-C", str(clone), "config", "receive.denyCurrentBranch",
                    "updateInstead"], check=True)
    assert main(["sweep", str(clone), "-q", "--workdir", str(tmp_path / "w")]) == 0
    assert "vbot sweep:" in subprocess.run(["git", "-C", str(clone), "log", "-1", "--format=%s"],
                                           capture_output=True, text=True).stdout


def test_sigterm_is_handled_like_an_interrupt(remote: Any, tmp_path: Path, fake: Any) -> None:
    world = {**SMOKE_WORLD, "latency_ms": 8000}  # every check hangs
    fake.set_world(world)
    proc = subprocess.Popen([sys.executable, "-m", "vbot", "sweep", remote.url, "-q",
                             "--workdir", str(tmp_path / "w")],
                            env={**os.environ, **fake.env()}, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while fake.total_requests == 0 and time.monotonic() < deadline:  # checking now
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "vbot: terminated (SIGTERM): stopped as for Ctrl-C"
    assert "Traceback" not in err
    assert len(remote.commits()) == 1  # nothing half-done was pushed


def test_help_lists_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    for line in ("exit codes:", "  1    error:", "  2    usage:", "  130  interrupted:",
                 "SIGTERM"):
        assert line in out
    with pytest.raises(SystemExit) as stop:
        main(["sweep"])  # a missing argument: usage, exit 2
    assert stop.value.code == 2
