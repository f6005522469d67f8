"""The environment's CA bundle (``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``), as requests honours
it, against a loopback https server whose certificate only that bundle vouches for; and the
environment's proxy and ``.netrc`` login on a first hop and on a redirect hop."""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import Blocking
from vbot.config import HttpSettings
from vbot.errors import UpstreamError
from vbot.httpclient.client import HttpClient

CA_VARS = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
PROXY_VARS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY",
              "all_proxy", "NO_PROXY", "no_proxy")


class Seen(http.server.ThreadingHTTPServer):
    """Answers ``{}`` (``…/hop`` redirects to its own ``/end``) and records each request's
    target (an absolute URI when it is used as a forward proxy) and ``Authorization``."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[tuple[str, str | None]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Seen

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.seen.append((self.path, self.headers.get("Authorization")))
        if self.path.endswith("/hop"):
            self.send_response(302)
            self.send_header("Location", self.server.url + "/end")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Seen]:
    srv = Seen()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def tls_server(server: Seen, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``server`` behind TLS with a fresh self-signed certificate for 127.0.0.1; yields its
    https URL and the certificate (the CA bundle that trusts it)."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    tls = Seen()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    tls.socket = context.wrap_socket(tls.socket, server_side=True)
    threading.Thread(target=tls.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{tls.server_address[1]}", cert
    tls.shutdown()
    tls.server_close()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in CA_VARS + PROXY_VARS + ("NETRC",):
        monkeypatch.delenv(key, raising=False)


@pytest.mark.parametrize("variable", CA_VARS)
def test_the_environment_ca_bundle_is_trusted(tls_server, clean_env, monkeypatch,
                                              variable) -> None:
    url, cert = tls_server
    monkeypatch.setenv(variable, str(cert))
    http = HttpClient(HttpSettings(retries=0))
    try:
        assert Blocking(http).get_json(url + "/x") == {}
    finally:
        http.close()


def test_without_the_bundle_the_certificate_is_refused(tls_server, clean_env) -> None:
    url, _ = tls_server
    http = HttpClient(HttpSettings(retries=0))
    try:
        with pytest.raises(UpstreamError) as err:
            Blocking(http).get(url + "/x")
        assert err.value.transient
    finally:
        http.close()


def test_the_environment_proxy_and_netrc_apply_to_first_and_redirect_hops(
        server, clean_env, tmp_path, monkeypatch) -> None:
    """The first hop is to a name only the proxy (``server``, answering itself) can reach; its
    redirect leads to loopback, whose .netrc login the hop then carries."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password netrc-pw\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HTTP_PROXY", server.url)
    http = HttpClient(HttpSettings(retries=0))
    try:
        resp = Blocking(http).get("http://far.example/hop")
    finally:
        http.close()
    assert resp.status == 200
    first, second = server.seen
    assert first == ("http://far.example/hop", None)  # through the proxy, no login there
    assert second[0].endswith("/end")
    assert (second[1] or "").startswith("Basic ")  # the .netrc login of 127.0.0.1
