"""The git pre-commit hook, ``vbot install-hooks`` and the pre-commit framework manifest."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import git
import pytest
import yaml

from tests.helpers import make_cf_tree, node_attrs, write_json
from vbot.main import main
from vbot.repo.paths import sharded_relpath
from vbot.shipped import resource_dir

PROJECT = Path(__file__).resolve().parents[2]
URL = "https://pypi.example/packages/source/a/a/a-1.0.tar.gz"
GOOD = {"new_version": "1.1"}
BROKEN = {"new_version": "1.1", "stray": True}


def _data_repo(root: Path) -> git.Repo:
    make_cf_tree(root, {n: node_attrs(n, URL, "1.0") for n in ("alpha", "beta")})
    repo = git.Repo.init(root, initial_branch="main")
    with repo.config_writer() as cw:
        cw.set_value("user", "name", "Maintainer")
        cw.set_value("user", "email", "maintainer@example.invalid")
    repo.git.add("-A")
    repo.git.commit("-qm", "import", "--no-verify")
    return repo


def _commit(root: Path, message: str, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "commit", "-qm", message], cwd=root, text=True,
                          capture_output=True, env={**os.environ, **(env or {})})


def test_shipped_hook_is_executable_package_data() -> None:
    hook = resource_dir("hooks") / "pre-commit"
    assert os.access(hook, os.X_OK)
    assert hook.read_text().startswith("#!/bin/sh\n")
    assert "vbot-hook:" in hook.read_text()


def test_install_hooks_refuses_bad_commits(tmp_path: Path, capsys) -> None:
    root = tmp_path / "data"
    repo = _data_repo(root)
    assert main(["install-hooks", str(root)]) == 0
    hook = Path(repo.git_dir) / "hooks" / "pre-commit"
    assert f"installed {hook}" in capsys.readouterr().out
    assert os.access(hook, os.X_OK) and sys.executable in hook.read_text()

    rel = sharded_relpath("versions", "alpha")
    write_json(root / rel, BROKEN)
    repo.git.add(rel)
    done = _commit(root, "broken versions file")
    assert done.returncode == 1
    assert f"{rel}: Additional properties are not allowed ('stray' was unexpected)" in done.stderr
    assert "vbot: commit refused" in done.stderr
    assert len(list(repo.iter_commits())) == 1

    write_json(root / rel, GOOD)
    repo.git.add(rel)
    done = _commit(root, "good versions file")
    assert done.returncode == 0, done.stderr
    assert len(list(repo.iter_commits())) == 2
    # `git commit -a` uses a temporary index: the hook validates what is being committed
    write_json(root / rel, {"new_version": None, "x": 1})
    done = subprocess.run(["git", "commit", "-qam", "all"], cwd=root, capture_output=True,
                          text=True)
    assert done.returncode == 1 and rel in done.stderr


def test_existing_hook_is_kept_and_chained(tmp_path: Path, capsys) -> None:
    root = tmp_path / "data"
    repo = _data_repo(root)
    hooks = Path(repo.git_dir) / "hooks"
    mine = hooks / "pre-commit"
    mine.write_text(f"#!/bin/sh\necho ran >> '{tmp_path / 'ran.txt'}'\n"
                    'test -z "$BLOCK" || { echo "local hook says no" >&2; exit 7; }\n')
    mine.chmod(0o755)
    assert main(["install-hooks", str(root)]) == 0
    assert "kept the existing hook" in capsys.readouterr().out
    assert (hooks / "pre-commit.local").read_text().startswith("#!/bin/sh\necho ran")
    assert main(["install-hooks", str(root)]) == 0  # again: refreshes ours, keeps theirs
    assert "kept the existing hook" not in capsys.readouterr().out

    write_json(root / "versions" / "beta.json", GOOD)
    repo.git.add("-A")
    done = _commit(root, "blocked", {"BLOCK": "1"})
    assert done.returncode == 1 and done.stderr == "local hook says no\n"
    done = _commit(root, "allowed")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "ran.txt").read_text() == "ran\nran\n"


def test_hook_honours_core_hooks_path(tmp_path: Path) -> None:
    root = tmp_path / "data"
    repo = _data_repo(root)
    repo.git.config("core.hooksPath", ".githooks")
    # run from a subfolder: the clone's top level and its configured hooks folder are used
    assert main(["install-hooks", str(root / "node_attrs")]) == 0
    assert (root / ".githooks" / "pre-commit").is_file()
    write_json(root / "graph.json", {"nodes": "nope"})
    repo.git.add("graph.json")
    done = _commit(root, "broken graph")
    assert done.returncode == 1 and "graph.json: nodes: 'nope' is not of type 'array'" \
        in done.stderr


def _project_clone(tmp_path: Path) -> tuple[Path, str]:
    """A git repo holding this project's .pre-commit-hooks.yaml (what `repo:` points at)."""
    src = tmp_path / "vbot-project"
    src.mkdir()
    shutil.copy(PROJECT / ".pre-commit-hooks.yaml", src / ".pre-commit-hooks.yaml")
    repo = git.Repo.init(src, initial_branch="main")
    repo.git.add("-A")
    repo.git.commit("-qm", "hooks manifest", "--author", "t <t@example.invalid>",
                    env={**os.environ, "GIT_COMMITTER_NAME": "t",
                         "GIT_COMMITTER_EMAIL": "t@example.invalid"})
    return src, repo.head.commit.hexsha


