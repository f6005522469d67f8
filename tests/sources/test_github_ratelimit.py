"""GitHub's rate limit (X-RateLimit-Remaining / -Reset), kept by the GitHub sources against the
loopback fake upstream: a pause holds only GitHub's API base, a far reset fails the rest of it
at once, the last allowed answer already stops it."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.helpers import Blocking
from vbot.config import HttpSettings
from vbot.errors import UpstreamError
from vbot.httpclient.client import HttpClient
from vbot.sources.github_ratelimit import RateLimit
from vbot.testing.fakeupstream import FakeUpstream

WORLD = {
    "pypi": {"attrs": {"versions": ["3.0"]}},
    "github": {"o/r": {"releases": [{"tag_name": "v1.2"}], "tags": ["v1.2"]}},
}
FAST = HttpSettings(connect_timeout=1.0, read_timeout=0.5, retries=2, backoff=0.05,
                    max_retry_after=3.0, max_rate_limit_wait=3.0, max_body_bytes=100_000)


def with_faults(fake: FakeUpstream, *faults: dict) -> FakeUpstream:
    fake.set_world({**WORLD, "faults": list(faults)})
    return fake


def test_rate_limit_pauses_only_github(fake: FakeUpstream) -> None:
    with_faults(fake, {"path": "/github/*", "kind": "ratelimit", "reset_in": 2, "first": 1})
    http = HttpClient(FAST)
    limit = RateLimit(http, f"{fake.base_url}/github")
    gh_done: list[float] = []
    start = time.monotonic()

    async def github() -> None:
        await limit.get(f"{fake.base_url}/github/repos/o/r/releases/latest")
        gh_done.append(time.monotonic() - start)

    async def pypi() -> float:
        await asyncio.sleep(0.3)  # GitHub is paused now
        await http.get(f"{fake.base_url}/pypi/attrs/json")  # same host, not GitHub
        return time.monotonic() - start

    async def both() -> float:
        _, took = await asyncio.gather(github(), pypi())
        return took

    pypi_took = asyncio.run(asyncio.wait_for(both(), 10))
    assert gh_done and gh_done[0] >= 1.0  # waited for the reset
    assert pypi_took < gh_done[0]  # the other source on the same host did not wait
    assert fake.requests["/github/repos/o/r/releases/latest"] == 2


@pytest.mark.parametrize("status", [403, 429])
def test_reset_too_far_fails_the_rest_of_github_at_once(fake: FakeUpstream, status: int) -> None:
    with_faults(fake, {"path": "/github/*", "kind": "ratelimit", "status": status,
                       "reset_in": 3600, "times": 1})
    http = HttpClient(FAST)
    limit = Blocking(RateLimit(http, f"{fake.base_url}/github"))
    start = time.monotonic()
    with pytest.raises(UpstreamError) as err:
        limit.get(f"{fake.base_url}/github/repos/o/r/releases/latest")
    assert err.value.rate_limited and "rate limited" in err.value.reason
    assert fake.requests["/github/repos/o/r/releases/latest"] == 1  # not retried blindly
    with pytest.raises(UpstreamError) as again:  # the fault is gone, but the limit is not reset
        limit.request("POST", f"{fake.base_url}/github/graphql", body=b"{}")
    assert again.value.rate_limited
    assert fake.requests["/github/graphql"] == 0  # not even asked
    assert Blocking(http).get(f"{fake.base_url}/pypi/attrs/json").status == 200
    assert time.monotonic() - start < 3.0  # nobody waited for the reset


def test_a_refusal_without_a_rate_limit_is_an_ordinary_failure(fake: FakeUpstream) -> None:
    with_faults(fake, {"path": "/github/*", "kind": "status", "status": 403})
    limit = Blocking(RateLimit(HttpClient(FAST), f"{fake.base_url}/github"))
    with pytest.raises(UpstreamError) as err:
        limit.get(f"{fake.base_url}/github/repos/o/r/tags")
    assert not err.value.transient and "HTTP 403" in err.value.reason
    assert fake.requests["/github/repos/o/r/tags"] == 1


def test_last_allowed_answer_stops_github_until_the_reset(fake: FakeUpstream) -> None:
    reset = str(int(time.time()) + 3600)
    with_faults(fake, {"path": "/github/repos/o/r/releases/latest", "kind": "status",
                       "status": 200, "times": 1,
                       "headers": {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}})
    limit = Blocking(RateLimit(HttpClient(FAST), f"{fake.base_url}/github"))
    assert limit.get(f"{fake.base_url}/github/repos/o/r/releases/latest").status == 200
    with pytest.raises(UpstreamError) as err:
        limit.get(f"{fake.base_url}/github/repos/o/r/tags")
    assert err.value.rate_limited
    assert fake.requests["/github/repos/o/r/tags"] == 0


def test_the_client_alone_fails_an_exhausted_limit_as_rate_limited(fake: FakeUpstream) -> None:
    """Outside the GitHub sources a used-up limit is a transient failure, not retried."""
    with_faults(fake, {"path": "/github/*", "kind": "ratelimit", "status": 429,
                       "reset_in": 1, "times": 1})
    with pytest.raises(UpstreamError) as err:
        Blocking(HttpClient(FAST)).get(f"{fake.base_url}/github/repos/o/r/tags")
    assert err.value.rate_limited and err.value.transient
    assert fake.requests["/github/repos/o/r/tags"] == 1
