"""The explicit registry of upstream sources, in their default order of precedence."""

from __future__ import annotations

from types import MappingProxyType

from vbot.sources.base import Context, Source
from vbot.sources.cran import Cran
from vbot.sources.crates import Crates
from vbot.sources.github import GitHub
from vbot.sources.gitlab import GitLab
from vbot.sources.gittags import GitTags
from vbot.sources.npm import Npm
from vbot.sources.pypi import PyPI
from vbot.sources.rawurl import RawUrl
from vbot.sources.ros import Ros

REGISTRY: MappingProxyType[str, type[Source]] = MappingProxyType(
    {cls.name: cls for cls in (PyPI, Cran, Crates, Npm, GitHub, GitLab, Ros, GitTags, RawUrl)}
)
DEFAULT_ORDER: tuple[str, ...] = tuple(REGISTRY)

# names conda-forge's bot uses in ``bot.version_updates.sources`` for the same upstreams
ALIASES: MappingProxyType[str, str] = MappingProxyType({
    "githubreleases": "github", "github_releases": "github", "rosdistro": "ros",
    "incrementalpharawurl": "rawurl", "raw_url": "rawurl", "git_tags": "gittags",
    "crates.io": "crates", "cratesio": "crates",
})


def canonical(name: str) -> str:
    """The registry name for a source name from a node's controls (case-insensitive)."""
    low = name.strip().lower()
    return ALIASES.get(low, low)


__all__ = ["ALIASES", "DEFAULT_ORDER", "REGISTRY", "Context", "Source", "canonical"]
