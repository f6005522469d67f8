"""A configuration mistake never reaches the data (issue 11 item 7).

A source that is not configured stops the sweep before any check (nothing written, no commit);
``--skip-unconfigured`` checks the rest and leaves those nodes' files as they are; a failure
that is vbot's own (a bug in a source, a setting found missing late, a dead worker) is
reported but never overwrites a versions file. Real git remotes, real HTTP to the fake
upstream.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import git
import pytest

from tests.helpers import check, controls, make_cf_tree, node_attrs, point_env_at
from vbot.check.checker import Checker
from vbot.check.outcome import BAD, FOUND, INTERNAL, SKIPPED, Outcome
from vbot.check.preflight import (
    credential_problem,
    needs,
    source_keys,
    source_table_problem,
    unconfigured,
)
from vbot.commands.sweep import SweepOptions, sweep
from vbot.config import Config, load_config
from vbot.errors import EXIT_INTERNAL, EXIT_USER, VbotError
from vbot.httpclient.client import HttpClient
from vbot.main import main
from vbot.repo.nodeinfo import node_info
from vbot.repo.paths import sharded_relpath
from vbot.run.executors import ExecutorSpec
from vbot.sources import REGISTRY, Context
from vbot.sources.npm import Npm
from vbot.sources.pypi import PyPI

PYPI = "https://pypi.example/packages/source/{c}/{n}/{n}-{v}.tar.gz"
GH = "https://github.com/{o}/{n}/archive/refs/tags/{v}.tar.gz"

WORLD = {
    "pypi": {
        "cox": {"versions": ["0.1", "0.1.post3"]},
        "requests": {"versions": ["2.31.0", "2.32.3"]},
        "attrs": {"versions": ["23.1.0", "24.2.0"]},
    },
    "github": {
        "psf/black": {"releases": [{"tag_name": "25.1.0", "prerelease": False}],
                      "tags": ["25.1.0", "24.1.0"]},
    },
}
NEWER = {**WORLD,
         "pypi": {**WORLD["pypi"], "cox": {"versions": ["0.1", "0.1.post3", "0.2"]},
                  "requests": {"versions": ["2.31.0", "2.32.3", "2.33.1"]}},
         "github": {"psf/black": {"releases": [{"tag_name": "26.1.0", "prerelease": False}],
                                  "tags": ["26.1.0", "25.1.0", "24.1.0"]}}}

NODES = {
    "cox": node_attrs("cox", PYPI.format(c="c", n="cox", v="0.1"), "0.1"),
    "requests": node_attrs("requests", PYPI.format(c="r", n="requests", v="2.31.0"), "2.31.0"),
    "attrs": node_attrs("attrs", PYPI.format(c="a", n="attrs", v="23.1.0"), "23.1.0"),
    "black": node_attrs("black", GH.format(o="psf", n="black", v="24.1.0"), "24.1.0"),
}
PYPI_NODES = ("cox", "requests", "attrs")


def _files(remote, rev: str = "main") -> dict[str, str]:
    """Every versions file of a remote revision: path -> blob sha (byte identity)."""
    tree = remote.repo.commit(rev).tree
    return {b.path: b.hexsha for b in tree.traverse()
            if b.type == "blob" and b.path.startswith("versions/")}


@pytest.fixture
def swept(tmp_path: Path, make_remote, fake, monkeypatch):
    """A data repo whose every node has a good result on the remote (first sweep, configured);
    then the upstream moves on (every node would change) and VBOT_PYPI_URL is unset."""
    fake.set_world(WORLD)
    point_env_at(fake, monkeypatch)
    remote = make_remote(make_cf_tree(tmp_path / "tree", NODES))
    sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "w", progress=False))
    assert remote.show(sharded_relpath("versions", "cox")) == {"new_version": "0.1.post3"}
    fake.set_world(NEWER)
    monkeypatch.delenv("VBOT_PYPI_URL")
    return remote


def test_unconfigured_source_stops_before_checking(tmp_path, swept, fake, capsys) -> None:
    before_head, before_files = swept.repo.commit("main").hexsha, _files(swept)
    served = fake.total_requests
    code = main(["sweep", swept.url, "--workdir", str(tmp_path / "w"), "-q",
                 "--report", str(tmp_path / "report.json")])
    captured = capsys.readouterr()
    assert code == EXIT_USER
    assert captured.err == (
        "vbot: error: pypi is not configured (set VBOT_PYPI_URL or [sources.pypi] url in "
        "vbot.toml): 3 nodes need it; --skip-unconfigured checks the rest\n")
    assert captured.out == ""
    # nothing checked, nothing written, nothing committed or pushed
    assert fake.total_requests == served
    assert swept.repo.commit("main").hexsha == before_head and _files(swept) == before_files
    # black's file is untouched too, though github is configured: nothing was checked
    # (the workspace's sparse checkout holds no versions file: nothing written shows as an
    # untracked or changed file)
    assert git.Repo(tmp_path / "w").git.status("--porcelain", "--untracked-files=all") == ""
    assert not (tmp_path / "report.json").exists()


def test_skip_unconfigured_checks_the_rest(tmp_path, swept, capsys) -> None:
    before = _files(swept)
    report_file = tmp_path / "report.json"
    code = main(["sweep", swept.url, "--workdir", str(tmp_path / "w"), "-q",
                 "--skip-unconfigured", "--report", str(report_file)])
    assert code == 0
    commits = swept.commits()
    assert len(commits) == 3  # import, first sweep, this sweep
    after = _files(swept)
    black = sharded_relpath("versions", "black")
    assert swept.show(black) == {"new_version": "26.1.0"} and after[black] != before[black]
    for name in PYPI_NODES:  # byte-identical: the good results stay
        rel = sharded_relpath("versions", name)
        assert after[rel] == before[rel]
    assert swept.show(sharded_relpath("versions", "cox")) == {"new_version": "0.1.post3"}
    assert set(commits[0].stats.files) == {black}
    report = json.loads(report_file.read_text())
    assert report["counts"]["checked"] == 1 and report["counts"]["skipped"] == 3
    assert report["counts"]["errors"] == 0
    assert report["unconfigured"] == {"pypi": "pypi is not configured (set VBOT_PYPI_URL or "
                                               "[sources.pypi] url in vbot.toml)"}
    out = capsys.readouterr().out
    assert out.startswith(f"sweep {report['run_id']}: 1 checked, 1 new, 0 unchanged, "
                          "0 errors, 3 skipped")
    assert "  not checked: 3 nodes, source pypi not configured\n" in out


def test_skip_unconfigured_reports_the_reason(tmp_path, swept) -> None:
    report = sweep(SweepOptions(remote=swept.url, workdir=tmp_path / "w", progress=False,
                                skip_unconfigured=True, push=False))
    for name in PYPI_NODES:
        assert report.outcomes[name] == Outcome(name, SKIPPED, source="pypi",
                                                reason="source pypi not configured")
    assert report.outcomes["black"].status == FOUND


def test_every_node_unconfigured_with_skip_makes_no_commit(tmp_path, swept) -> None:
    before = swept.repo.commit("main").hexsha
    report = sweep(SweepOptions(remote=swept.url, workdir=tmp_path / "w", progress=False,
                                nodes=PYPI_NODES, skip_unconfigured=True))
    assert report.counts()["skipped"] == 3 and report.counts()["checked"] == 0
    assert report.extra["commit"] is None
    assert swept.repo.commit("main").hexsha == before


@pytest.mark.parametrize("setting", [
    {"VBOT_PYPI_URL": "ftp://pypi.example"},
    {"VBOT_PYPI_URL": "pypi.example"},
    {"VBOT_PYPI_URL": "http://pypi.example:port"},
    {"toml": 'url = "file:///srv/pypi"'},
    {"toml": "url = 42"},
])
def test_invalid_setting_stops_the_sweep(tmp_path, swept, monkeypatch, capsys, setting) -> None:
    before = _files(swept)
    args = ["sweep", swept.url, "--workdir", str(tmp_path / "w"), "-q"]
    if "toml" in setting:
        config = tmp_path / "vbot.toml"
        config.write_text(f"[sources.pypi]\n{setting['toml']}\n")
        args += ["--config", str(config)]
    else:
        monkeypatch.setenv("VBOT_PYPI_URL", setting["VBOT_PYPI_URL"])
    code = main(args)
    err = capsys.readouterr().err
    assert code == EXIT_USER and err.count("\n") == 1
    assert err.startswith("vbot: error: pypi is not configured: ")
    assert "3 nodes need it; --skip-unconfigured checks the rest" in err
    assert len(swept.commits()) == 2 and _files(swept) == before


def test_only_nodes_that_may_ask_the_source_need_it(tmp_path, make_remote, fake_env,
                                                    monkeypatch) -> None:
    """A node whose source order leaves pypi out does not need it; one node that does is
    counted (singular)."""
    fake_env.set_world(WORLD)
    monkeypatch.delenv("VBOT_PYPI_URL")
    gh_only = {"conda-forge.yml": {"bot": {"version_updates": {"sources": ["github"]}}}}
    both = [PYPI.format(c="b", n="black", v="24.1.0"), GH.format(o="psf", n="black", v="24.1.0")]
    nodes = {"black": node_attrs("black", both, "24.1.0", **gh_only),
             "cox": NODES["cox"]}
    remote = make_remote(make_cf_tree(tmp_path / "tree", nodes))
    with pytest.raises(VbotError, match=r"\): 1 node needs it; --skip"):
        sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "w", progress=False))
    assert len(remote.commits()) == 1
    report = sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "w", progress=False,
                                skip_unconfigured=True))
    assert report.outcomes["black"] == Outcome("black", FOUND, version="25.1.0", source="github")
    assert report.outcomes["cox"].status == SKIPPED
    assert remote.show(sharded_relpath("versions", "black")) == {"new_version": "25.1.0"}
    assert sharded_relpath("versions", "cox") not in remote.files()


def test_config_problem_per_source(tmp_path) -> None:
    assert PyPI.config_problem(Config()) == (
        "pypi is not configured (set VBOT_PYPI_URL or [sources.pypi] url in vbot.toml)")
    assert Npm.config_problem(Config()) == (
        "npm is not configured (set VBOT_NPM_URL or [sources.npm] url in vbot.toml)")
    ok = Config(env={"VBOT_PYPI_URL": "http://127.0.0.1:9/", "VBOT_NPM_URL": "https://npm.x"})
    assert PyPI.config_problem(ok) is None and Npm.config_problem(ok) is None
    # sources with a default URL or none at all are configured out of the box
    assert {n for n, cls in REGISTRY.items() if cls.config_problem(Config())} == {"pypi", "npm"}
    bad = Config(env={"VBOT_GITHUB_API_URL": "api.github.example"})
    assert REGISTRY["github"].config_problem(bad) == (
        "github is not configured: 'api.github.example' is not an http(s) URL (set "
        "VBOT_GITHUB_API_URL or VBOT_GITHUB_URL or [sources.github] url in vbot.toml)")
    toml = tmp_path / "vbot.toml"
    toml.write_text('[sources.pypi]\nurl = "https://pypi.mirror.example"\n')
    assert PyPI.config_problem(load_config(None, toml, {})) is None


def _checker(env: dict[str, str]) -> Checker:
    config = Config(env=env)
    return Checker(Context(config=config, http=HttpClient(config.http, {})))


def test_needs_follows_the_node_source_order() -> None:
    checker = _checker({})
    broken = unconfigured(checker)
    assert set(broken) == {"pypi", "npm"}
    cox = node_info("cox", NODES["cox"])
    black = node_info("black", NODES["black"])
    assert needs(checker, cox, broken) == "pypi"
    assert needs(checker, black, broken) is None
    late = node_info("late", node_attrs(
        "late", [GH.format(o="a", n="late", v="1.0"), PYPI.format(c="l", n="late", v="1.0")],
        "1.0", **{"conda-forge.yml": {"bot": {"version_updates": {
            "sources": ["github", "pypi"]}}}}))
    assert needs(checker, late, broken) == "pypi"  # asked when github finds nothing


def test_missing_setting_found_late_is_internal_and_writes_nothing() -> None:
    """A check that runs into a missing setting (no preflight) is vbot's failure."""
    checker = _checker({})
    outcome = asyncio.run(checker.check(node_info("cox", NODES["cox"])))
    assert outcome.status == INTERNAL and outcome.source == "pypi"
    assert outcome.reason == ("pypi is not configured (set VBOT_PYPI_URL or [sources.pypi] url "
                              "in vbot.toml)")
    assert outcome.document() is None


