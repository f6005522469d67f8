"""vbot/httpclient/session.py (requests underneath) against a scripted loopback server speaking raw
HTTP/1.1 bytes: the framings the fake upstream never uses (chunked, gzip, read-to-close, interim
answers), broken answers, the body cap, unsendable URLs and connection reuse."""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import Iterator

import pytest

from vbot.httpclient.session import (
    BodyTooLarge,
    ExchangeError,
    InvalidURL,
    exchange,
    new_session,
    retries_for,
)


class Scripted:
    """Answers each request with the next scripted reply; ``None`` closes the connection
    instead of answering; a reply ending in ``b"<close>"`` is sent and then the socket closed."""

    def __init__(self, replies: list[bytes | None]) -> None:
        self.replies = list(replies)
        self.requests: list[bytes] = []
        self.connections = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.replies:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                while self.replies:
                    head = b""
                    while b"\r\n\r\n" not in head:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        head += chunk
                    if not head:
                        break
                    self.requests.append(head)
                    reply = self.replies.pop(0)
                    if reply is None:
                        break
                    closing = reply.endswith(b"<close>")
                    conn.sendall(reply.removesuffix(b"<close>"))
                    if closing:
                        break

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def scripted() -> Iterator[type[Scripted]]:
    made: list[Scripted] = []

    def make(replies: list[bytes | None]) -> Scripted:
        server = Scripted(replies)
        made.append(server)
        return server

    yield make  # type: ignore[misc]
    for server in made:
        server.close()


def fetch(url: str, *urls: str, method: str = "GET", max_bytes: int = 1 << 20,
          retries: int = 0) -> list:
    """The answers to requests of ``url`` and ``urls`` in turn, on one session."""
    session = new_session({"User-Agent": "vbot-test"}, pool_size=4,
                          retries=retries_for(retries, 0.0, 1.0))
    try:
        return [exchange(session, method, u, {}, (2.0, 2.0), None, max_bytes, None)
                for u in (url, *urls)]
    finally:
        session.close()


def test_chunked_body_with_extensions_and_trailers(scripted) -> None:
    server = scripted([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                       b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n"])
    (answer,) = fetch(f"{server.url}/a")
    assert answer.status == 200 and answer.body == b"hello world"


def test_gzip_body_is_decoded(scripted) -> None:
    packed = gzip.compress(b'{"ok": true}')
    server = scripted([b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: "
                       + str(len(packed)).encode() + b"\r\n\r\n" + packed])
    (answer,) = fetch(f"{server.url}/a")
    assert answer.body == b'{"ok": true}'
    assert "gzip" in server.requests[0].decode().lower()  # it asked for compression


def test_gzip_bomb_is_capped_after_decoding(scripted) -> None:
    packed = gzip.compress(b" " * 5_000_000)
    server = scripted([b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: "
                       + str(len(packed)).encode() + b"\r\n\r\n" + packed])
    with pytest.raises(BodyTooLarge):
        fetch(f"{server.url}/a", max_bytes=1_000_000)


def test_body_read_to_close_and_the_connection_is_not_reused(scripted) -> None:
    server = scripted([b"HTTP/1.1 200 OK\r\n\r\nuntil the end<close>",
                       b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"])
    first, second = fetch(f"{server.url}/a", f"{server.url}/b")
    assert first.body == b"until the end" and second.body == b"ok"
    assert server.connections == 2


def test_keep_alive_reuses_one_connection(scripted) -> None:
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    server = scripted([reply, reply, reply])
    answers = fetch(f"{server.url}/a", f"{server.url}/b", f"{server.url}/c")
    assert [a.body for a in answers] == [b"ok"] * 3
    assert server.connections == 1


def test_a_connection_closed_while_idle_is_reopened_once(scripted) -> None:
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    server = scripted([reply, None, reply])  # the server drops the kept-alive connection
    first, second = fetch(f"{server.url}/a", f"{server.url}/b", retries=1)
    assert first.body == second.body == b"ok"
    assert server.connections == 2


def test_interim_answer_then_the_real_one(scripted) -> None:
    server = scripted([b"HTTP/1.1 100 Continue\r\n\r\n"
                       b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nyes"])
    (answer,) = fetch(f"{server.url}/a")
    assert (answer.status, answer.body) == (200, b"yes")


def test_headers_case_insensitive_and_repeats_joined(scripted) -> None:
    server = scripted([b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nlink: <a>; rel=next\r\n"
                       b"Vary: Accept\r\nvary: Origin\r\n\r\n"])
    (answer,) = fetch(f"{server.url}/a")
    assert answer.headers.get("Link") == "<a>; rel=next"
    assert answer.headers["VARY"] == "Accept, Origin"
    assert "LINK" in answer.headers and "Missing" not in answer.headers


@pytest.mark.parametrize("reply", [
    b"SMTP ready\r\n\r\n",  # not HTTP at all
    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort<close>",  # truncated body
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n<close>",
])
def test_broken_answers_are_transport_errors(scripted, reply: bytes) -> None:
    server = scripted([reply])
    with pytest.raises(ExchangeError):
        fetch(f"{server.url}/a")


def test_declared_length_over_the_cap_is_refused_before_reading(scripted) -> None:
    server = scripted([b"HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n"])
    with pytest.raises(BodyTooLarge) as err:
        fetch(f"{server.url}/a", max_bytes=1000)
    assert err.value.declared == "999999999"


@pytest.mark.parametrize("url", ["http://127.0.0.1:1/a\r\nX-Injected: 1", "ftp://example.org/",
                                 "http:///nohost", "http://127.0.0.1:99999/"])
def test_unsendable_urls(url: str) -> None:
    with pytest.raises(InvalidURL):
        fetch(url)


def test_head_answer_has_no_body_and_does_not_wait_for_one(scripted) -> None:
    server = scripted([b"HTTP/1.1 200 OK\r\nContent-Length: 12345\r\n\r\n"])
    (answer,) = fetch(f"{server.url}/file.tar.gz", method="HEAD")
    assert answer.status == 200 and answer.body == b""
