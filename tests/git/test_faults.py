"""The git layer under faults: moved remotes, unreachable remotes, leaked secrets, repairs.

Real git everywhere; ``python -m vbot`` runs as a real subprocess where output is searched.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import git
import pytest

from tests.helpers import make_cf_tree, node_attrs, write_json
from vbot.errors import EXIT_OK, EXIT_PUSH, EXIT_USER, PushError, VbotError
from vbot.git.commit import commit
from vbot.git.env import clean_error
from vbot.git.push import moved, push
from vbot.git.workspace import Workspace
from vbot.repo.paths import sharded_relpath
from vbot.testing.fakeupstream import FakeUpstream

pytestmark = pytest.mark.slow  # real git failures and retries: seconds each

NAMES = [f"pkg{i:02d}" for i in range(8)]
WORLD = {"pypi": {n: {"versions": ["1.0", "1.5"]} for n in NAMES},
         "github": {"o/gh": {"releases": [{"tag_name": "v3.0"}]}},
         "faults": [{"path": "/github/repos/o/gh/*", "kind": "status", "status": 500},
                    # with a token GitHub is asked through GraphQL first: fail that too
                    {"path": "/github/graphql", "kind": "status", "status": 500}]}
TOKEN = "ghp_" + "S3CRETt0ken" * 3  # a GitHub-shaped token
PLAIN = "plainsecret-" + "x7" * 8  # a secret without a recognisable shape
URL_PW = "urlpassw0rd-SECRET"


def tree_for(tmp: Path) -> Path:
    nodes = {n: node_attrs(n, f"https://pypi.example/packages/source/p/{n}/{n}-1.0.tar.gz",
                           "1.0") for n in NAMES}
    nodes["gh"] = node_attrs("gh", "https://github.com/o/gh/archive/v1.0.tar.gz", "1.0")
    return make_cf_tree(tmp / "tree", nodes)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vbot(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vbot", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=timeout,
                          cwd=Path(__file__).parent.parent.parent)


def files_text(root: Path, skip_git_config: bool = True) -> str:
    """Every byte under ``root`` as text (git objects decompressed via git itself)."""
    out = []
    for path in root.rglob("*"):
        if path.is_file() and not (skip_git_config and path.name == "config"
                                   and path.parent.name == ".git"):
            out.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(out)


def history_text(repo_path: Path) -> str:
    repo = git.Repo(repo_path)
    return repo.git.log("--all", "-p", "--format=%H%n%B")


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in (TOKEN, PLAIN, URL_PW):
            assert secret not in text


def test_push_retries_when_the_remote_moved(tmp_path: Path, make_remote) -> None:
    remote = make_remote(tree_for(tmp_path))
    with Workspace.open(remote.url, tmp_path / "a") as ours:
        write_json(ours.path / "versions" / "ours.json", {"new_version": "1"})
        mine = commit(ours, ["versions"], "ours")
        # another writer pushes first
        other = git.Repo.clone_from(remote.url, tmp_path / "b")
        with other.config_writer() as cw:
            cw.set_value("user", "name", "other")
            cw.set_value("user", "email", "other@example.invalid")
        write_json(tmp_path / "b" / "versions" / "theirs.json", {"new_version": "2"})
        other.git.add("-A")
        other.git.commit("-m", "theirs")
        other.git.push("origin", "main")
        theirs = other.head.commit.hexsha
        push(ours, backoff=0.01)
    messages = [c.message.strip() for c in remote.commits()]
    assert messages[:2] == ["ours", "theirs"]  # rebased on top, never forced
    assert theirs in [c.hexsha for c in remote.commits()]
    assert mine not in [c.hexsha for c in remote.commits()]  # ours was rebased
    assert {"versions/ours.json", "versions/theirs.json"} <= set(remote.files())


def test_moved_recognises_only_a_moved_branch() -> None:
    assert moved("! [rejected] HEAD -> main (fetch first) error: failed to push some refs")
    assert moved("! [remote rejected] HEAD -> main (cannot lock ref 'refs/heads/main')")
    assert not moved("! [remote rejected] HEAD -> main (pre-receive hook declined)")
    assert not moved("fatal: Authentication failed for 'http://127.0.0.1:9/x.git/'")


def test_two_processes_sweeping_disjoint_nodes_both_land(tmp_path: Path, make_remote) -> None:
    remote = make_remote(tree_for(tmp_path))
    first, second = NAMES[:4], NAMES[4:]
    with FakeUpstream({**WORLD, "latency_ms": 50}) as fake:
        env = {**fake.env(), "VBOT_HTTP_RETRIES": "0"}
        procs = [subprocess.Popen(
            [sys.executable, "-m", "vbot", "sweep", remote.url, "--workdir",
             str(tmp_path / f"w{i}"), "-q", "--nodes", ",".join(names), "--deadline", "90"],
            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True) for i, names in enumerate((first, second))]
        results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    sweeps = [c for c in remote.commits() if c.message.startswith("vbot sweep")]
    assert len(sweeps) == 2
    for name in NAMES:
        assert remote.show(sharded_relpath("versions", name)) == {"new_version": "1.5"}
    assert len(remote.commits()) == 3  # import + both sweeps, linear
    assert all(len(c.parents) <= 1 for c in remote.commits())


@pytest.mark.parametrize("failure", ["closed-port", "auth-refused"])
def test_failing_push_keeps_the_commit_and_leaks_no_secret(tmp_path: Path, make_remote,
                                                           failure: str) -> None:
    remote = make_remote(tree_for(tmp_path))
    work = tmp_path / "work"
    with FakeUpstream({**WORLD, "faults": WORLD["faults"] + [
            {"path": "/git/*", "kind": "status", "status": 401}]}) as fake:
        env = {**fake.env(), "GITHUB_TOKEN": TOKEN, "GH_TOKEN": PLAIN,
               "VBOT_HTTP_RETRIES": "0"}
        # clone (no push), then point pushes at a remote that cannot be reached
        done = vbot("sweep", remote.url, "--workdir", str(work), "-q", "--no-push", env=env)
        assert done.returncode == EXIT_OK, done.stderr
        host = (f"127.0.0.1:{closed_port()}" if failure == "closed-port"
                else fake.base_url.split("://", 1)[1] + "/git")
        bad_url = f"http://x-access-token:{TOKEN}@{host}/data.git"
        clone = git.Repo(work)
        clone.git.config("remote.origin.pushurl", bad_url)
        before = len(remote.commits())
        report = tmp_path / "report.json"
        failed = vbot("sweep", remote.url, "--workdir", str(work), "--report", str(report),
                      env=env)
        assert failed.returncode == EXIT_PUSH, failed.stderr
        errors = [line for line in failed.stderr.splitlines() if line.startswith("vbot: error")]
        assert len(errors) == 1 and "push failed" in errors[0]
        assert_no_secret(failed.stdout, failed.stderr, done.stdout, done.stderr,
                         report.read_text(), history_text(work), files_text(work))
        assert len(remote.commits()) == before  # nothing landed
        assert int(clone.git.rev_list("--count", "origin/main..main")) == 1  # kept locally

        # a remote URL carrying the secret itself, unreachable: one line, no secret
        direct = vbot("sweep", f"http://user:{URL_PW}@{host}/x.git", "--workdir",
                      str(tmp_path / "w2"), env=env)
        assert direct.returncode == EXIT_USER  # nothing cloned yet: a user error (issue 2)
        assert direct.stderr.count("\n") == 1 and "cannot clone" in direct.stderr
        assert_no_secret(direct.stdout, direct.stderr)

        # the remote is back: the kept commit lands on the next run
        clone.git.config("--unset", "remote.origin.pushurl")
        again = vbot("sweep", remote.url, "--workdir", str(work), "-q", env=env)
        assert again.returncode == EXIT_OK, again.stderr
    assert len(remote.commits()) == before + 1
    assert remote.show(sharded_relpath("versions", "pkg00")) == {"new_version": "1.5"}
    assert "Upstream: github" in remote.show(sharded_relpath("versions", "gh"))["bad"]
    assert_no_secret(history_text(remote.path), files_text(remote.path))


def test_workspace_repairs_what_a_killed_git_leaves(tmp_path: Path, make_remote) -> None:
    remote = make_remote(tree_for(tmp_path))
    work = tmp_path / "work"
    with Workspace.open(remote.url, work) as ws:
        write_json(ws.path / "versions" / "kept.json", {"new_version": "1"})
        commit(ws, ["versions"], "unpushed commit of a killed run")
    g = git.Repo(work).git
    # an interrupted rebase (detached HEAD), stale locks, half-written and stray files
    g.checkout("--detach", "HEAD")
    (work / ".git" / "rebase-merge").mkdir()
    (work / ".git" / "rebase-merge" / "head-name").write_text("refs/heads/main\n")
    (work / ".git" / "rebase-merge" / "onto").write_text(g.rev_parse("HEAD") + "\n")
    (work / ".git" / "rebase-merge" / "orig-head").write_text(g.rev_parse("HEAD") + "\n")
    (work / ".git" / "index.lock").write_text("")
    (work / ".git" / "refs" / "heads" / "main.lock").write_text("")
    # the sparse checkout holds no versions/: a killed run's temp file is outside it
    (work / "versions").mkdir(exist_ok=True)
    (work / "versions" / ".x.json.abc.tmp").write_text('{"new_ver')
    (work / "graph.json").write_text("garbage")
    with FakeUpstream(WORLD) as fake:
        done = vbot("sweep", remote.url, "--workdir", str(work), "-q", env=fake.env())
    assert done.returncode == EXIT_OK, done.stderr
    files = remote.files()
    assert "versions/kept.json" in files  # the killed run's commit was kept and pushed
    assert sharded_relpath("versions", "pkg03") in files
    assert not any(f.endswith(".tmp") for f in files)
    assert not list((work / ".git").glob("*.lock"))


def test_half_made_clone_is_redone(tmp_path: Path, make_remote) -> None:
    remote = make_remote(tree_for(tmp_path))
    work = tmp_path / "work"
    git.Repo.init(work)  # what a clone killed before its first checkout looks like
    with FakeUpstream(WORLD) as fake:
        done = vbot("sweep", remote.url, "--workdir", str(work), "-q", env=fake.env())
    assert done.returncode == EXIT_OK, done.stderr
    assert sharded_relpath("versions", "pkg00") in remote.files()


def test_git_messages_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Older gits (and proxies, hooks) echo the remote URL with its credentials."""
    monkeypatch.setenv("GITHUB_TOKEN", PLAIN)
    url = f"https://user:{URL_PW}@git.example/data.git"
    exc = git.GitCommandError(["git", "push", url], 128,
                              stderr=f"fatal: unable to access '{url}/': auth {TOKEN} {PLAIN}\n"
                                     "hint: more\n")
    text = clean_error(exc)
    assert "\n" not in text and "git.example/data.git" in text
    assert_no_secret(text)