def test_source_bug_leaves_the_file_untouched(tmp_path, swept, fake, monkeypatch,
                                              capsys) -> None:
    point_env_at(fake, monkeypatch)  # configured again
    before = _files(swept)

    async def broken(self, target, node):
        raise KeyError("releases")

    monkeypatch.setattr(PyPI, "versions", broken)
    report_file = tmp_path / "report.json"
    code = main(["sweep", swept.url, "--workdir", str(tmp_path / "w"), "-q", "--full",
                 "--report", str(report_file)])  # --full: attrs did not move (feed)
    assert code == 0  # black was checked: the run learnt something
    after = _files(swept)
    black = sharded_relpath("versions", "black")
    assert swept.show(black) == {"new_version": "26.1.0"}
    for name in PYPI_NODES:
        rel = sharded_relpath("versions", name)
        assert after[rel] == before[rel]
    report = json.loads(report_file.read_text())
    assert report["counts"]["internal"] == 3 and report["counts"]["errors"] == 3
    assert report["counts"]["bad"] == 0 and report["counts"]["new"] == 1
    failures = {f["node"]: f for f in report["failures"]}
    assert failures["cox"] == {"node": "cox", "status": INTERNAL, "source": "pypi",
                               "reason": "internal error: KeyError: 'releases'"}
    out = capsys.readouterr().out
    assert "! cox: internal error: KeyError: 'releases'" in out
    assert "internal 3" in swept.commits()[0].message