def test_manifest_declares_vbot_validate() -> None:
    hooks = yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    assert hook["id"] == "vbot-validate"
    assert hook["entry"] == "vbot validate" and hook["pass_filenames"] is True
    assert hook["language"] == "python"


def test_pre_commit_framework(tmp_path: Path) -> None:
    """The real pre-commit tool runs vbot-validate from the manifest, offline.

    The consumer config points ``repo:`` at a local git repo holding the manifest; it only
    overrides ``language``/``entry`` to use this interpreter, so no environment is built
    (which would need a package index).
    """
    pytest.importorskip("pre_commit")
    project, rev = _project_clone(tmp_path)
    root = tmp_path / "data"
    repo = _data_repo(root)
    config = {"repos": [{"repo": project.as_uri(), "rev": rev, "hooks": [
        {"id": "vbot-validate", "language": "system",
         "entry": f"{sys.executable} -m vbot validate"}]}]}
    (root / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    repo.git.add(".pre-commit-config.yaml")
    repo.git.commit("-qm", "pre-commit config", "--no-verify")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pc-home"),
           "PIP_NO_INDEX": "1"}
    installed = subprocess.run([sys.executable, "-m", "pre_commit", "install"], cwd=root,
                               capture_output=True, text=True, env=env)
    assert installed.returncode == 0, installed.stderr + installed.stdout

    rel = sharded_relpath("versions", "beta")
    write_json(root / rel, BROKEN)
    write_json(root / "notes" / "x.json", {"anything": "goes"})  # not matched by `files`
    repo.git.add("-A")
    done = _commit(root, "broken", env)
    assert done.returncode == 1
    output = done.stdout + done.stderr
    assert "vbot validate (graph.json, versions, new_version)" in output
    assert "Failed" in output and f"{rel}: Additional properties" in output
    assert "notes/x.json" not in output

    write_json(root / rel, GOOD)
    repo.git.add("-A")
    done = _commit(root, "fixed", env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Passed" in done.stdout + done.stderr


def test_shipped_hook_without_vbot_refuses_clearly(tmp_path: Path) -> None:
    """Copied by hand (no install-hooks) on a machine without vbot: a clear refusal."""
    root = tmp_path / "data"
    repo = _data_repo(root)
    hook = Path(repo.git_dir) / "hooks" / "pre-commit"
    shutil.copy(resource_dir("hooks") / "pre-commit", hook)
    hook.chmod(0o755)
    write_json(root / "versions" / "beta.json", GOOD)
    repo.git.add("-A")
    bare_path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                                if not (Path(p) / "vbot").exists())
    done = _commit(root, "no vbot", {"PATH": bare_path, "VBOT_PYTHON": ""})
    assert done.returncode == 1
    assert "vbot is not installed (set VBOT_PYTHON or put vbot on PATH)" in done.stderr
    done = _commit(root, "with VBOT_PYTHON", {"PATH": bare_path, "VBOT_PYTHON": sys.executable})
    assert done.returncode == 0, done.stderr
