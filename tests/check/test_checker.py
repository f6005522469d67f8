"""The checker: sources in the node's order, the first answer wins, and what each kind of
failure becomes (an upstream's answer is a result; vbot's own failure is not)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import ClassVar

import pytest

from tests.helpers import Blocking
from vbot.check.checker import Checker
from vbot.check.outcome import BAD, FOUND, INTERNAL, NONE, NOSOURCE, TRANSIENT
from vbot.config import Config
from vbot.errors import UpstreamError, VbotError
from vbot.httpclient.client import HttpClient
from vbot.repo.nodeinfo import Controls, NodeInfo
from vbot.sources import Context, Source


class Scripted(Source[str]):
    """Matches nodes named in ``answers``; answers what the script says (a list of versions,
    or an exception to raise). Notes the nodes ``prefetch`` hands it."""

    name = "scripted"
    answers: ClassVar[dict[str, object]] = {}
    planned: ClassVar[list[str]] = []

    def match(self, node: NodeInfo) -> str | None:
        return node.name if node.name in self.answers else None

    def batches(self) -> bool:
        return True

    def prefetch(self, nodes: Sequence[NodeInfo]) -> None:
        type(self).planned = [n.name for n in nodes]

    async def versions(self, target: str, node: NodeInfo) -> list[str]:
        answer = self.answers[target]
        if isinstance(answer, BaseException):
            raise answer
        return list(answer)  # type: ignore[call-overload]


class Second(Scripted):
    name = "second"
    answers: ClassVar[dict[str, object]] = {}


def _checker(first: dict[str, object], second: dict[str, object] | None = None) -> Checker:
    config = Config(env={})
    Scripted.answers, Second.answers = first, second or {}
    checker = Checker(Context(config=config, http=HttpClient(config.http, {})),
                      registry={"scripted": Scripted, "second": Second})
    checker.default_order = ["scripted", "second"]
    return checker


def _node(name: str, **controls: object) -> NodeInfo:
    return NodeInfo(name=name, version="1.0", controls=Controls(**controls))  # type: ignore[arg-type]


def test_prefetch_hands_each_source_the_nodes_it_is_asked_first() -> None:
    checker = _checker({"a": ["2.0"], "b": ["3.0"]}, {"b": ["9.0"], "c": ["4.0"]})
    nodes = [_node(n) for n in ("a", "b", "c", "d")]
    checker.prefetch(nodes)
    assert Scripted.planned == ["a", "b"] and Second.planned == ["c"]
    got = [Blocking(checker).check(n) for n in nodes]
    assert [(o.status, o.source, o.version) for o in got] == [
        (FOUND, "scripted", "2.0"), (FOUND, "scripted", "3.0"), (FOUND, "second", "4.0"),
        (NOSOURCE, None, None)]
    # the same results without prefetch
    fresh = _checker({"a": ["2.0"], "b": ["3.0"]}, {"b": ["9.0"], "c": ["4.0"]})
    assert [Blocking(fresh).check(n) for n in nodes] == got


def test_a_node_names_its_sources_and_their_order() -> None:
    checker = _checker({"a": ["2.0"]}, {"a": ["3.0"]})
    assert Blocking(checker).check(_node("a", sources=("second", "scripted"))).version == "3.0"
    assert Blocking(checker).check(_node("a", sources=("scripted",))).version == "2.0"


@pytest.mark.parametrize(("answer", "status", "reason"), [
    (["2.0rc1", "not a version"], NONE, "no stable version upstream"),
    (UpstreamError("HTTP 404 from x"), BAD, "HTTP 404 from x"),
    (UpstreamError("timed out", transient=True), TRANSIENT, "timed out"),
    (VbotError("scripted is not configured"), INTERNAL, "scripted is not configured"),
    (KeyError("oops"), INTERNAL, "internal error: KeyError: 'oops'"),
], ids=["no-stable", "permanent", "transient", "vbot-error", "bug"])
def test_what_each_answer_becomes(answer: object, status: str, reason: str) -> None:
    out = Blocking(_checker({"a": answer})).check(_node("a"))
    assert (out.status, out.source, out.reason) == (status, "scripted", reason)


def test_an_upstream_failure_lets_the_next_source_answer_but_vbots_does_not() -> None:
    upstream = _checker({"a": UpstreamError("HTTP 500", transient=True)}, {"a": ["2.0"]})
    assert Blocking(upstream).check(_node("a")).version == "2.0"
    ours = _checker({"a": VbotError("bad setting")}, {"a": ["2.0"]})
    out = Blocking(ours).check(_node("a"))
    assert (out.status, out.reason) == (INTERNAL, "bad setting")
    # a permanent failure outranks a transient one when no source answers
    both = _checker({"a": UpstreamError("slow", transient=True)}, {"a": UpstreamError("gone")})
    out = Blocking(both).check(_node("a"))
    assert (out.status, out.source, out.reason) == (BAD, "second", "gone")


class Based(Source[str]):
    name = "based"
    url_env = ("VBOT_BASED_URL",)

    def match(self, node: NodeInfo) -> str | None:
        return node.name

    async def versions(self, target: str, node: NodeInfo) -> list[str]:
        return [self.base_url().rsplit("/", 1)[-1]]


def test_the_base_url_follows_the_config() -> None:
    config = Config(env={"VBOT_BASED_URL": "http://one.example/1.0"})
    checker = Checker(Context(config=config, http=HttpClient(config.http, {})),
                      registry={"based": Based})
    checker.default_order = ["based"]
    node = NodeInfo(name="n", version="0.1")
    assert Blocking(checker).check(node).version == "1.0"
    checker.ctx.config = dataclasses.replace(config, env={"VBOT_BASED_URL": "ftp://x/2.0"})
    out = Blocking(checker).check(node)
    assert out.status == INTERNAL and "not an http(s) URL" in (out.reason or "")
    checker.ctx.config = dataclasses.replace(config, env={"VBOT_BASED_URL": "http://x/2.0"})
    assert Blocking(checker).check(node).version == "2.0"