def test_every_check_internal_exits_non_zero_without_commit(tmp_path, swept, fake,
                                                           monkeypatch, capsys) -> None:
    point_env_at(fake, monkeypatch)
    before = swept.repo.commit("main").hexsha

    def broken(self, node):
        raise RuntimeError("bug")

    monkeypatch.setattr(PyPI, "match", broken)
    code = main(["sweep", swept.url, "--workdir", str(tmp_path / "w"), "-q",
                 "--nodes", ",".join(PYPI_NODES)])
    captured = capsys.readouterr()
    out = captured.out
    assert code == EXIT_INTERNAL
    assert captured.err.startswith("vbot: error: every node checked failed inside vbot")
    assert "3 checked, 0 new, 0 unchanged, 3 errors" in out and "no changes, no commit" in out
    assert swept.repo.commit("main").hexsha == before


def test_upstream_answers_are_still_results(tmp_path, swept, fake, monkeypatch) -> None:
    """The other side of the rule: an upstream 404 is an answer, written as bad."""
    point_env_at(fake, monkeypatch)
    fake.set_world({**NEWER, "pypi": {k: v for k, v in NEWER["pypi"].items() if k != "cox"}})
    report = sweep(SweepOptions(remote=swept.url, workdir=tmp_path / "w", progress=False))
    assert report.outcomes["cox"].status == BAD
    assert "HTTP 404" in swept.show(sharded_relpath("versions", "cox"))["bad"]


