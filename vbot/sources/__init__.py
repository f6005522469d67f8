"""The explicit registry of upstream sources, in their default order of precedence."""

from __future__ import annotations

from types import MappingProxyType

from vbot.sources.base import Context, Source
from vbot.sources.github import GitHub
from vbot.sources.pypi import PyPI

REGISTRY: MappingProxyType[str, type[Source]] = MappingProxyType(
    {cls.name: cls for cls in (PyPI, GitHub)}
)
DEFAULT_ORDER: tuple[str, ...] = tuple(REGISTRY)

__all__ = ["REGISTRY", "DEFAULT_ORDER", "Context", "Source"]
