"""Work a sweep does once per node: prefetch's match is reused by check; a source's base URL
is worked out once per config."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import pytest

from tests.helpers import Blocking
from vbot.check.checker import FOUND, INTERNAL, Checker
from vbot.config import Config
from vbot.httpclient.client import HttpClient
from vbot.repo.nodeinfo import NodeInfo
from vbot.sources import Context, Source


class Counted(Source[str]):
    """Matches every node; answers one version; counts its match calls."""

    name = "counted"
    calls: ClassVar[list[str]] = []

    def match(self, node: NodeInfo) -> str | None:
        self.calls.append(node.name)
        return f"target-{node.name}"

    def batches(self) -> bool:
        return True

    async def versions(self, target: str, node: NodeInfo) -> list[str]:
        assert target == f"target-{node.name}"
        return ["1.0", "2.0"]


def _checker(env: dict[str, str] | None = None) -> Checker:
    config = Config(env=env or {})
    checker = Checker(Context(config=config, http=HttpClient(config.http, {})),
                      registry={"counted": Counted})
    checker.default_order = ["counted"]
    return checker


def test_check_takes_the_match_prefetch_made() -> None:
    Counted.calls.clear()
    checker = _checker()
    nodes = [NodeInfo(name=n, version="1.0") for n in ("a", "b")]
    checker.prefetch(nodes)
    assert Counted.calls == ["a", "b"]
    got = [Blocking(checker).check(n) for n in nodes]
    assert [(o.status, o.version) for o in got] == [(FOUND, "2.0"), (FOUND, "2.0")]
    assert Counted.calls == ["a", "b"]  # not matched again
    # another node object of the same name (another sweep's, a test's) is matched afresh
    again = NodeInfo(name="a", version="1.0")
    assert Blocking(checker).check(again).status == FOUND
    assert Counted.calls == ["a", "b", "a"]


def test_without_prefetch_check_matches() -> None:
    Counted.calls.clear()
    checker = _checker()
    assert Blocking(checker).check(NodeInfo(name="x", version="1.0")).version == "2.0"
    assert Counted.calls == ["x"]


class Based(Source[str]):
    name = "based"
    url_env = ("VBOT_BASED_URL",)

    def match(self, node: NodeInfo) -> str | None:
        return node.name

    async def versions(self, target: str, node: NodeInfo) -> list[str]:
        return [self.base_url().rsplit("/", 1)[-1]]


def test_the_base_url_is_worked_out_again_for_another_config(
        monkeypatch: pytest.MonkeyPatch) -> None:
    config = Config(env={"VBOT_BASED_URL": "http://one.example/1.0"})
    checker = Checker(Context(config=config, http=HttpClient(config.http, {})),
                      registry={"based": Based})
    checker.default_order = ["based"]
    problems: list[Any] = []
    real = Based.config_problem.__func__  # type: ignore[attr-defined]

    def counting(cls: type[Based], cfg: Config) -> str | None:
        problems.append(cfg)
        return real(cls, cfg)

    monkeypatch.setattr(Based, "config_problem", classmethod(counting))
    node = NodeInfo(name="n", version="0.1")
    assert Blocking(checker).check(node).version == "1.0"
    assert Blocking(checker).check(node).version == "1.0"
    assert len(problems) == 1  # once per config, not once per request
    checker.ctx.config = dataclasses.replace(config, env={"VBOT_BASED_URL": "ftp://x/2.0"})
    out = Blocking(checker).check(node)
    assert out.status == INTERNAL and "not an http(s) URL" in (out.reason or "")
    checker.ctx.config = dataclasses.replace(config, env={"VBOT_BASED_URL": "http://x/2.0"})
    assert Blocking(checker).check(node).version == "2.0"