@pytest.mark.parametrize("env, toml", [
    ({"VBOT_HTTP_REWRITE": "https://ftp.gnu.org/=file:///srv/gnu/"}, ""),
    ({}, '[http]\nrewrite = { "https://ftp.gnu.org/" = "mirror.example/gnu/" }\n'),
])
def test_a_rewrite_to_no_http_url_is_refused_before_checking(tmp_path, swept, fake, monkeypatch,
                                                             capsys, env, toml) -> None:
    point_env_at(fake, monkeypatch)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    args = ["sweep", swept.url, "--workdir", str(tmp_path / "w"), "-q"]
    if toml:
        (tmp_path / "vbot.toml").write_text(toml)
        args += ["--config", str(tmp_path / "vbot.toml")]
    served = fake.total_requests
    assert main(args) == EXIT_USER
    err = capsys.readouterr().err
    assert "[http] rewrite of 'https://ftp.gnu.org/' must lead to an http(s) URL" in err
    assert fake.total_requests == served and len(swept.commits()) == 2


@pytest.mark.parametrize("toml, problem", [
    ("[sources.rawurl]\nhops = \"four\"",
     "rawurl is not configured: [sources.rawurl] hops must be a whole number, not 'four'"),
    ("[sources.github]\nmax_pages = -1",
     "github is not configured: [sources.github] max_pages must be a whole number, not -1"),
    ("[sources.gittags]\ntimeout = [30]",
     "gittags is not configured: [sources.gittags] timeout must be a number, not [30]"),
    ("[sources.gitlab]\nhosts = \"gitlab.gnome.example\"", "gitlab is not configured: "
     "[sources.gitlab] hosts must be a list of strings, not 'gitlab.gnome.example'"),
])
def test_invalid_source_options_are_problems(tmp_path, toml, problem) -> None:
    (tmp_path / "vbot.toml").write_text(toml + "\n")
    config = load_config(tmp_path, None, {})
    assert {cls.config_problem(config) for cls in REGISTRY.values()} - {None} == {
        problem, PyPI.config_problem(config), Npm.config_problem(config)}
    fine = load_config(None, None, {})
    assert REGISTRY[problem.split()[0]].config_problem(fine) is None


