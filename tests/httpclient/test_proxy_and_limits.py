"""The environment's proxy and .netrc settings (as requests honours them) and the per-host limit
the run summary names: real sweeps against the loopback fake upstream, through a real forward
proxy."""

from __future__ import annotations

import http.client
import http.server
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.helpers import Blocking, make_cf_tree, node_attrs, point_env_at
from vbot.commands.sweep import SweepOptions, sweep
from vbot.config import HttpSettings
from vbot.httpclient.client import HttpClient
from vbot.repo.paths import sharded_relpath
from vbot.run.executors import ChunkResult, ExecutorSpec, Recipe, Runner

WORLD = {"pypi": {f"pkg{i}": {"versions": ["1.0", f"1.{i + 1}"]} for i in range(10)}}
NODES = {f"pkg{i}": node_attrs(
    f"pkg{i}", f"https://pypi.example/packages/source/p/pkg{i}/pkg{i}-1.0.tar.gz", "1.0")
    for i in range(10)}
PROXY_VARS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY",
              "all_proxy", "NO_PROXY", "no_proxy")


class ForwardProxy(http.server.ThreadingHTTPServer):
    """A plain HTTP forward proxy on 127.0.0.1: takes absolute-URI requests, relays them to the
    origin and counts them."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Relay)
        self.seen: list[str] = []  # the absolute URIs it relayed
        self.lock = threading.Lock()
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class _Relay(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ForwardProxy

    def log_message(self, *args: object) -> None:
        pass

    def _relay(self) -> None:
        parts = urlsplit(self.path)
        if parts.scheme != "http" or not parts.hostname:  # not a proxy request
            self.send_error(400, "absolute http URI expected")
            return
        with self.server.lock:
            self.server.seen.append(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("proxy-connection", "connection", "host")}
        upstream = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=10)
        try:
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            upstream.request(self.command, target or "/", body=body, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        finally:
            upstream.close()

    do_GET = do_HEAD = do_POST = _relay


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    server = ForwardProxy()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def world(fake, monkeypatch):
    for key in PROXY_VARS:
        monkeypatch.delenv(key, raising=False)
    fake.set_world(WORLD)
    point_env_at(fake, monkeypatch)
    return fake


def run(tmp_path: Path, make_remote, **kw):
    remote = make_remote(make_cf_tree(tmp_path / "tree", NODES))
    report = sweep(SweepOptions(remote=remote.url, workdir=tmp_path / "work", progress=False,
                                http_cache=False, **kw))
    return report, remote


def assert_all_found(report, remote) -> None:
    assert report.counts()["found"] == len(NODES)
    for i in range(10):
        assert remote.show(sharded_relpath("versions", f"pkg{i}")) == {
            "new_version": f"1.{i + 1}"}


def test_sweep_goes_through_the_environment_proxy(tmp_path, make_remote, world, proxy,
                                                  monkeypatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    report, remote = run(tmp_path, make_remote)
    assert_all_found(report, remote)
    made = report.extra["requests"]
    assert made >= len(NODES)
    # every request of the sweep went through the proxy, as an absolute URI to the fake
    assert len(proxy.seen) == made
    assert all(uri.startswith(world.base_url + "/") for uri in proxy.seen)
    assert sum(1 for uri in proxy.seen if "/pypi/" in uri) == len(NODES)


def test_no_proxy_covering_the_upstream_bypasses_the_proxy(tmp_path, make_remote, world, proxy,
                                                           monkeypatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    report, remote = run(tmp_path, make_remote)
    assert_all_found(report, remote)
    assert report.extra["requests"] >= len(NODES)
    assert proxy.seen == []  # no request went through the proxy


def test_summary_names_the_host_whose_limit_held_requests_back(tmp_path, make_remote, world,
                                                                monkeypatch) -> None:
    world.set_world({**WORLD, "latency_ms": 100})
    monkeypatch.setenv("VBOT_HTTP_PER_HOST", "2")
    report, _ = run(tmp_path, make_remote, workers=10)
    limit = report.extra["host_limit"]
    origin = world.base_url.lower()
    assert limit["per_host"] == 2 and limit["workers"] == 10
    # 10 checks at once against one host allowing 2: most of them waited
    assert limit["held_back"][origin] >= 5
    out = io.StringIO()
    report.print_summary(out)
    line = [x for x in out.getvalue().splitlines() if "host limit" in x]
    assert line and origin in line[0] and "limit 2" in line[0] and "--workers 10" in line[0]


def test_no_host_limit_line_when_the_limit_never_held(tmp_path, make_remote, world,
                                                      monkeypatch) -> None:
    monkeypatch.setenv("VBOT_HTTP_PER_HOST", "16")
    report, _ = run(tmp_path, make_remote, workers=4)
    assert "host_limit" not in report.extra
    out = io.StringIO()
    report.print_summary(out)
    assert "host limit" not in out.getvalue()


def test_netrc_applies_only_where_vbot_has_no_credentials(fake, tmp_path, monkeypatch) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password netrc-pw\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    fake.set_world({**WORLD, "github": {"o/r": {"releases": [], "tags": ["v1"]}}})
    creds = {f"{fake.base_url}/github": {"Authorization": "Bearer tok-OWN-1"}}
    http = Blocking(HttpClient(HttpSettings(), creds))
    http.get(f"{fake.base_url}/pypi/pkg1/json")
    http.get(f"{fake.base_url}/github/repos/o/r/tags")
    seen = {h["path"]: h.get("Authorization") for h in fake.headers_seen}
    assert (seen["/pypi/pkg1/json"] or "").startswith("Basic ")  # requests read the .netrc
    assert seen["/github/repos/o/r/tags"] == "Bearer tok-OWN-1"  # vbot's own token wins


def test_held_back_counts_from_worker_processes_add_up() -> None:
    """Each worker reports its running totals with every chunk; the sweep adds up the latest."""
    runner = Runner(ExecutorSpec("process"), Recipe("sweep-x", dict), workers=4)
    runner._collect(ChunkResult((), "host:1", 5, (("http://a.example", 3),)))
    runner._collect(ChunkResult((), "host:1", 9, (("http://a.example", 7),)))
    runner._collect(ChunkResult((), "host:2", 4, (("http://a.example", 2),
                                                  ("http://b.example", 1))))
    assert runner.held_back == {"http://a.example": 9, "http://b.example": 1}
    assert runner.requests_made == 13
