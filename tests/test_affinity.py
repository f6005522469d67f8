"""The sweep's event loop and HTTP threads on one CPU (vbot/affinity.py), and the setting."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from tests.test_git_faults import WORLD, tree_for, vbot
from vbot.affinity import one_cpu
from vbot.config import load_config
from vbot.errors import EXIT_OK
from vbot.fakeupstream import FakeUpstream

CPUS = set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else set()
needs_two = pytest.mark.skipif(len(CPUS) < 2, reason="needs Linux and two usable CPUs")


def _thread_cpus() -> set[int]:
    seen: list[set[int]] = []
    t = threading.Thread(target=lambda: seen.append(set(os.sched_getaffinity(0))))
    t.start()
    t.join()
    return seen[0]


@needs_two
def test_the_thread_and_threads_it_starts_share_one_cpu_then_get_theirs_back() -> None:
    with one_cpu() as cpu:
        assert cpu in CPUS
        assert set(os.sched_getaffinity(0)) == {cpu}
        assert _thread_cpus() == {cpu}
    assert set(os.sched_getaffinity(0)) == CPUS
    assert _thread_cpus() == CPUS


@needs_two
def test_given_back_after_an_exception_too() -> None:
    with pytest.raises(RuntimeError), one_cpu():
        raise RuntimeError("a failing check phase")
    assert set(os.sched_getaffinity(0)) == CPUS


def test_turned_off_nothing_changes() -> None:
    before = set(os.sched_getaffinity(0)) if CPUS else set()
    with one_cpu(False) as cpu:
        assert cpu is None
        if CPUS:
            assert set(os.sched_getaffinity(0)) == before


def test_the_setting_from_toml_and_environment(tmp_path: Path) -> None:
    assert load_config(None, None, {}).http.one_cpu == 1
    toml = tmp_path / "vbot.toml"
    toml.write_text("[http]\none_cpu = 0\n")
    assert load_config(None, toml, {}).http.one_cpu == 0
    assert load_config(None, toml, {"VBOT_HTTP_ONE_CPU": "1"}).http.one_cpu == 1


@needs_two
def test_a_sweep_says_which_cpu_its_checks_ran_on(tmp_path: Path, make_remote) -> None:
    remote = make_remote(tree_for(tmp_path))
    with FakeUpstream(WORLD) as fake:
        for setting, want in (("1", True), ("0", False)):
            report = tmp_path / f"report-{setting}.json"
            done = vbot("sweep", remote.url, "--workdir", str(tmp_path / "work"), "-q",
                        "--report", str(report),
                        env={**fake.env(), "VBOT_HTTP_ONE_CPU": setting})
            assert done.returncode == EXIT_OK, done.stderr
            got = json.loads(report.read_text())
            assert ("one_cpu" in got) is want
            if want:
                assert got["one_cpu"] in CPUS
            assert got["counts"]["found"] >= 4