def test_invalid_option_stops_the_sweep_for_the_nodes_that_need_it(tmp_path, swept, fake,
                                                                   monkeypatch) -> None:
    point_env_at(fake, monkeypatch)
    config = tmp_path / "vbot.toml"
    config.write_text("[sources.github]\nmax_pages = \"3 pages\"\n")
    with pytest.raises(VbotError, match=r"max_pages must be a whole number, not '3 pages': "
                                        r"1 node needs it; --skip-unconfigured"):
        sweep(SweepOptions(remote=swept.url, workdir=tmp_path / "w", progress=False,
                           config=config))
    assert len(swept.commits()) == 2
    report = sweep(SweepOptions(remote=swept.url, workdir=tmp_path / "w", progress=False,
                                config=config, skip_unconfigured=True))
    assert report.outcomes["black"].reason == "source github not configured"
    assert swept.show(sharded_relpath("versions", "cox")) == {"new_version": "0.2"}
    assert swept.show(sharded_relpath("versions", "black")) == {"new_version": "25.1.0"}


def test_process_executor_same_rule(tmp_path, swept) -> None:
    """The screening happens in the coordinator, before any chunk is sent to a worker."""
    before = _files(swept)
    with pytest.raises(VbotError, match="3 nodes need it"):
        sweep(SweepOptions(remote=swept.url, workdir=tmp_path / "w", progress=False,
                           executor=ExecutorSpec("process", processes=1)))
    assert _files(swept) == before and len(swept.commits()) == 2
    report = sweep(SweepOptions(remote=swept.url, workdir=tmp_path / "w", progress=False,
                                executor=ExecutorSpec("process", processes=1),
                                skip_unconfigured=True))
    assert report.extra["executor"]["chunks"] == 1  # black alone went to the worker
    assert report.counts()["skipped"] == 3 and report.outcomes["black"].status == FOUND
    after = _files(swept)
    assert {k for k in after if after[k] != before[k]} == {sharded_relpath("versions", "black")}


# -- Issue 19 items 1 and 7: credentials go only where the operator said; unknown names stop
# -- the run. A loopback server logs every request's headers: the token must never reach it
# -- through a setting of the data repo.

