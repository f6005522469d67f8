"""Check single nodes against the fake upstream with the real checker and HTTP client."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any

from tests.conftest import Blocking, node_attrs
from vbot.check.checker import Checker, Outcome
from vbot.check.factory import make_http
from vbot.config import load_config
from vbot.repo.nodeinfo import node_info
from vbot.sources import Context
from vbot.testing.fakeupstream import FakeUpstream


def checker_for(fake: FakeUpstream, world: dict[str, Any],
                options: dict[str, dict[str, Any]] | None = None, **env: str) -> Blocking:
    """A checker (with a blocking ``check``) whose sources point at ``fake`` serving
    ``world``; ``options`` are ``[sources.<name>]`` tables as in vbot.toml."""
    fake.set_world(world)
    config = load_config(None, None, env={**fake.env(), **env})
    if options:
        config = dataclasses.replace(config, sources=MappingProxyType(options))
    return Blocking(Checker(Context(config=config, http=make_http(config, 4))))


def controls(**vu: Any) -> dict[str, Any]:
    return {"conda-forge.yml": {"bot": {"version_updates": vu}}}


def check(fake: FakeUpstream, world: dict[str, Any], name: str, url: str | list[str],
          version: str, env: dict[str, str] | None = None, **extra: Any) -> Outcome:
    checker = checker_for(fake, world, **(env or {}))
    return checker.check(node_info(name, node_attrs(name, url, version, **extra)))


def git_node(name: str, git_url: str, version: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "version": version, "archived": False, "parsing_error": False,
            "meta_yaml": {"package": {"name": name, "version": version},
                          "source": {"git_url": git_url, "git_rev": f"v{version}"}}, **extra}

