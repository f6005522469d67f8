"""The HTTP layer against injected faults on the loopback fake upstream (real sockets)."""

from __future__ import annotations

import time

import pytest

from tests.helpers import Blocking
from vbot.config import HttpSettings
from vbot.errors import UpstreamError
from vbot.httpclient.client import HttpClient, retry_after
from vbot.testing.fakeupstream import FakeUpstream

WORLD = {
    "pypi": {"requests": {"versions": ["1.0", "2.0"]}, "attrs": {"versions": ["3.0"]}},
    "github": {"o/r": {"releases": [{"tag_name": "v1.2"}], "tags": ["v1.2"]}},
}
FAST = HttpSettings(connect_timeout=1.0, read_timeout=0.5, retries=2, backoff=0.05,
                    max_retry_after=3.0, max_rate_limit_wait=3.0, max_body_bytes=100_000)


def async_client(fake: FakeUpstream, settings: HttpSettings = FAST, token: str | None = None
                 ) -> HttpClient:
    creds = {f"{fake.base_url}/github": {"Authorization": f"Bearer {token}"}} if token else {}
    return HttpClient(settings, creds)


def client(fake: FakeUpstream, settings: HttpSettings = FAST, token: str | None = None
           ) -> Blocking:
    """The client with blocking calls (one event loop per call)."""
    return Blocking(async_client(fake, settings, token))


def with_faults(fake: FakeUpstream, *faults: dict) -> FakeUpstream:
    fake.set_world({**WORLD, "faults": list(faults)})
    return fake


def test_5xx_then_success_is_retried(fake: FakeUpstream) -> None:
    with_faults(fake, {"path": "/pypi/requests/json", "kind": "status", "status": 503,
                       "first": 2})
    doc = client(fake).get_json(f"{fake.base_url}/pypi/requests/json")
    assert sorted(doc["releases"]) == ["1.0", "2.0"]
    assert fake.requests["/pypi/requests/json"] == 3


def test_5xx_forever_is_transient(fake: FakeUpstream) -> None:
    with_faults(fake, {"path": "/pypi/*", "kind": "status", "status": 500})
    with pytest.raises(UpstreamError) as err:
        client(fake).get(f"{fake.base_url}/pypi/requests/json")
    assert err.value.transient and "HTTP 500" in err.value.reason
    assert fake.requests["/pypi/requests/json"] == FAST.retries + 1


def test_404_is_permanent_without_retry(fake: FakeUpstream) -> None:
    with_faults(fake)
    with pytest.raises(UpstreamError) as err:
        client(fake).get(f"{fake.base_url}/pypi/nope/json")
    assert not err.value.transient and "HTTP 404" in err.value.reason
    assert fake.requests["/pypi/nope/json"] == 1


@pytest.mark.parametrize("kind", ["timeout", "reset"])
def test_network_faults_are_transient_and_bounded(fake: FakeUpstream, kind: str) -> None:
    with_faults(fake, {"path": "/pypi/*", "kind": kind, "seconds": 2})
    start = time.monotonic()
    with pytest.raises(UpstreamError) as err:
        client(fake).get(f"{fake.base_url}/pypi/requests/json")
    assert err.value.transient
    assert ("timed out" if kind == "timeout" else "connection failed") in err.value.reason
    # three attempts, each bounded by the read timeout, plus small backoffs
    assert time.monotonic() - start < 3 * FAST.read_timeout + 3  # not the server's 2 s x 3


def test_429_retry_after_is_honoured(fake: FakeUpstream) -> None:
    with_faults(fake, {"path": "/pypi/*", "kind": "status", "status": 429, "retry_after": 1,
                       "first": 1})
    start = time.monotonic()
    client(fake).get(f"{fake.base_url}/pypi/requests/json")
    assert time.monotonic() - start >= 0.95
    assert fake.requests["/pypi/requests/json"] == 2


def test_retry_after_beyond_the_cap_fails_fast_as_rate_limited(fake: FakeUpstream) -> None:
    with_faults(fake, {"path": "/pypi/*", "kind": "status", "status": 429, "retry_after": 3600})
    start = time.monotonic()
    with pytest.raises(UpstreamError) as err:
        client(fake).get(f"{fake.base_url}/pypi/requests/json")
    assert err.value.rate_limited and err.value.transient
    assert "Retry-After" in err.value.reason
    assert time.monotonic() - start < 2.5  # neither waited nor retried early
    assert fake.requests["/pypi/requests/json"] == 1