TOKEN = "ghp_secret_token_of_the_ci_0123456789"


class HeaderLog(http.server.ThreadingHTTPServer):
    """A loopback server answering 404 to everything and keeping every request's headers."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        log = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                if size:
                    self.rfile.read(size)
                log.seen.append((self.command, self.path, dict(self.headers.items())))
                body = b'{"message": "Not Found"}'
                self.send_response(404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"

    def tokens_seen(self) -> list[str]:
        return [h for _, _, headers in self.seen for k, h in headers.items()
                if k.lower() == "authorization"]


@pytest.fixture
def header_log() -> Iterator[HeaderLog]:
    server = HeaderLog()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _remote_with(tmp_path: Path, make_remote, toml: str):
    tree = make_cf_tree(tmp_path / "tree", NODES)
    (tree / "vbot.toml").write_text(toml)
    return make_remote(tree)


def _operator_env(fake, monkeypatch, **extra: str) -> None:
    """Every source at the fake upstream, GitHub's URL left to the settings, a token set."""
    fake.set_world(WORLD)
    point_env_at(fake, monkeypatch)
    monkeypatch.delenv("VBOT_GITHUB_API_URL")
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    for key, value in extra.items():
        monkeypatch.setenv(key, value)


def test_the_data_repo_cannot_send_the_token_elsewhere(tmp_path, make_remote, fake, monkeypatch,
                                                       capsys, header_log) -> None:
    _operator_env(fake, monkeypatch)
    remote = _remote_with(tmp_path, make_remote,
                          f'[sources.github]\nurl = "{header_log.url}/gh"\n')
    before = remote.repo.commit("main").hexsha
    wd = tmp_path / "wd"
    served = fake.total_requests
    assert main(["sweep", remote.url, "--workdir", str(wd), "-q"]) == EXIT_USER
    err = capsys.readouterr().err
    assert err == (f"vbot: error: {wd / 'vbot.toml'}: [sources.github] url is set by the data "
                   "repo, but github's requests carry credentials (the Authorization header): "
                   "only the operator may say where they go (VBOT_GITHUB_API_URL or "
                   "VBOT_GITHUB_URL or --config); remove it from the data repo's vbot.toml\n")
    assert TOKEN not in err
    # vbot check runs the same pre-check: refused as well
    clone = tmp_path / "clone"
    git.Repo.clone_from(remote.url, clone)
    assert main(["check", "black", "--repo", str(clone)]) == EXIT_USER
    assert "[sources.github] url is set by the data repo" in capsys.readouterr().err
    # nothing was asked of anyone, nothing pushed
    assert header_log.seen == [] and fake.total_requests == served
    assert remote.repo.commit("main").hexsha == before


def test_the_operator_may_point_the_token_anywhere(tmp_path, make_remote, fake, monkeypatch,
                                                   header_log) -> None:
    """The same URL from the operator's side (the environment): the token goes there (which
    also shows the header log would have seen it)."""
    _operator_env(fake, monkeypatch, VBOT_GITHUB_API_URL=f"{header_log.url}/gh")
    remote = _remote_with(tmp_path, make_remote,
                          f'[sources.github]\nurl = "{header_log.url}/gh"\n')
    report = sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "wd", progress=False))
    assert report.outcomes["black"].source == "github"
    assert header_log.tokens_seen() and set(header_log.tokens_seen()) == {f"Bearer {TOKEN}"}
    # --config is the operator's too
    header_log.seen.clear()
    operator = tmp_path / "operator.toml"
    operator.write_text(f'[sources.github]\nurl = "{header_log.url}/gh2"\n')
    monkeypatch.delenv("VBOT_GITHUB_API_URL")
    sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "wd", progress=False,
                       config=operator))
    assert {p.split("/")[1] for _, p, _ in header_log.seen} == {"gh2"}
    assert set(header_log.tokens_seen()) == {f"Bearer {TOKEN}"}