def test_a_foreign_repository_as_workdir_is_never_deleted(tmp_path: Path, make_remote) -> None:
    remote = make_remote(tree_for(tmp_path))
    work = tmp_path / "mine"
    git.Repo.init(work)  # someone's fresh repository with work in it, no commit yet
    (work / "notes.txt").write_text("precious")
    failed = vbot("sweep", remote.url, "--workdir", str(work), "-q", env={})
    assert failed.returncode != EXIT_OK
    assert failed.stderr.startswith("vbot: error") and failed.stderr.count("\n") == 1
    assert (work / "notes.txt").read_text() == "precious"


def test_workdir_follows_rotated_credentials_but_not_another_remote(tmp_path: Path,
                                                                    make_remote) -> None:
    remote = make_remote(tree_for(tmp_path))
    work = tmp_path / "work"
    with Workspace.open(remote.url, work):
        pass
    host = f"127.0.0.1:{closed_port()}"
    old = f"http://x-access-token:OLD-TOKEN@{host}/data.git"
    git.Repo(work).git.remote("set-url", "origin", old)
    with pytest.raises(VbotError, match="clone of another remote") as err, \
            Workspace.open(f"http://{host}/other.git", work):
        pass
    assert "OLD-TOKEN" not in str(err.value)
    new = f"http://x-access-token:NEW-TOKEN@{host}/data.git"
    # same remote, new token: accepted (the URL is updated), then the fetch fails
    with pytest.raises(PushError), Workspace.open(new, work):
        pass
    assert git.Repo(work).remotes.origin.url == new