@pytest.mark.parametrize(("kind", "words"), [
    ("malformed", "malformed JSON"), ("html", "HTML page"), ("huge", "larger than")])
def test_malformed_bodies_are_permanent_with_a_reason(fake: FakeUpstream, kind: str,
                                                      words: str) -> None:
    with_faults(fake, {"path": "/pypi/*", "kind": kind, "bytes": 500_000})
    with pytest.raises(UpstreamError) as err:
        client(fake).get_json(f"{fake.base_url}/pypi/requests/json")
    assert not err.value.transient and words in err.value.reason


def test_deadline_bounds_a_slow_body(fake: FakeUpstream) -> None:
    with_faults(fake, {"path": "/pypi/*", "kind": "slow", "bytes": 200, "seconds": 20})
    http = client(fake, HttpSettings(read_timeout=5, retries=3))
    start = time.monotonic()
    http.set_deadline(start + 1.0)
    with pytest.raises(UpstreamError) as err:
        http.get(f"{fake.base_url}/pypi/requests/json")
    assert err.value.transient and "deadline" in err.value.reason
    assert time.monotonic() - start < 4.0  # the body would take 20 s
    with pytest.raises(UpstreamError):  # after the deadline nothing is sent at all
        http.get(f"{fake.base_url}/pypi/attrs/json")
    assert fake.requests["/pypi/attrs/json"] == 0


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x", "gopher://x/",
                                 "/relative/path"])
def test_only_http_and_https_are_fetched(fake: FakeUpstream, url: str) -> None:
    with pytest.raises(UpstreamError) as err:
        client(fake).get(url)
    assert "refusing" in err.value.reason and not err.value.transient


def test_a_rewrite_cannot_smuggle_another_scheme(fake: FakeUpstream) -> None:
    settings = HttpSettings(rewrite=(("https://mirror.example/", "file:///etc/"),))
    with pytest.raises(UpstreamError, match="refusing file"):
        Blocking(HttpClient(settings)).get("https://mirror.example/passwd")


def test_redirect_to_another_host_drops_the_token(fake: FakeUpstream) -> None:
    with FakeUpstream(WORLD) as other:
        target = f"{other.base_url}/github/repos/o/r/releases/latest"
        with_faults(fake, {"path": "/github/repos/o/r/releases/latest", "kind": "redirect",
                           "location": target})
        resp = client(fake, token="tok-SECRET-1234").get(
            f"{fake.base_url}/github/repos/o/r/releases/latest",
            headers={"Cookie": "session=SECRET-COOKIE"})
        assert resp.status == 200 and resp.url == target
        first = [h for h in fake.headers_seen if h["path"].startswith("/github/")]
        assert first[0].get("Authorization") == "Bearer tok-SECRET-1234"
        assert other.headers_seen, "the redirect was followed"
        for seen in other.headers_seen:
            assert "Authorization" not in seen and "Cookie" not in seen


def test_same_origin_redirect_outside_the_api_base_drops_the_token(fake: FakeUpstream) -> None:
    world_files = {**WORLD, "files": ["https://downloads.example/pkg-1.0.tar.gz"]}
    fake.set_world({**world_files, "faults": [
        {"path": "/github/repos/o/r/tags", "kind": "redirect",
         "location": "/files/downloads.example/pkg-1.0.tar.gz"}]})
    http = client(fake, token="tok-SECRET-5678")
    http.get(f"{fake.base_url}/github/repos/o/r/tags")
    http.get(f"{fake.base_url}/files/downloads.example/pkg-1.0.tar.gz")  # a rawurl-style probe
    by_path = [(h["path"], h.get("Authorization")) for h in fake.headers_seen]
    assert ("/github/repos/o/r/tags", "Bearer tok-SECRET-5678") in by_path
    assert all(auth is None for path, auth in by_path if path.startswith("/files/"))
    assert len([p for p, _ in by_path if p.startswith("/files/")]) == 2


@pytest.mark.parametrize(("value", "low", "high"), [
    ("7", 7, 7), ("0", 0, 0), ("-3", 0, 0), ("soon", None, None), ("", None, None),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 0, 0)])
def test_retry_after_parsing(value: str, low: float | None, high: float | None) -> None:
    got = retry_after(value)
    if low is None:
        assert got is None
    else:
        assert got is not None and low <= got <= high


def test_retry_after_http_date_in_the_future() -> None:
    import email.utils

    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    got = retry_after(when)
    assert got is not None and 25 <= got <= 31