def test_without_a_credential_the_data_repo_may_set_a_url(tmp_path, make_remote, fake,
                                                          monkeypatch, header_log) -> None:
    _operator_env(fake, monkeypatch)
    monkeypatch.delenv("GITHUB_TOKEN")
    remote = _remote_with(tmp_path, make_remote,
                          f'[sources.github]\nurl = "{header_log.url}/gh"\n')
    report = sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "wd", progress=False))
    assert report.outcomes["black"].source == "github" and header_log.seen
    assert header_log.tokens_seen() == []


def test_a_data_repo_rewrite_of_a_credentialed_url_is_refused(tmp_path, make_remote, fake,
                                                             monkeypatch, header_log) -> None:
    _operator_env(fake, monkeypatch, VBOT_GITHUB_API_URL=f"{fake.base_url}/github")
    remote = _remote_with(tmp_path, make_remote, (
        f'[http]\nrewrite = {{ "{fake.base_url}/" = "{header_log.url}/steal/" }}\n'))
    with pytest.raises(VbotError, match=r"vbot\.toml: \[http\] rewrite 'http://127\.0\.0\.1:\d+/' "
                                        r"is set by the data repo, but would send github's "
                                        r"credentials to http://127\.0\.0\.1:\d+/steal/: only "
                                        r"the operator may set it"):
        sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "wd", progress=False))
    assert header_log.seen == []


def test_a_netrc_entry_is_a_credential_too(tmp_path, make_remote, fake, monkeypatch,
                                           header_log) -> None:
    _operator_env(fake, monkeypatch, VBOT_GITHUB_API_URL=f"{fake.base_url}/github")
    monkeypatch.delenv("GITHUB_TOKEN")
    monkeypatch.delenv("VBOT_PYPI_URL")
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login ci password netrc-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    remote = _remote_with(tmp_path, make_remote, f'[sources.pypi]\nurl = "{header_log.url}"\n')
    with pytest.raises(VbotError, match=r"\[sources\.pypi\] url is set by the data repo, but "
                                        r"pypi's requests carry credentials \(a \.netrc entry\)"):
        sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "wd", progress=False))
    assert header_log.seen == []


def test_a_netrc_host_in_any_url_option_of_the_data_repo_is_refused(tmp_path,
                                                                    monkeypatch) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login ci password netrc-secret\n")
    netrc.chmod(0o600)
    (tmp_path / "vbot.toml").write_text('[sources.crates]\napi_url = "http://127.0.0.1:9/api"\n')
    assert credential_problem(load_config(tmp_path, None, {})) is None  # no .netrc yet
    monkeypatch.setenv("NETRC", str(netrc))
    assert credential_problem(load_config(tmp_path, None, {})) == (
        f"{tmp_path / 'vbot.toml'}: [sources.crates] api_url is set by the data repo, but its "
        "requests would carry a .netrc entry: only the operator may set it (--config)")
    # the operator's own file may
    assert credential_problem(load_config(None, tmp_path / "vbot.toml", {})) is None


def test_a_token_never_goes_over_plain_http_but_to_loopback(tmp_path) -> None:
    env = {"GITHUB_TOKEN": TOKEN, "VBOT_GITHUB_API_URL": "http://gh.internal.example/api"}
    config = load_config(None, None, env)
    with pytest.raises(VbotError) as caught:
        unconfigured(Checker(Context(config=config, http=HttpClient(config.http))))
    assert str(caught.value) == (
        "github: credentials (the Authorization header) would go over plain http to "
        "http://gh.internal.example/api: use https (plain http only to a loopback address)")
    for url in ("https://gh.internal.example/api", "http://127.0.0.1:9/gh", "http://[::1]:9/gh",
                "http://localhost:9/gh"):
        config = load_config(None, None, {**env, "VBOT_GITHUB_API_URL": url})
        assert credential_problem(config) is None


