"""The per-request time limit against a loopback server trickling one byte a second, the rule
that credentials never go over plain http except to loopback (a header-logging server, direct
and behind a forward proxy for a non-loopback host name), and redaction of failure reasons."""

from __future__ import annotations

import asyncio
import http.server
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.helpers import Blocking
from vbot.check.factory import make_http
from vbot.config import Config, HttpSettings, load_config
from vbot.errors import UpstreamError
from vbot.httpclient.client import HttpClient, show
from vbot.httpclient.session import exchange, is_loopback, may_carry_credentials, new_session

TOKEN = "tok-SECRET-9876"
PROXY_VARS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY",
              "all_proxy", "NO_PROXY", "no_proxy")


class Logging(http.server.ThreadingHTTPServer):
    """Answers every request ``{}`` and records the headers it received (by request target:
    an absolute URI when it is used as a forward proxy). ``trickle``: the body is ``trickle``
    bytes sent one a second."""

    daemon_threads = True

    def __init__(self, trickle: int = 0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.trickle = trickle
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Logging

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in {"Content-Length": "0", **headers}.items():
            self.send_header(key, value)
        self.end_headers()
        self.close_connection = headers.get("Content-Length", "0") != "0"

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.server.seen.append((self.path, dict(self.headers.items())))
        if self.path.startswith("/loop"):  # redirects to itself, for ever
            self._answer(302, {"Location": "/loop"})
            return
        if self.path.startswith("/big"):  # says it is larger than any cap
            self._answer(200, {"Content-Length": str(1 << 40)})
            return
        if self.path.startswith("/bigredirect"):  # a redirect with a large body
            self._answer(302, {"Location": "/ok", "Content-Length": str(1 << 40)})
            return
        if self.path.startswith("/toftp"):
            self._answer(302, {"Location": "ftp://127.0.0.1/x"})
            return
        if "/redirect/" in self.path:  # /redirect/<path>: 302 to /<path>
            self.send_response(302)
            self.send_header("Location", "/" + self.path.split("/redirect/", 1)[1])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        size = self.server.trickle or 2
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        try:
            if not self.server.trickle:
                self.wfile.write(b"{}")
                return
            for _ in range(size):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(1.0)
        except OSError:
            pass
        self.close_connection = True


@pytest.fixture
def serve() -> Iterator:
    made: list[Logging] = []

    def start(trickle: int = 0) -> Logging:
        server = Logging(trickle)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        made.append(server)
        return server

    yield start
    for server in made:
        server.shutdown()
        server.server_close()


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in PROXY_VARS:
        monkeypatch.delenv(key, raising=False)


# -- the per-request time limit -----------------------------------------------------------

def test_a_trickling_upstream_costs_at_most_the_request_limit(serve, no_proxy_env) -> None:
    server = serve(trickle=600)  # ten minutes of body, one byte a second
    http = Blocking(HttpClient(HttpSettings(request_timeout=2.0, read_timeout=20, retries=3)))
    start = time.monotonic()
    with pytest.raises(UpstreamError) as err:
        http.get(f"{server.url}/slow.json")
    took = time.monotonic() - start
    assert 1.8 <= took < 3.5
    assert err.value.transient and "request_timeout" in err.value.reason
    assert len(server.seen) == 1  # the limit is spent: no retry


def test_trickling_status_line_and_headers_are_cut_off_too(no_proxy_env) -> None:
    """Each byte of the answer's head arrives well within the read timeout: only the request's
    own limit can end it."""
    sock = socket.create_server(("127.0.0.1", 0))
    asked: list[float] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                asked.append(time.monotonic())
                try:
                    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" * 10:
                        conn.sendall(bytes([byte]))
                        time.sleep(1.0)
                except OSError:
                    pass

    threading.Thread(target=serve, daemon=True).start()
    try:
        http = Blocking(HttpClient(HttpSettings(request_timeout=2.0, read_timeout=20)))
        start = time.monotonic()
        with pytest.raises(UpstreamError) as err:
            http.get(f"http://127.0.0.1:{sock.getsockname()[1]}/x")
        assert 1.8 <= time.monotonic() - start < 3.5
        assert err.value.transient and "request_timeout" in err.value.reason
        assert len(asked) == 1
    finally:
        sock.close()


def test_the_default_limit_is_set_and_configurable(tmp_path) -> None:
    assert HttpSettings().request_timeout == 60.0
    (tmp_path / "vbot.toml").write_text("[http]\nrequest_timeout = 7\n")
    assert load_config(tmp_path, env={}).http.request_timeout == 7.0
    env = {"VBOT_HTTP_REQUEST_TIMEOUT": "3.5"}
    assert load_config(tmp_path, env=env).http.request_timeout == 3.5


def test_a_limit_of_zero_means_none(serve, no_proxy_env) -> None:
    server = serve(trickle=2)
    http = Blocking(HttpClient(HttpSettings(request_timeout=0, read_timeout=5)))
    assert http.get(f"{server.url}/slow.json").body == b"  "


def test_failed_exchanges_give_their_connection_back(serve, no_proxy_env) -> None:
    """One connection per host (``pool_block``): every way an exchange can fail must return
    it, or the next request to the host would wait for ever."""
    server = serve()
    http = HttpClient(HttpSettings(max_body_bytes=1000, retries=0), concurrency=1)
    expected = {"/loop": "too many redirects", "/big": "larger than",
                "/bigredirect": "larger than", "/toftp": "refusing ftp"}

    async def run() -> list[str]:
        reasons = []
        for path in expected:
            try:
                await http.get(f"{server.url}{path}")
            except UpstreamError as exc:
                reasons.append(exc.reason)
        reasons.append((await http.get(f"{server.url}/ok")).text())
        return reasons

    try:
        reasons = asyncio.run(asyncio.wait_for(run(), 20))
    finally:
        http.close()
    for reason, words in zip(reasons, expected.values(), strict=False):
        assert words in reason
    assert len(reasons) == 5 and reasons[-1] == "{}"


# -- credentials over plain http ----------------------------------------------------------

@pytest.mark.parametrize(("url", "allowed"), [
    ("https://api.example/x", True), ("http://127.0.0.1:8080/gh/", True),
    ("http://127.3.4.5/gh/", True), ("http://[::1]:80/gh/", True),
    ("http://localhost:9/gh/", True), ("http://LOCALHOST./gh/", True),
    ("http://[::ffff:127.0.0.1]/", True),
    ("http://api.example/gh/", False), ("http://10.0.0.1/gh/", False),
    ("http://localhost.example/gh/", False), ("http://127.0.0.1.example/", False),
    ("ftp://127.0.0.1/", False), ("http://[::2]/", False),
])
def test_which_urls_may_carry_credentials(url: str, allowed: bool) -> None:
    assert may_carry_credentials(url) is allowed


def test_loopback_names() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("") and not is_loopback(None) and not is_loopback("example.org")


def test_credentials_reach_a_loopback_http_prefix_only_under_it(serve, no_proxy_env) -> None:
    server = serve()
    http = Blocking(HttpClient(HttpSettings(), {f"{server.url}/api": {
        "Authorization": f"Bearer {TOKEN}"}}))
    http.get(f"{server.url}/api/repos/o/r")
    http.get(f"{server.url}/apiary/x")  # same host, not under the prefix
    http.get(f"{server.url}/other")
    auth = {path: headers.get("Authorization") for path, headers in server.seen}
    assert auth == {"/api/repos/o/r": f"Bearer {TOKEN}", "/apiary/x": None, "/other": None}


def test_no_credential_over_plain_http_to_another_host(serve, monkeypatch, capsys) -> None:
    """A host name that is not loopback, reached through a forward proxy on loopback that logs
    what it is asked: the token configured for it is not sent, and the sweep says so once."""
    proxy = serve()
    for key in PROXY_VARS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    env = {"GITHUB_TOKEN": TOKEN, "VBOT_GITHUB_API_URL": "http://gh.example/api"}
    http = make_http(Config(env=env), 4)
    assert http.refused_credentials == ("http://gh.example/api/",)
    assert not http.credentialed("http://gh.example/api/graphql")
    Blocking(http).get("http://gh.example/api/repos/o/r/tags")
    (target, headers), = proxy.seen
    assert target == "http://gh.example/api/repos/o/r/tags"  # it went through the proxy
    assert "Authorization" not in headers and TOKEN not in str(headers)
    err = capsys.readouterr().err
    assert err.count("not sending credentials to http://gh.example/api/") == 1
    assert TOKEN not in err
    make_http(Config(env=env), 4, warn=False)  # a worker process's client says nothing
    assert capsys.readouterr().err == ""


def test_the_session_strips_credentials_bound_for_plain_http_elsewhere(serve, monkeypatch
                                                                      ) -> None:
    """The last line: a session given a credential for a plain-http prefix of another host
    (the client never does that), and a caller's own Authorization, sends neither."""
    proxy = serve()
    for key in PROXY_VARS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    session = new_session({}, 2, credentials=[("http://gh.example/", {
        "Authorization": f"Bearer {TOKEN}", "X-Api-Token": TOKEN})])
    try:
        exchange(session, "GET", "http://gh.example/x", {"Authorization": "Basic abc"},
                 (2.0, 2.0), None, 1000, None)
    finally:
        session.close()
    (target, headers), = proxy.seen
    assert target == "http://gh.example/x"
    assert "Authorization" not in headers and "X-Api-Token" not in headers


def test_a_redirect_within_the_prefix_keeps_the_credential_and_leaving_drops_it(
        serve, no_proxy_env) -> None:
    server = serve()
    http = Blocking(HttpClient(HttpSettings(), {f"{server.url}/api": {
        "Authorization": f"Bearer {TOKEN}"}}))
    assert http.get(f"{server.url}/api/redirect/api/b").url == f"{server.url}/api/b"
    http.get(f"{server.url}/api/redirect/public/c")
    auth = [(path, headers.get("Authorization")) for path, headers in server.seen]
    assert auth == [("/api/redirect/api/b", f"Bearer {TOKEN}"), ("/api/b", f"Bearer {TOKEN}"),
                    ("/api/redirect/public/c", f"Bearer {TOKEN}"), ("/public/c", None)]


def test_redirect_hops_are_rewritten(serve, no_proxy_env) -> None:
    """A Location naming a rewritten host is fetched where the rewrite says."""
    server = serve()
    rules = (("https://mirror.example/", f"{server.url}/m/"),)
    http = Blocking(HttpClient(HttpSettings(rewrite=rules)))
    http.get("https://mirror.example/redirect/x")  # -> /m/redirect/x -> 302 /x on the server
    assert [path for path, _ in server.seen] == ["/m/redirect/x", "/x"]


# -- redaction ----------------------------------------------------------------------------

def test_failure_reasons_carry_no_userinfo_query_token_or_credential(serve, no_proxy_env
                                                                       ) -> None:
    server = serve()
    host = server.url.removeprefix("http://")
    http = Blocking(HttpClient(HttpSettings(retries=0), {f"{server.url}/api": {
        "Authorization": f"Bearer {TOKEN}"}}))
    url = f"http://user:pw-SECRET@{host}/nothing?access_token=q-SECRET&page=2"
    with pytest.raises(UpstreamError) as err:
        http.get(url, ok=(404,))  # a 200 outside ``ok`` is a failure naming the URL
    assert "SECRET" not in err.value.reason and "page=2" in err.value.reason
    refused = f"ftp://u:p-SECRET@{host}/{TOKEN}"
    with pytest.raises(UpstreamError) as err:
        http.get(refused)
    assert "SECRET" not in err.value.reason and "refusing ftp" in err.value.reason


def test_show_masks_token_like_query_values() -> None:
    text = show("GET https://a.example/x?api_key=K1&sig=S2&q=ok#f and http://u:p@b.example/")
    assert "K1" not in text and "S2" not in text and "q=ok" in text
    assert "u:p@" not in text
