"""`vbot demo` works, and a non-editable install ships schemas/, hooks/ and data/."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from vbot.main import main

ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_the_whole_loop(capsys) -> None:
    assert main(["demo", "--latency-ms", "0"]) == 0
    out = capsys.readouterr().out
    assert "sweep sweep-" in out and "merge merge-" in out
    assert "vbot merge:" in out and "vbot sweep:" in out  # the two commits of the remote
    assert "versions/0/0/9/8/4/typish.json" in out  # a real node without a versions file


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out),
                    str(ROOT)], check=True)
    return next(out.glob("vbot-*.whl"))


@pytest.mark.slow
def test_wheel_ships_resources(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "vbot/resources/schemas/versions.schema.json" in names
    assert "vbot/resources/data/world.json" in names
    assert "vbot/resources/data/repo/graph.json" in names
    assert "vbot/resources/data/MANIFEST.tsv" in names
    shipped = [n for n in names if n.startswith("vbot/resources/data/repo/")]
    assert len(shipped) == 1 + 112 + 50 + 82  # graph.json, node_attrs, versions, version_pr_info
    assert any(n.startswith("vbot/resources/data/repo/node_attrs/") for n in names)
    assert "vbot/testing/fakeupstream/samples/pypi-requests.json" in names


@pytest.mark.slow
def test_installed_demo_runs_from_any_directory(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    py = env_dir / "bin" / "python"
    # dependencies come from the test environment, after the new venv's own site-packages
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    own = subprocess.run([str(py), "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    parents = [p for p in sys.path if p.endswith("site-packages")]
    Path(own, "_test_deps.pth").write_text("\n".join(parents) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q",
                    "--no-deps", "--ignore-installed", str(wheel)], check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run([str(py), "-c", "import vbot; print(vbot.__file__)"], cwd=elsewhere,
                           capture_output=True, text=True, check=True).stdout
    assert str(env_dir) in where
    done = subprocess.run([str(env_dir / "bin" / "vbot"), "demo", "--latency-ms", "0"],
                          cwd=elsewhere, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "vbot merge:" in done.stdout