@pytest.mark.parametrize("toml, line", [
    ("[sources.pyip]\nurl = 'http://127.0.0.1:9'\n",
     "[sources.pyip] is not a source (did you mean [sources.pypi]?)"),
    ("[sources.github]\nmax_page = 2\n",
     "[sources.github] max_page is not a setting of github (did you mean "
     "[sources.github] max_pages?)"),
    ("[sources.rawurl]\nurl = 'http://127.0.0.1:9'\n",
     "[sources.rawurl] url is not a setting of rawurl; it takes hops, skip_hosts"),
])
def test_unknown_source_tables_and_keys_stop_the_first_run(tmp_path, make_remote, fake,
                                                           monkeypatch, capsys, toml,
                                                           line) -> None:
    fake.set_world(WORLD)
    point_env_at(fake, monkeypatch)
    remote = _remote_with(tmp_path, make_remote, toml)
    wd = tmp_path / "wd"
    assert main(["sweep", remote.url, "--workdir", str(wd), "-q"]) == EXIT_USER
    assert capsys.readouterr().err == f"vbot: error: {wd / 'vbot.toml'}: {line}\n"
    assert fake.total_requests == 0 and len(remote.commits()) == 1


def test_every_declared_source_key_is_accepted(tmp_path) -> None:
    for cls in REGISTRY.values():
        assert source_keys(cls) == [*(["url"] if cls.url_env or cls.default_url else []),
                                    *(k for k, _ in cls.options)]
    config = Config(sources={"github": {"url": "https://gh.example", "max_pages": 2},
                             "gittags": {"timeout": 5, "rewrite": {}}})
    assert credential_problem(config) is None and source_table_problem(config) is None


def test_an_unknown_source_name_is_named_in_the_outcome(fake) -> None:
    outcome = check(fake, WORLD, "cox", PYPI.format(c="c", n="cox", v="0.1"), "0.1",
                    **controls(sources=["nosuch"]))
    assert (outcome.status, outcome.reason) == (
        "nosource", "unknown source 'nosuch' in bot.version_updates.sources")
    # a known name (a conda-forge alias too) is no problem
    outcome = check(fake, WORLD, "cox", PYPI.format(c="c", n="cox", v="0.1"), "0.1",
                    **controls(sources=["PyPI"]))
    assert (outcome.status, outcome.version) == ("found", "0.1.post3")


def test_a_steered_config_carries_no_token_even_unchecked(tmp_path) -> None:
    """A second guard: a Config whose GitHub URL the data repo chose has no token to attach,
    whether or not the pre-check ran; the operator's override gives it back."""
    (tmp_path / "vbot.toml").write_text('[sources.github]\nurl = "http://127.0.0.1:9/gh"\n')
    steered = load_config(tmp_path, None, {"GITHUB_TOKEN": TOKEN})
    assert steered.github_token is None
    assert REGISTRY["github"].credentials(steered) == {}
    assert steered.operator_only().github_token == TOKEN
    overridden = load_config(tmp_path, None, {"GITHUB_TOKEN": TOKEN,
                                              "VBOT_GITHUB_API_URL": "https://gh.example"})
    assert overridden.github_token == TOKEN and credential_problem(overridden) is None
    # whatever the URL: the data repo does not get to name it while a token is set
    (tmp_path / "vbot.toml").write_text('[sources.github]\nurl = "https://api.github.com/"\n')
    assert "[sources.github] url is set by the data repo" in credential_problem(
        load_config(tmp_path, None, {"GITHUB_TOKEN": TOKEN}))
    assert credential_problem(load_config(tmp_path, None, {})) is None  # no token: its URL


def test_every_key_a_source_reads_is_declared() -> None:
    """The per-source key check refuses what a source does not declare: a key a source reads
    (``source_option(self.name, "key")``) must be in its ``options``, or it could never be set."""
    import inspect
    import re

    for cls in REGISTRY.values():
        text = inspect.getsource(inspect.getmodule(cls))
        read = set(re.findall(r"source_option\(\s*(?:self|cls)\.name,\s*\"(\w+)\"", text))
        assert read <= set(source_keys(cls)), (cls.name, read - set(source_keys(cls)))
